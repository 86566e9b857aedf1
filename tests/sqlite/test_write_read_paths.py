"""The SQLite saver's fast paths: small values inline in the checkpoint row, concurrent writes
sharing a commit (a failing one fails alone), and a version 2 file upgraded to version 3."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import ormsgpack

from tether.checkpoint import deltas
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.sqlite import SqliteSaver, inline, rows, schema
from tether.errors import ThreadBusy

from .graphs import counter_graph


def _put(saver: SqliteSaver, config: dict[str, Any], values: dict[str, Any], changed: list[str]):
    """Store ``values`` as the next checkpoint after ``config``; ``changed`` get new versions."""
    before = saver.get_tuple(config) if config["configurable"].get("checkpoint_id") else None
    versions = dict(before.checkpoint["channel_versions"]) if before else {}
    for channel in changed:
        versions[channel] = saver.get_next_version(versions.get(channel))
    checkpoint = empty_checkpoint()
    checkpoint["id"] = new_checkpoint_id()
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = versions
    new_versions = {c: versions[c] for c in changed}
    return saver.put(config, checkpoint, {"source": "loop", "step": 0}, new_versions)


def _cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


def test_small_values_live_in_the_checkpoint_row_and_large_ones_in_blobs(tmp_path: Path) -> None:
    path = tmp_path / "inline.db"
    big = ["x" * 100] * 10
    with SqliteSaver.from_conn_string(str(path)) as saver:
        config = _put(saver, _cfg("t"), {"small": 1, "big": big}, ["small", "big"])
        config = _put(saver, config, {"small": 2, "big": big, "note": None}, ["small", "note"])
        head = saver.get_tuple(_cfg("t"))
        assert head is not None
        assert head.checkpoint["channel_values"] == {"small": 2, "big": big, "note": None}
    with sqlite3.connect(path) as conn:
        channels = {c for (c,) in conn.execute("SELECT channel FROM blobs")}
        bodies = [ormsgpack.unpackb(b) for (b,) in conn.execute("SELECT body FROM checkpoints")]
    assert channels == {"big"}  # written once; the second checkpoint carries no copy
    stored = [inline.unpack(body) for body in bodies]
    assert all("small" in values and "big" not in values for values in stored)


def test_a_fresh_saver_reads_inline_values_and_keeps_carrying_them(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        counter_graph(saver).invoke({"n": 1}, {"configurable": {"thread_id": "c"}})
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = counter_graph(saver)
        config = {"configurable": {"thread_id": "c"}}
        assert graph.get_state(config).values == {"n": 3}
        assert graph.invoke({"n": 10}, config) == {"n": 12}
        assert [s.values.get("n") for s in graph.get_state_history(config)][:3] == [12, 11, 10]


def test_concurrent_puts_from_many_threads_all_land(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "many.db", check_same_thread=False)
    with SqliteSaver(conn) as saver:
        errors: list[BaseException] = []

        def writer(i: int) -> None:
            try:
                config = _cfg(f"w{i}")
                for step in range(40):
                    config = _put(saver, config, {"step": step, "who": i}, ["step", "who"])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        for i in range(8):
            history = list(saver.list(_cfg(f"w{i}")))
            assert [t.checkpoint["channel_values"]["step"] for t in history] == list(
                range(39, -1, -1)
            )
        heads = dict(
            conn.execute("SELECT thread_id, max(checkpoint_id) FROM checkpoints GROUP BY 1")
        )
        counts = dict(conn.execute("SELECT thread_id, count(*) FROM checkpoints GROUP BY 1"))
        owned = {r[0] for r in conn.execute("SELECT thread_id FROM threads")}
        for i in range(8):
            newest = saver.get_tuple(_cfg(f"w{i}"))
            assert newest is not None
            assert heads[f"w{i}"] == newest.config["configurable"]["checkpoint_id"]
            assert counts[f"w{i}"] == 40
            assert f"w{i}" in owned


def test_a_write_that_fails_inside_a_shared_commit_fails_alone(tmp_path: Path) -> None:
    """Hold the first commit open until two more puts queue behind it: they share the next
    transaction; one is refused (another writer holds its thread's lease), the other lands."""
    queued = threading.Event()

    class Gated(SqliteSaver):
        def _before_commit(self, conn: sqlite3.Connection) -> None:
            if threading.current_thread().name == "first":
                queued.wait(10)

    with Gated.from_conn_string(str(tmp_path / "gated.db")) as saver:
        assert saver.acquire_lease("leased") is not None
        outcome: dict[str, Any] = {}

        def run(name: str, thread_id: str) -> None:
            try:
                outcome[name] = _put(saver, _cfg(thread_id), {"v": name}, ["v"])
            except BaseException as exc:
                outcome[name] = exc

        first = threading.Thread(target=run, args=("first", "free-1"), name="first")
        first.start()
        deadline = time.monotonic() + 10
        while not saver._writes._leading and time.monotonic() < deadline:
            time.sleep(0.001)
        others = [
            threading.Thread(target=run, args=("refused", "leased")),
            threading.Thread(target=run, args=("second", "free-2")),
        ]
        for thread in others:
            thread.start()
        while len(saver._writes._queue) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(saver._writes._queue) == 2, "the two puts did not queue behind the first"
        queued.set()
        for thread in [first, *others]:
            thread.join(10)
        assert isinstance(outcome["refused"], ThreadBusy)
        assert saver.get_tuple(_cfg("leased")) is None
        for name, thread_id in (("first", "free-1"), ("second", "free-2")):
            found = saver.get_tuple(_cfg(thread_id))
            assert found is not None and found.checkpoint["channel_values"] == {"v": name}


def test_a_version_2_file_is_upgraded_and_its_delta_chains_still_read(tmp_path: Path) -> None:
    """Rows as schema v2 wrote them (WITHOUT ROWID tables, full and delta blobs, no inline
    values) read back after the upgrade, and new writes build on them."""
    path = tmp_path / "v2.db"
    first = ["first " + "a" * 300]
    grown = [*first, "second " + "b" * 300]
    ids = [new_checkpoint_id(), new_checkpoint_id()]
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("BEGIN")
        schema.migrate(conn, 0, target=2)
        full = ormsgpack.packb(first)
        tail = ormsgpack.packb(grown)[len(full) :]
        conn.executemany(
            "INSERT INTO blobs VALUES ('old', '', 'log', ?, ?, ?, ?, ?, ?, 'msgpack', ?)",
            [
                ("1.a", deltas.FULL, None, 1, 0, 0, full),
                ("2.b", deltas.DELTA, "1.a", 1, 1, len(tail), tail),
            ],
        )
        for checkpoint_id, parent, version in ((ids[0], None, "1.a"), (ids[1], ids[0], "2.b")):
            body = rows.pack_body(
                {"channel_versions": {"log": version}, "versions_seen": {}, "v": 1}
            )
            conn.execute(
                "INSERT INTO checkpoints VALUES "
                "('old', '', ?, ?, 'ts', 0, 'loop', NULL, '{}', ?, 1)",
                (checkpoint_id, parent, body),
            )
        conn.execute("INSERT INTO heads VALUES ('old', '', ?)", (ids[1],))
        conn.execute("COMMIT")
    with SqliteSaver.from_conn_string(str(path)) as saver:
        head = saver.get_tuple(_cfg("old"))
        assert head is not None and head.checkpoint["channel_values"] == {"log": grown}
        older = saver.get_tuple(
            {"configurable": {**_cfg("old")["configurable"], "checkpoint_id": ids[0]}}
        )
        assert older is not None and older.checkpoint["channel_values"] == {"log": first}
        config = _put(saver, head.config, {"log": grown}, ["log"])  # unchanged: a reference
        config = _put(saver, config, {"log": [*grown, "third"]}, ["log"])  # grew: a delta
        assert saver.get_tuple(config).checkpoint["channel_values"] == {"log": [*grown, "third"]}
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM tether_meta WHERE key = 'schema_version'")
        assert int(version.fetchone()[0]) == schema.SCHEMA_VERSION
        kinds = [k for (k,) in conn.execute("SELECT kind FROM blobs ORDER BY rowid")]
        without_rowid = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('checkpoints', 'blobs') "
            "AND sql LIKE '%WITHOUT ROWID%'"
        ).fetchone()[0]
    assert kinds[:2] == [deltas.FULL, deltas.DELTA] and deltas.REF in kinds[2:]
    assert without_rowid == 0


