"""Schema v8 on PostgreSQL: a task's writes are one row; a task's later writes merge into it
(through the transaction path); a v7 schema with an interrupted run is upgraded and resumes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import pg_service
from fixtures.approval import approval_graph
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.postgres import PostgresSaver, schema
from tether.constants import ERROR, INTERRUPT, RESUME
from tether.types import Command

from .old_layout import PerWriteSaver
from .test_one_call_step import _cfg, _step

pytestmark = pytest.mark.services


def _rows(url: str, namespace: str, thread_id: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f'SELECT checkpoint_id, task_id FROM "{namespace}".writes '  # noqa: S608
            "WHERE thread_id = %s ORDER BY 1, 2",
            (thread_id,),
        ).fetchall()


def test_a_steps_task_writes_merge_into_a_stored_row_through_either_call() -> None:
    url = pg_service.database_url()
    with pg_service.fresh_saver() as saver:
        first = _step(saver, _cfg("m"), {"n": 1})
        saver.put_writes(first, [(INTERRUPT, "ask"), ("n", 0)], "task")  # "n" is idx 1
        # put_step: the function finds the task's row and the step goes the transaction way
        second = _step(saver, first, {"n": 2}, [(first, [("n", 9), ("m", 1)], "task", "")])
        saver.put_writes_many(
            [(first, [(RESUME, "yes")], "task", ""), (first, [("n", 5)], "other", "")]
        )
        version = saver.get_tuple(second).checkpoint["channel_versions"]["n"]
        third, fourth = _checkpoint(saver, 3, version), _checkpoint(saver, 4, version, 2)
        saver.put_steps(  # two steps in one round trip; the first's writes merge
            [([(first, [(ERROR, "e")], "task", "")], second, *third), ([], second, *fourth)]
        )
        found = saver.get_tuple(first)
        assert found is not None and found.pending_writes == [
            ("other", "n", 5),
            ("task", RESUME, "yes"),
            ("task", INTERRUPT, "ask"),
            ("task", ERROR, "e"),
            ("task", "n", 9),  # idx 0 was free; idx 1 kept its first write
            ("task", "n", 0),
        ]
        head = saver.get_tuple(_cfg("m"))
        assert head is not None and head.checkpoint["channel_values"] == {"n": 4}
        rows = _rows(url, pg_service.SHARED, "m")
    assert len(rows) == 2 == len(set(rows))


def _checkpoint(saver: PostgresSaver, n: int, after: str, later: int = 1) -> tuple[Any, ...]:
    """(checkpoint, metadata, new_versions) of ``{"n": n}``, ``later`` versions after ``after``."""
    version = after
    for _ in range(later):
        version = saver.get_next_version(version)
    checkpoint = empty_checkpoint()
    checkpoint["id"] = new_checkpoint_id()
    checkpoint["channel_values"] = {"n": n}
    checkpoint["channel_versions"] = {"n": version}
    return checkpoint, {"source": "loop", "step": n}, {"n": version}


def test_a_v7_schema_with_an_interrupted_run_is_upgraded_and_resumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, namespace = pg_service.database_url(), pg_service.new_namespace()
    big = "x" * (300 * 1024)  # a large value: stored as a frame and its pieces
    with monkeypatch.context() as v7:  # this tether as it wrote at schema v7
        v7.setattr(schema, "SCHEMA_VERSION", 7)
        with PerWriteSaver.from_conn_string(url, namespace=namespace) as old:
            graph = approval_graph(old)
            graph.invoke({"log": []}, _cfg("t"))
            before = graph.get_state(_cfg("t"))
            old.put_writes(before.config, [("log", [big])], "extra-task")
            per_write = len(_rows(url, namespace, "t"))
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        graph = approval_graph(saver)
        after = graph.get_state(_cfg("t"))
        assert after.values == before.values
        assert [i.value for i in after.interrupts] == ["approve?"]
        found = saver.get_tuple(before.config)
        assert found is not None and ("extra-task", "log", [big]) in found.pending_writes
        packed = _rows(url, namespace, "t")
        saver.prune(["t"], keep_last=1)  # the write's large value keeps its pieces
        again = saver.get_tuple(before.config)
        assert again is not None and ("extra-task", "log", [big]) in again.pending_writes
        # ``check`` ran before the interrupt: its stored writes count, it does not run again.
        result = graph.invoke(Command(resume="yes"), _cfg("t"))
    with psycopg.connect(url, autocommit=True) as conn:
        (version,) = conn.execute(
            f"SELECT value FROM \"{namespace}\".tether_meta WHERE key = 'schema_version'"  # noqa: S608
        ).fetchone() or (None,)
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert result["log"] == ["draft", "answer=yes", "check"]
    assert len(packed) == len(set(packed)) < per_write
    assert version == str(schema.SCHEMA_VERSION) == "8"
