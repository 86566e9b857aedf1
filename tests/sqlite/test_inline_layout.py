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
