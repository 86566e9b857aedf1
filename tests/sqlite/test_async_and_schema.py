"""AsyncSqliteSaver in asyncio code, setup idempotence, and upgrading an older file in place."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.sqlite import SqliteSaver, schema
from tether.checkpoint.sqlite.aio import AsyncSqliteSaver
from tether.errors import ThreadBusy

from . import old_layout
from .graphs import chat_graph, counter_graph


def test_async_saver_runs_a_graph_and_reads_it_back(tmp_path: Path) -> None:
    path = str(tmp_path / "async.db")

    async def main() -> tuple[int, int]:
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            graph = chat_graph(saver)
            config = {"configurable": {"thread_id": "a"}}
            for turn in range(3):
                await graph.ainvoke({"messages": [("user", f"hi {turn}")]}, config)
            state = await graph.aget_state(config)
            history = [s async for s in graph.aget_state_history(config)]
            # the sync API of the same saver works from inside the loop too (no deadlock)
            assert saver.get_tuple(config) is not None
            return len(state.values["messages"]), len(history)

    assert asyncio.run(main()) == (6, 9)
    with SqliteSaver.from_conn_string(path) as saver:
        assert (
            len(
                chat_graph(saver).get_state({"configurable": {"thread_id": "a"}}).values["messages"]
            )
            == 6
        )


def test_setup_is_idempotent(tmp_path: Path) -> None:
    path = str(tmp_path / "setup.db")
    for _ in range(3):
        with SqliteSaver.from_conn_string(path) as saver:
            saver.setup()
    with sqlite3.connect(path) as conn:
        version = conn.execute(
            "SELECT value FROM tether_meta WHERE key='schema_version'"
        ).fetchone()
    assert int(version[0]) == schema.SCHEMA_VERSION


def test_a_version_1_file_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        counter_graph(saver).invoke({"n": 1}, {"configurable": {"thread_id": "old"}})
    # Rebuild the file as schema v1 wrote it: the v2 index and the v3 pieces did not exist,
    # the head was a row of its own (v5 dropped it; v7 dropped the v4 trigger), and writes
    # were a row per write (v8 packs a task's).
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX checkpoints_by_run")
        conn.execute("DROP TABLE pieces")
        old_layout.unpack_writes(conn)
        conn.execute(
            "CREATE TABLE heads (thread_id TEXT NOT NULL, ns TEXT NOT NULL, "
            "checkpoint_id TEXT NOT NULL, PRIMARY KEY (thread_id, ns)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO heads SELECT thread_id, ns, max(checkpoint_id) FROM checkpoints "
            "GROUP BY thread_id, ns"
        )
        conn.execute("UPDATE tether_meta SET value = '1' WHERE key = 'schema_version'")
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = counter_graph(saver)
        assert graph.get_state({"configurable": {"thread_id": "old"}}).values == {"n": 3}
    with sqlite3.connect(path) as conn:
        version = conn.execute(
            "SELECT value FROM tether_meta WHERE key='schema_version'"
        ).fetchone()
        count = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 'old'").fetchone()
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(threads)")}
    assert int(version[0]) == schema.SCHEMA_VERSION
    assert count[0] == 4
    assert {"checkpoints_by_run", "pieces"} <= names
    assert (
        "heads" not in names
        and "checkpoint_stored" not in names
        and "checkpoint_count" not in columns
    )


def test_from_conn_string_without_with_returns_a_working_saver(tmp_path: Path) -> None:
    """The seeds pass from_conn_string's result straight to compile(); with tether that works."""
    saver = SqliteSaver.from_conn_string(str(tmp_path / "plain.db"))
    try:
        graph = counter_graph(saver)
        assert graph.invoke({"n": 1}, {"configurable": {"thread_id": "p"}}) == {"n": 3}
    finally:
        saver.close()
    with SqliteSaver.from_conn_string(str(tmp_path / "plain.db")) as again:
        assert counter_graph(again).get_state({"configurable": {"thread_id": "p"}}).values == {
            "n": 3
        }


def test_a_v6_file_is_upgraded_and_its_threads_keep_their_leases(tmp_path: Path) -> None:
    path = str(tmp_path / "v6.db")
    # A v6 file as tether v6 wrote it: its tables and insert trigger, a checkpoint whose
    # thread row the trigger made.
    with SqliteSaver.from_conn_string(":memory:") as scratch:
        row = scratch._prepare_step([], {"configurable": {"thread_id": "old"}}, *_state(1)).row
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    schema.migrate(conn, 0, 6)
    conn.execute(SqliteSaver._CHECKPOINT_SQL, row)
    conn.execute("COMMIT")
    assert conn.execute("SELECT thread_id FROM threads").fetchall() == [("old",)]
    conn.close()
    old = {"configurable": {"thread_id": "old", "checkpoint_ns": "", "checkpoint_id": row[2]}}
    with SqliteSaver.from_conn_string(path) as saver:
        found = saver.get_tuple({"configurable": {"thread_id": "old"}})
        assert found is not None and found.checkpoint["channel_values"] == {"a": 1}
        saver.put(old, *_state(2))  # continues the old thread
        saver.put({"configurable": {"thread_id": "new"}}, *_state(1))
        lease = saver.acquire_lease("new")
        assert lease is not None
        with pytest.raises(ThreadBusy):  # the new thread's row holds its lease
            saver.put({"configurable": {"thread_id": "new"}}, *_state(3))
        assert [
            t.checkpoint["channel_values"]["a"]
            for t in saver.list({"configurable": {"thread_id": "old"}})
        ] == [2, 1]
    with sqlite3.connect(path) as check:
        names = {r[0] for r in check.execute("SELECT name FROM sqlite_master")}
        threads = check.execute("SELECT thread_id FROM threads ORDER BY thread_id").fetchall()
        version = check.execute("SELECT value FROM tether_meta WHERE key='schema_version'")
        assert int(version.fetchone()[0]) == schema.SCHEMA_VERSION == 8
    check.close()
    assert "checkpoint_stored" not in names
    assert threads == [("new",), ("old",)]


def _state(a: int) -> tuple[Any, Any, Any]:
    """(checkpoint, metadata, new_versions) of a one-channel state ``{"a": a}``."""
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"a": a}
    checkpoint["channel_versions"] = {"a": f"{a:032d}.{a:016x}"}
    return checkpoint, {"source": "loop", "step": a}, {"a": checkpoint["channel_versions"]["a"]}
