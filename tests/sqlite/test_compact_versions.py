"""Schema v6: checkpoint bodies store versions without their leading zeros, read back exactly;
files written at v5 (full versions) are upgraded and still read."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import ormsgpack
import pytest

from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.sqlite import SqliteSaver, rows, schema

from . import old_layout

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed")
st = hypothesis.strategies

versions = st.text(alphabet="0123456789abcdef.+-x", max_size=50) | st.text(
    alphabet="0a.", max_size=10
).map(lambda tail: "0" * rows.STRIPPED_ZEROS + tail)


def _checkpoint(channel_versions: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    return {**empty_checkpoint(), "channel_versions": channel_versions, "versions_seen": seen}


@hypothesis.given(
    st.dictionaries(st.text(max_size=5), versions | st.integers(0, 2**63 - 1), max_size=6),
    st.dictionaries(st.text(max_size=5), st.dictionaries(st.text(max_size=5), versions)),
)
def test_any_versions_read_back_exactly(cv: dict[str, Any], seen: dict[str, Any]) -> None:
    body = rows.unpack_body(rows.pack_body(_checkpoint(cv, seen), compact=True), "here")
    assert body["channel_versions"] == cv and body["versions_seen"] == seen


def test_saver_versions_are_stored_short() -> None:
    saver = SqliteSaver.from_conn_string(":memory:")
    cv = {f"c{i}": saver.get_next_version(None) for i in range(10)}
    seen = {"node": {"c0": cv["c0"]}}
    packed = rows.pack_body(_checkpoint(cv, seen), compact=True)
    raw = ormsgpack.unpackb(packed)
    assert raw["z"] == 24 and raw["channel_versions"]["c0"] == cv["c0"][24:]
    assert len(packed) < len(rows.pack_body(_checkpoint(cv, seen))) - 250
    assert rows.unpack_body(packed, "here")["versions_seen"] == seen
    saver.close()


def test_a_node_map_changed_in_place_is_cut_afresh() -> None:
    """The cut of an unchanged node map is reused; one changed since (even in place, the
    same dict) is cut again, and one that no longer has the zeros turns compaction off."""
    zeros = "0" * rows.STRIPPED_ZEROS
    cv = {"c": zeros + "1.a"}
    by_node = {"c": zeros + "1.a"}
    seen = {"node-x": by_node, "node-y": {"c": zeros + "1.a"}}
    for _ in range(2):  # the second pack reuses both cuts
        body = rows.unpack_body(rows.pack_body(_checkpoint(cv, seen), compact=True), "here")
        assert body["versions_seen"] == seen
    by_node["c"] = zeros + "2.b"  # the same dict, mutated
    packed = rows.pack_body(_checkpoint(cv, seen), compact=True)
    assert ormsgpack.unpackb(packed)["versions_seen"]["node-x"] == {"c": "2.b"}
    assert rows.unpack_body(packed, "here")["versions_seen"] == seen
    by_node["c"] = "7.c"  # no leading zeros: the body keeps full versions
    packed = rows.pack_body(_checkpoint(cv, seen), compact=True)
    assert "z" not in ormsgpack.unpackb(packed)
    assert rows.unpack_body(packed, "here")["versions_seen"] == seen


def _put(saver: SqliteSaver, config: dict[str, Any], step: int, versions: dict[str, Any]) -> Any:
    checkpoint = empty_checkpoint()
    new = {"a": saver.get_next_version(versions.get("a"))}
    versions.update(new)
    checkpoint["channel_values"] = {"a": {"step": step}}
    checkpoint["channel_versions"] = dict(versions)
    return saver.put(config, checkpoint, {"source": "loop", "step": step}, new)


def test_a_v5_file_is_upgraded_and_its_full_versions_still_read(tmp_path: Path) -> None:
    path = str(tmp_path / "v5.db")
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    versions: dict[str, Any] = {}
    with SqliteSaver.from_conn_string(path) as saver:
        old = _put(saver, config, 0, versions)
    # Make it a v5 file: its body as v5 wrote it (full versions, no "z"), and version 5.
    with sqlite3.connect(path) as conn:
        (data,) = conn.execute("SELECT body FROM checkpoints").fetchone()
        body = ormsgpack.unpackb(data)
        assert body.pop("z") == 24
        body["channel_versions"] = dict(versions)
        conn.execute("UPDATE checkpoints SET body = ?", (ormsgpack.packb(body),))
        old_layout.unpack_writes(conn)
        conn.execute("UPDATE tether_meta SET value = '5' WHERE key = 'schema_version'")
    with SqliteSaver.from_conn_string(path) as saver:
        found = saver.get_tuple(old)
        assert found is not None and found.checkpoint["channel_versions"] == versions
        assert found.checkpoint["channel_values"] == {"a": {"step": 0}}
        new = _put(saver, old, 1, versions)
        listed = [t.checkpoint["channel_versions"]["a"] for t in saver.list(config)]
        assert listed == [versions["a"], found.checkpoint["channel_versions"]["a"]]
        assert saver.get_tuple(new).checkpoint["channel_versions"] == versions
    with sqlite3.connect(path) as conn:
        (version,) = conn.execute(
            "SELECT value FROM tether_meta WHERE key = 'schema_version'"
        ).fetchone()
    assert int(version) == schema.SCHEMA_VERSION == 8
