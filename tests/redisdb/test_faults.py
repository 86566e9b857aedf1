"""Faults on Redis: the run's connection killed mid-run (``CLIENT KILL``) and the server killed
and restarted mid-run (a server of the test's own, never the shared one)."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
import redis

import redis_service
from tether.checkpoint.redis import RedisSaver
from tether.errors import BackendUnavailable
from tether.graph import END, START, StateGraph

pytestmark = pytest.mark.services


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def chain(calls: Counter[str], in_n2: Any) -> StateGraph:
    builder = StateGraph(Log)

    def node(name: str) -> Any:
        def run(state: Log) -> dict[str, Any]:
            calls[name] += 1
            if name == "n2" and calls[name] == 1:
                in_n2()
            return {"log": [name]}

        return run

    for name in ("n1", "n2", "n3"):
        builder.add_node(name, node(name))
    builder.add_edge(START, "n1")
    builder.add_edge("n1", "n2")
    builder.add_edge("n2", "n3")
    builder.add_edge("n3", END)
    return builder


def test_client_kill_of_the_runs_connections_mid_run_loses_nothing() -> None:
    name = f"tether-kill-{redis_service.new_prefix().replace(':', '-')}"
    admin = None
    with redis_service.fresh_saver(client_name=name) as saver:
        admin = redis.Redis.from_url(redis_service.URL)
        killed: list[int] = []

        def kill_connections() -> None:
            for client in admin.client_list():
                if client.get("name") == name:
                    admin.client_kill_filter(_id=client["id"])
                    killed.append(int(client["id"]))

        calls: Counter[str] = Counter()
        graph = chain(calls, kill_connections).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "killed"}}
        out = graph.invoke({"log": []}, config)
        history = list(graph.get_state_history(config))
    admin.close()

    assert killed, "the saver's connections were not found to kill"
    assert out == {"log": ["n1", "n2", "n3"]}
    assert calls == {"n1": 1, "n2": 1, "n3": 1}
    assert [s.metadata["step"] for s in history] == [3, 2, 1, 0, -1]


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[redis_service.OwnServer]:
    server = redis_service.OwnServer(tmp_path / "redis", "--requirepass", "s3cret")
    server.start()
    yield server
    server.kill()


def test_server_killed_mid_run_then_restarted_the_thread_resumes(
    own_server: redis_service.OwnServer,
) -> None:
    calls: Counter[str] = Counter()
    builder = chain(calls, own_server.kill)
    config = {"configurable": {"thread_id": "restart"}}
    url = own_server.url()
    options = {"socket_timeout": 2, "socket_connect_timeout": 2, "lease_ttl": 1}
    with RedisSaver.from_conn_string(url, **options) as saver:
        graph = builder.compile(checkpointer=saver)
        with pytest.raises(BackendUnavailable) as caught:
            graph.invoke({"log": []}, config)
    message = str(caught.value)
    assert f"redis://:***@127.0.0.1:{own_server.port}/0" in message, message
    assert "s3cret" not in message

    own_server.start()
    with RedisSaver.from_conn_string(url, **options) as saver:
        graph = builder.compile(checkpointer=saver)
        before = graph.get_state(config)
        out = graph.invoke(None, config, busy_policy="wait", busy_timeout=10)
        history = list(graph.get_state_history(config))

    assert before.values == {"log": ["n1"]} and before.next == ("n2",)
    assert out == {"log": ["n1", "n2", "n3"]}
    assert calls == {"n1": 1, "n2": 2, "n3": 1}
    assert [s.metadata["step"] for s in history] == [3, 2, 1, 0, -1]
