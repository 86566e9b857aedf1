"""The storage model on a real file: deltas keep growth linear, reads exact, space reclaimed."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from tether.checkpoint import deltas
from tether.checkpoint.sqlite import SqliteSaver

from .graphs import chat_graph, log_graph, whole_state_graph


def blob_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT coalesce(sum(length(data)), 0) FROM blobs").fetchone()[0])


def converse(path: Path, turns: int, thread: str = "chat") -> list[int]:
    """Run ``turns`` turns; return the blob bytes after every 50 turns."""
    sizes = []
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = chat_graph(saver)
        config = {"configurable": {"thread_id": thread}}
        for turn in range(1, turns + 1):
            graph.invoke({"messages": [("user", "u" * 190 + str(turn))]}, config)
            if turn % 50 == 0:
                sizes.append(blob_bytes(path))
    return sizes


def test_a_conversation_grows_linearly_not_quadratically(tmp_path: Path) -> None:
    sizes = converse(tmp_path / "chat.db", 200)
    per_turn_early = (sizes[1] - sizes[0]) / 50
    per_turn_late = (sizes[3] - sizes[2]) / 50
    # Quadratic storage would make the late turns cost about 3x the early ones (and the whole
    # conversation ~100x its final state); deltas keep every turn about the same size.
    assert per_turn_late < 2.5 * per_turn_early
    final_state = 400 * 260  # 400 messages of about 260 bytes each, serialized
    assert sizes[3] < 6 * final_state


def test_every_checkpoint_of_a_delta_chain_reads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "exact.db"
    converse(path, 120)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = chat_graph(saver)
        config = {"configurable": {"thread_id": "chat"}}
        history = list(graph.get_state_history(config))
        lengths = [len(s.values.get("messages", [])) for s in history]
        assert lengths[0] == 240
        # newest first: the list only shrinks going back, one or two messages at a time
        assert all(a >= b for a, b in zip(lengths, lengths[1:], strict=False))
        latest = history[0].values["messages"]
        for snap in history[::17]:
            msgs = snap.values.get("messages", [])
            assert [m.content for m in msgs] == [m.content for m in latest[: len(msgs)]]
    with sqlite3.connect(path) as conn:
        kinds = dict(
            conn.execute(
                "SELECT kind, count(*) FROM blobs WHERE channel = 'messages' GROUP BY kind"
            ).fetchall()
        )
        max_depth = conn.execute("SELECT max(depth) FROM blobs").fetchone()[0]
    # 240 versions of the message list: almost all deltas, a full blob now and then
    assert kinds[deltas.DELTA] > 10 * kinds[deltas.FULL]
    assert max_depth <= deltas.MAX_CHAIN


def test_a_fresh_process_keeps_extending_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "resume.db"
    converse(path, 30)
    full_sql = "SELECT count(*) FROM blobs WHERE kind = 0 AND channel = 'messages'"
    with sqlite3.connect(path) as conn:
        full_before = conn.execute(full_sql).fetchone()[0]
    converse(path, 5)  # a new saver: it learns the chain from the head it reads
    with sqlite3.connect(path) as conn:
        full_after = conn.execute(full_sql).fetchone()[0]
        messages = conn.execute(
            "SELECT kind FROM blobs WHERE channel = 'messages' ORDER BY version DESC LIMIT 10"
        ).fetchall()
    assert {k for (k,) in messages} == {deltas.DELTA}
    assert full_after == full_before


def test_deleting_a_thread_gives_the_space_back(tmp_path: Path) -> None:
    path = tmp_path / "reclaim.db"
    converse(path, 100, thread="big")
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.delete_thread("big")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0
    assert free == 0
    assert pages * 4096 < 200_000
    assert os.path.getsize(path) < 200_000


def test_prune_keeps_the_latest_checkpoint_loadable_through_its_delta_chain(tmp_path: Path) -> None:
    path = tmp_path / "prune.db"
    converse(path, 60)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = chat_graph(saver)
        config: dict[str, Any] = {"configurable": {"thread_id": "chat"}}
        before = graph.get_state(config).values
        saver.prune(["chat"], strategy="keep_latest")
        assert len(list(saver.list(config))) == 1
        assert graph.get_state(config).values == before
        graph.invoke({"messages": [("user", "after prune")]}, config)
        assert len(graph.get_state(config).values["messages"]) == 122


def test_deleting_an_earlier_run_keeps_later_checkpoints_loadable(tmp_path: Path) -> None:
    """Later turns store deltas on blobs the first run wrote; deleting that run keeps them."""
    path = tmp_path / "runs.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = chat_graph(saver)
        config: dict[str, Any] = {"configurable": {"thread_id": "chat"}}
        for turn in range(3):
            graph.invoke({"messages": [("user", f"first {turn}")]}, {**config, "run_id": "run-a"})
        for turn in range(3):
            graph.invoke({"messages": [("user", f"second {turn}")]}, {**config, "run_id": "run-b"})
        expected = graph.get_state(config).values
        saver.delete_for_runs(["run-a"])
        left = list(saver.list(config))
        assert left and all(t.metadata["run_id"] == "run-b" for t in left)
        assert graph.get_state(config).values == expected
        for snap in graph.get_state_history(config):
            assert len(snap.values["messages"]) >= 6


def test_appending_nothing_each_turn_stores_references_and_grows_linearly(tmp_path: Path) -> None:
    """``invoke({"items": []})`` writes a value equal to the previous one: a reference row."""
    path = tmp_path / "log.db"
    sizes = []
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = log_graph(saver)
        config = {"configurable": {"thread_id": "log"}}
        for turn in range(1, 151):
            graph.invoke({"items": []}, config)
            if turn % 50 == 0:
                sizes.append(blob_bytes(path))
        assert len(graph.get_state(config).values["items"]) == 300
    with sqlite3.connect(path) as conn:
        kinds = dict(
            conn.execute("SELECT kind, count(*) FROM blobs WHERE channel = 'items' GROUP BY kind")
        )
    assert kinds[deltas.REF] == 149  # the input step of every turn after the first
    # 100 turns of 2 x ~200-byte items are ~42 kB of values: full copies per turn would be MBs
    assert sizes[2] - sizes[0] < 4 * 100 * 2 * 210
    assert (sizes[2] - sizes[1]) < 1.5 * (sizes[1] - sizes[0])


def test_a_node_returning_the_whole_state_stores_no_second_copy(tmp_path: Path) -> None:
    path = tmp_path / "whole.db"
    document = [f"paragraph {i} " + "p" * 300 for i in range(30)]  # ~10 kB
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = whole_state_graph(saver)
        config = {"configurable": {"thread_id": "doc"}}
        for _ in range(5):
            out = graph.invoke({"document": document, "current_step": 0}, config)
            assert out == {"document": document, "current_step": 3}
    with sqlite3.connect(path) as conn:
        full = conn.execute(
            "SELECT count(*) FROM blobs WHERE channel = 'document' AND kind = ?", (deltas.FULL,)
        ).fetchone()[0]
        refs = conn.execute(
            "SELECT count(*) FROM blobs WHERE channel = 'document' AND kind = ?", (deltas.REF,)
        ).fetchone()[0]
    assert full == 1  # every later write of the same document is a reference
    assert refs >= 15
    assert blob_bytes(path) < 2 * len("".join(document)) + 4096
