"""Schema v8: a task's pending writes are one row; v7 files (a row per write) are upgraded."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fixtures.approval import approval_graph
from tether.checkpoint.sqlite import SqliteSaver, schema
from tether.constants import INTERRUPT, RESUME
from tether.errors import CorruptDataError
from tether.types import Command

from . import old_layout


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT checkpoint_id, task_id FROM writes ORDER BY 1, 2").fetchall()


def test_a_task_stores_one_row_however_many_writes_and_calls(tmp_path: Path) -> None:
    path = tmp_path / "one.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        head = saver.put(_config("t"), _empty(), {"source": "input", "step": -1}, {})
        saver.put_writes(head, [("a", 1), ("b", 2), ("c", 3)], "task")
        saver.put_writes(head, [(INTERRUPT, "ask")], "task")
        saver.put_writes(head, [(RESUME, "yes")], "task")
        saver.put_writes(head, [("a", 9), ("d", 4)], "task")  # a retry adds only idx 3
        found = saver.get_tuple(head)
    assert found is not None
    assert found.pending_writes == [
        ("task", RESUME, "yes"),
        ("task", INTERRUPT, "ask"),
        ("task", "a", 1),
        ("task", "b", 2),
        ("task", "c", 3),
    ]
    assert len(_rows(path)) == 1


def test_a_parallel_step_stores_a_row_per_task(tmp_path: Path) -> None:
    path = tmp_path / "steps.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = approval_graph(saver)
        graph.invoke({"log": []}, _config("t"))
        state = graph.get_state(_config("t"))
    assert [i.value for i in state.interrupts] == ["approve?"]
    rows = _rows(path)
    pending = [task for cid, task in rows if cid == state.config["configurable"]["checkpoint_id"]]
    assert len(pending) == 2  # ``check``'s writes and ``ask``'s interrupt: one row each
    assert len(rows) == len(set(rows))


def test_a_v7_file_with_an_interrupted_run_is_upgraded_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    big = "x" * (300 * 1024)  # a large value: stored as a frame and its pieces
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = approval_graph(saver)
        graph.invoke({"log": []}, _config("t"))
        before = graph.get_state(_config("t"))
        saver.put_writes(before.config, [("log", [big])], "extra-task")
    expected = sorted(_rows(path))
    with sqlite3.connect(path) as conn:  # as tether v7 wrote it: a row per write
        old_layout.unpack_writes(conn)
        count = conn.execute("SELECT count(*) FROM writes").fetchone()[0]
        conn.execute("UPDATE tether_meta SET value = '7' WHERE key = 'schema_version'")
    assert count > len(expected)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = approval_graph(saver)
        after = graph.get_state(_config("t"))
        assert after.values == before.values
        assert [i.value for i in after.interrupts] == ["approve?"]
        found = saver.get_tuple(before.config)
        assert found is not None
        assert ("extra-task", "log", [big]) in found.pending_writes
        assert sorted(_rows(path)) == expected
        saver.prune(["t"], keep_last=1)  # the write's large value keeps its pieces
        again = saver.get_tuple(before.config)
        assert again is not None and ("extra-task", "log", [big]) in again.pending_writes
        # ``check`` ran before the interrupt: its stored writes count, it does not run again
        # (the extra task is no task of the step: its write is not applied).
        result = graph.invoke(Command(resume="yes"), _config("t"))
    assert result["log"] == ["draft", "answer=yes", "check"]
    with sqlite3.connect(path) as conn:
        (version,) = conn.execute(
            "SELECT value FROM tether_meta WHERE key = 'schema_version'"
        ).fetchone()
        columns = [r[1] for r in conn.execute("PRAGMA table_info(writes)")]
    assert int(version) == schema.SCHEMA_VERSION == 8
    assert "body" in columns and "idx" not in columns


def test_a_damaged_writes_row_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        head = saver.put(_config("t"), _empty(), {"source": "input", "step": -1}, {})
        saver.put_writes(head, [("a", 1)], "task-7")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE writes SET body = ?", (b"\xc1",))
    with (
        SqliteSaver.from_conn_string(str(path)) as saver,
        pytest.raises(CorruptDataError, match="writes of task 'task-7'"),
    ):
        saver.get_tuple(head)


def _empty() -> Any:
    from tether.checkpoint.base import empty_checkpoint

    return empty_checkpoint()
