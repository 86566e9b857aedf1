"""A large value is written once: the task's write, the checkpoint's blob and the input share it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, TypedDict

from tether.checkpoint.sqlite import SqliteSaver
from tether.graph import END, START, StateGraph

MB = 1_000_000
SIZE = 20 * MB


class Big(TypedDict, total=False):
    big: str
    n: int
    parts: list[bytes]


def big_graph(saver: Any) -> Any:
    """START -> make (writes a large string) -> bump -> END."""
    builder = StateGraph(Big)
    builder.add_node("make", lambda s: {"big": "x" * SIZE} if "big" not in s else {})
    builder.add_node("bump", lambda s: {"n": s.get("n", 0) + 1})
    builder.add_edge(START, "make")
    builder.add_edge("make", "bump")
    builder.add_edge("bump", END)
    return builder.compile(checkpointer=saver)


def file_bytes(path: Path) -> int:
    """The database's size as a fresh connection sees it (WAL included)."""
    with sqlite3.connect(path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(page_size)


def test_a_value_made_by_a_node_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    config = {"configurable": {"thread_id": "t"}}
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = big_graph(saver)
        graph.invoke({"n": 0}, config)
        assert file_bytes(path) < 1.1 * SIZE
        assert graph.get_state(config).values["big"] == "x" * SIZE
        assert len(list(graph.get_state_history(config))) == 4
        wal = Path(f"{path}-wal")  # cut back after the large commit, not left at 20 MB
        assert not wal.exists() or wal.stat().st_size <= 9 * MB


def test_a_value_given_as_input_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "input.db"
    config = {"configurable": {"thread_id": "t"}}
    value = "y" * SIZE
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = big_graph(saver)
        graph.invoke({"big": value, "n": 0}, config)
        assert file_bytes(path) < 1.1 * SIZE
        history = list(graph.get_state_history(config))
        assert all(s.values["big"] == value for s in history if "big" in s.values)
        # replay from the input checkpoint: __start__ still holds the whole input
        first = history[-1]
        assert graph.invoke(None, first.config)["big"] == value


def test_shared_pieces_survive_prune_copy_and_delete(tmp_path: Path) -> None:
    path = tmp_path / "gc.db"
    config = {"configurable": {"thread_id": "t"}}
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = big_graph(saver)
        graph.invoke({"n": 0}, config)
        saver.copy_thread("t", "copy")
        saver.prune(["t"], keep_last=1)
        assert graph.get_state(config).values["big"] == "x" * SIZE
        copy = {"configurable": {"thread_id": "copy"}}
        assert graph.get_state(copy).values["big"] == "x" * SIZE
        saver.delete_thread("t")
        assert graph.get_state(copy).values["big"] == "x" * SIZE
        saver.delete_thread("copy")
        assert file_bytes(path) < 2 * MB  # the space came back


def test_many_large_parts_in_one_value_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "parts.db"
    parts = [bytes([i]) * (300_000 + i) for i in range(8)]
    config = {"configurable": {"thread_id": "p"}}
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = big_graph(saver)
        graph.invoke({"big": "small", "parts": parts, "n": 0}, config)
        assert graph.get_state(config).values["parts"] == parts
        graph.invoke({"parts": [*parts, b"tail"]}, config)
        assert graph.get_state(config).values["parts"] == [*parts, b"tail"]
        assert file_bytes(path) < 1.5 * sum(map(len, parts))
