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


def test_list_gives_each_checkpoint_its_own_pending_writes_on_every_page_and_filter(
    tmp_path: Path,
) -> None:
    """A list page asks ``writes`` once for its id range: writes of checkpoints inside that
    range that the page does not hold (filtered out, or other namespaces) must not leak in."""
    with SqliteSaver.from_conn_string(str(tmp_path / "pending.db")) as saver:
        expected: dict[str, list[Any]] = {}
        for thread in ("t", "u"):
            for ns in ("", "sub"):
                parent = None
                for step in range(6):
                    parent = put(saver, thread, ns, step, parent)
                    cid = parent["configurable"]["checkpoint_id"]
                    expected[cid] = []
                    if step % 2 == 1 and ns == "":  # odd steps of the root namespace only
                        writes = [("out", f"{thread}-{step}"), ("log", [step])]
                        saver.put_writes(parent, writes, f"task-{step}")
                        expected[cid] = [(f"task-{step}", ch, v) for ch, v in writes]

        def listed(config: Any, **kwargs: Any) -> dict[str, list[Any]]:
            found = {}
            for item in saver.list(config, **kwargs):
                cid = item.config["configurable"]["checkpoint_id"]
                found[cid] = item.pending_writes
                got = saver.get_tuple(item.config)
                assert got is not None and got.pending_writes == item.pending_writes
            return found

        everything = listed(None)
        assert everything == expected
        assert sum(1 for w in everything.values() if w) == 6
        one_thread = listed({"configurable": {"thread_id": "t"}})
        assert one_thread == {c: w for c, w in expected.items() if c in one_thread}
        assert len(one_thread) == 12
        even = listed({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, filter={"step": 2})
        assert list(even.values()) == [[]]
        odd = listed({"configurable": {"thread_id": "u", "checkpoint_ns": ""}}, filter={"step": 3})
        assert list(odd.values()) == [[("task-3", "out", "u-3"), ("task-3", "log", [3])]]
        paged = listed({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, limit=3)
        assert len(paged) == 3 and paged == {c: expected[c] for c in paged}


def test_a_serializer_that_overrides_loads_typed_still_decodes_the_inline_values(
    tmp_path: Path,
) -> None:
    """Reads hand the inline values' map straight to tether's own decoder only when the
    serializer's ``loads_typed`` is the stock one; a subclass's override still sees it."""
    from tether.checkpoint.serde.msgpack import MsgpackSerializer

    class Counting(MsgpackSerializer):
        calls = 0

        def loads_typed(self, data: Any) -> Any:
            type(self).calls += 1
            return super().loads_typed(data)

    path = str(tmp_path / "serde.db")
    with SqliteSaver.from_conn_string(path) as plain:
        stored = put(plain, "t", "", 0, None)
        expected = plain.get_tuple(stored)
    with SqliteSaver(sqlite3.connect(path, check_same_thread=False), serde=Counting()) as saver:
        got = saver.get_tuple(stored)
        listed = list(saver.list({"configurable": {"thread_id": "t"}}))
    assert got == expected and listed == [expected]
    assert expected is not None and expected.checkpoint["channel_values"]["a"]["n"] == 0
    assert Counting.calls >= 2
