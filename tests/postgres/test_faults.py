"""Connection faults on PostgreSQL: backends terminated between steps and inside a commit.

The server ends the saver's connections with ``pg_terminate_backend``: between steps the next
write goes through on a fresh connection; inside a commit the run stops with
``BackendUnavailable`` naming the server, and running it again finishes it. Either way the
thread's history is one linear chain and nothing committed is lost or doubled.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import psycopg
import pytest

import pg_service
from tether.checkpoint.postgres import PostgresSaver
from tether.errors import BackendUnavailable
from tether.graph import END, START, StateGraph

pytestmark = pytest.mark.services


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _terminate(app: str) -> int:
    """End every backend of this application (waiting until they are gone); how many."""
    with psycopg.connect(pg_service.database_url(), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (app,),
        ).fetchall()
    return len(rows)


def _graph(on_b: Any = None) -> Any:
    def node(name: str) -> Any:
        def run(state: Log) -> dict[str, Any]:
            if name == "b" and on_b is not None:
                on_b()
            return {"log": [name]}

        return run

    builder = StateGraph(Log)
    for name in "abc":
        builder.add_node(name, node(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder


def _url(app: str) -> str:
    return pg_service.database_url() + f" application_name={app}"


def _linear(saver: Any, config: dict[str, Any]) -> list[str]:
    history = list(saver.list(config))
    ids = sorted(t.config["configurable"]["checkpoint_id"] for t in history)
    by_id = {t.config["configurable"]["checkpoint_id"]: t for t in history}
    for before, after in zip(ids, ids[1:], strict=False):
        assert by_id[after].parent_config["configurable"]["checkpoint_id"] == before
    return [by_id[i].metadata["step"] for i in ids]


def test_backends_terminated_between_steps_are_replaced() -> None:
    app = f"tether_fault_{pg_service.new_namespace()}"
    ended: list[int] = []
    with PostgresSaver.from_conn_string(_url(app), namespace=pg_service.SHARED) as saver:
        graph = _graph(lambda: ended.append(_terminate(app))).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": app}}
        out = graph.invoke({"log": ["in"]}, config)
        assert ended and ended[0] >= 1  # the saver's pooled connection was really ended
        assert out == {"log": ["in", "a", "b", "c"]}
        assert _linear(saver, config) == [-1, 0, 1, 2, 3]


class _CommitKiller(PostgresSaver):
    """Ends its own backend from another connection right before committing step ``arm``."""

    arm: int | None = None

    def _before_commit(self, conn: Any) -> None:
        if self.arm is None:
            return
        found = conn.execute(
            "SELECT 1 FROM checkpoints WHERE step = ? AND thread_id = ?", (self.arm, "commit")
        ).fetchone()
        if found is None:
            return
        self.arm = None
        with psycopg.connect(pg_service.database_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.raw.info.backend_pid,))


def test_backend_terminated_inside_a_commit_is_reported_and_safe_to_rerun() -> None:
    with _CommitKiller.from_conn_string(
        pg_service.database_url(), namespace=pg_service.SHARED
    ) as saver:
        saver.delete_thread("commit")
        graph = _graph().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "commit"}}
        saver.arm = 1
        with pytest.raises(BackendUnavailable) as caught:
            graph.invoke({"log": ["in"]}, config)
        message = str(caught.value)
        assert "127.0.0.1" in message and "may or may not have landed" in message
        assert "password" not in message
        out = graph.invoke(None, config)
        assert out == {"log": ["in", "a", "b", "c"]}
        steps = _linear(saver, config)
        assert steps == sorted(set(steps)) and steps[0] == -1 and steps[-1] == 3


def test_reads_and_setup_survive_a_terminated_idle_connection() -> None:
    app = f"tether_idle_{pg_service.new_namespace()}"
    with PostgresSaver.from_conn_string(_url(app), namespace=pg_service.SHARED) as saver:
        saver.setup()
        config = {"configurable": {"thread_id": app}}
        assert saver.get_tuple(config) is None
        assert _terminate(app) >= 1
        assert saver.get_tuple(config) is None  # a fresh connection, no error
        saver.setup()
        assert list(saver.list(config)) == []