def test_get_tuple_reads_writes_and_blobs_when_the_row_needs_them(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "reads.db")) as saver:
        config = _put(saver, _cfg("r"), {"big": ["y" * 400]}, ["big"])
        saver.put_writes(config, [("big", ["z"])], "task-1")
        found = saver.get_tuple(_cfg("r"))
        assert found is not None
        assert found.checkpoint["channel_values"] == {"big": ["y" * 400]}
        assert found.pending_writes == [("task-1", "big", ["z"])]


def test_reading_back_the_checkpoint_just_written_is_one_statement(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "one.db", check_same_thread=False)
    with SqliteSaver(conn) as saver:
        big = ["m" * 300] * 5
        config = _put(saver, _cfg("s"), {"big": big, "n": 1}, ["big", "n"])
        config = _put(saver, config, {"big": [*big, "more"], "n": 2}, ["big", "n"])
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        found = saver.get_tuple(_cfg("s"))
        conn.set_trace_callback(None)
        assert found is not None
        assert found.checkpoint["channel_values"] == {"big": [*big, "more"], "n": 2}
        assert len(statements) == 1, statements


def test_a_head_written_by_another_saver_is_read_from_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "two.db")
    with SqliteSaver.from_conn_string(path) as mine, SqliteSaver.from_conn_string(path) as other:
        big = ["m" * 300] * 5
        config = _put(mine, _cfg("s"), {"big": big}, ["big"])
        assert mine.get_tuple(_cfg("s")).checkpoint["channel_values"] == {"big": big}
        _put(other, config, {"big": [*big, "theirs"]}, ["big"])
        found = mine.get_tuple(_cfg("s"))
        assert found is not None
        assert found.checkpoint["channel_values"] == {"big": [*big, "theirs"]}
        config = _put(mine, found.config, {"big": [*big, "theirs", "mine"]}, ["big"])
        assert other.get_tuple(_cfg("s")).checkpoint["channel_values"] == {
            "big": [*big, "theirs", "mine"]
        }


def test_a_value_whose_base_another_saver_deleted_is_stored_in_full(tmp_path: Path) -> None:
    """This saver would store the grown list as a delta on the row it wrote last, but another
    saver (another process) deleted the thread meanwhile: the value is stored whole."""
    path = str(tmp_path / "gone.db")
    with SqliteSaver.from_conn_string(path) as mine, SqliteSaver.from_conn_string(path) as other:
        big = ["m" * 300] * 5
        _put(mine, _cfg("s"), {"big": big}, ["big"])
        other.delete_thread("s")
        config = _put(mine, _cfg("s"), {"big": [*big, "more"]}, ["big"])
        assert other.get_tuple(config).checkpoint["channel_values"] == {"big": [*big, "more"]}
        config = _put(mine, config, {"big": [*big, "more"]}, ["big"])  # unchanged: a reference
        other.delete_thread("s")
        config = _put(mine, _cfg("s"), {"big": [*big, "more"]}, ["big"])
        assert other.get_tuple(config).checkpoint["channel_values"] == {"big": [*big, "more"]}
