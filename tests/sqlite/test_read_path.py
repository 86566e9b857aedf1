"""What reads return: fresh objects every time, rows named in errors, list order across groups."""

from __future__ import annotations

import copy
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import CorruptDataError


def put(saver: SqliteSaver, thread: str, ns: str, step: int, parent: dict[str, Any] | None) -> Any:
    """One checkpoint with two small channels, a node's seen versions and metadata."""
    config = parent or {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
    checkpoint = empty_checkpoint()
    versions = {ch: saver.get_next_version(None, None) for ch in ("a", "b")}
    checkpoint["channel_values"] = {"a": {"n": step, "tags": ["x"]}, "b": [step]}
    checkpoint["channel_versions"] = dict(versions)
    checkpoint["versions_seen"] = {"node": dict(versions)}
    metadata = {"source": "loop", "step": step, "parents": {"p": "q"}}
    return saver.put(config, checkpoint, metadata, versions)  # type: ignore[arg-type]


def test_mutating_what_a_read_returns_changes_no_later_read(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "fresh.db")) as saver:
        first = put(saver, "t", "", 0, None)
        second = put(saver, "t", "", 1, first)
        head = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        reads = [lambda: saver.get_tuple(head), lambda: saver.get_tuple(second)]
        reads.append(lambda: next(iter(saver.list({"configurable": {"thread_id": "t"}}))))
        expected = copy.deepcopy(saver.get_tuple(second))
        assert expected is not None and expected.checkpoint["versions_seen"]["node"]
        for read in reads * 2:
            got = read()
            assert got == expected
            got.config["configurable"]["checkpoint_id"] = "changed"
            got.parent_config["configurable"]["thread_id"] = "changed"
            got.checkpoint["channel_values"]["a"]["tags"].append("changed")
            got.checkpoint["channel_values"]["b"].append(99)
            got.checkpoint["channel_versions"]["a"] = "changed"
            got.checkpoint["versions_seen"]["node"]["b"] = "changed"
            got.metadata["parents"]["p"] = "changed"
            got.metadata["step"] = 99


def test_a_corrupt_row_is_named_by_file_thread_namespace_and_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "named.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        stored = put(saver, "t", "sub", 0, None)
    checkpoint_id = stored["configurable"]["checkpoint_id"]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE checkpoints SET body = x'c1'")
    named = re.escape(f"'{path}' thread 't', namespace 'sub' checkpoint '{checkpoint_id}'")
    with SqliteSaver.from_conn_string(str(path)) as saver:
        with pytest.raises(CorruptDataError, match=named):
            saver.get_tuple(stored)
        with pytest.raises(CorruptDataError, match=named):
            saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": "sub"}})
        with pytest.raises(CorruptDataError, match=named):
            list(saver.list({"configurable": {"thread_id": "t"}}))


def test_listing_several_threads_and_namespaces_keeps_the_order_and_each_rows_values(
    tmp_path: Path,
) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "order.db")) as saver:
        written = []
        for step, (thread, ns) in enumerate(
            [("a", ""), ("b", ""), ("a", "x"), ("a", ""), ("b", "y")]
        ):
            config = put(saver, thread, ns, step, None)
            written.append((config["configurable"]["checkpoint_id"], thread, ns, step))
        newest_first = sorted(written, reverse=True)

        def seen(config: dict[str, Any] | None) -> list[tuple[str, str, str, int]]:
            return [
                (
                    t.config["configurable"]["checkpoint_id"],
                    t.config["configurable"]["thread_id"],
                    t.config["configurable"]["checkpoint_ns"],
                    t.checkpoint["channel_values"]["a"]["n"],
                )
                for t in saver.list(config)
            ]

        assert seen(None) == newest_first
        assert seen({"configurable": {"thread_id": "a"}}) == [
            w for w in newest_first if w[1] == "a"
        ]
        assert seen({"configurable": {"thread_id": "a", "checkpoint_ns": ""}}) == [
            w for w in newest_first if w[1] == "a" and w[2] == ""
        ]
        assert all(
            t.metadata["step"] == t.checkpoint["channel_values"]["b"][0] for t in saver.list(None)
        )
