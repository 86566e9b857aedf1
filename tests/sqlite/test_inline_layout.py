"""The inline layout of a checkpoint row: any mix of small values round-trips, and each value
can be cut out of the packed map without decoding the others."""

from __future__ import annotations

from typing import Any

import ormsgpack
import pytest

from tether.checkpoint.serde import MsgpackSerializer
from tether.checkpoint.sqlite import inline

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed")
st = hypothesis.strategies

values = st.none() | st.integers() | st.text(max_size=50) | st.binary(max_size=20)
names = st.text(min_size=1, max_size=70)  # past 31 characters a name needs a longer header


@hypothesis.given(st.dictionaries(names, st.tuples(st.booleans(), values), max_size=20))
def test_inline_values_round_trip(channels: dict[str, tuple[bool, Any]]) -> None:
    serde = MsgpackSerializer()
    small: inline.Inline = {
        name: (serde.dumps_typed(value) if present else None)
        for name, (present, value) in channels.items()
    }
    body = ormsgpack.unpackb(ormsgpack.packb(inline.pack(small)))
    assert inline.unpack(body) == small
    assert set(inline.unpack(body)) == set(channels)
    decoded = inline.decode_all(serde, body)
    assert decoded == {name: value for name, (present, value) in channels.items() if present}


def test_a_put_lays_out_its_row_as_pack_does() -> None:
    """A put builds the inline map while it plans the values: the row it stores is byte for byte
    what ``inline.pack`` makes of the same values (changed, carried, not msgpack, absent), and
    a large value goes to a blob row instead."""
    from tether.checkpoint.base import empty_checkpoint
    from tether.checkpoint.sqlite import SqliteSaver, rows

    saver = SqliteSaver.from_conn_string(":memory:")
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    versions: dict[str, Any] = {}
    steps = [
        {"a": {"n": 0}, "raw": b"\x00\x01", "big": "x" * 400, "gone": None},
        {"a": {"n": 1}},  # the others carried from the first put
    ]
    for step, changed in enumerate(steps):
        new = {c: saver.get_next_version(versions.get(c)) for c in changed}
        versions.update(new)
        checkpoint = empty_checkpoint()
        values = {**steps[0], **changed}
        checkpoint["channel_values"] = {c: v for c, v in values.items() if v is not None}
        checkpoint["channel_versions"] = dict(versions)
        config = saver.put(config, checkpoint, {"source": "loop", "step": step}, new)
        with saver._conns.read() as conn:
            (raw,) = conn.execute(
                "SELECT body FROM checkpoints WHERE checkpoint_id = ?",
                (config["configurable"]["checkpoint_id"],),
            ).fetchone()
        body = rows.unpack_body(raw, "here")
        small = inline.unpack(body)
        assert set(small) == {"a", "raw", "gone"}  # "big" is a blob row
        fields = {k: body[k] for k in ("values", "ends", "inline") if k in body}
        assert fields == inline.pack(small)
        found = saver.get_tuple(config)
        assert found is not None
        assert found.checkpoint["channel_values"] == checkpoint["channel_values"]
    saver.close()
