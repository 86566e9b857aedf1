"""Property test: any JSON-like value (plus bytes and tuples) round-trips unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from tether.checkpoint.serde import MsgpackSerializer

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed")
st = hypothesis.strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=5).map(tuple)
        | st.dictionaries(st.text(max_size=8) | st.integers(-(2**63), 2**63 - 1), inner, max_size=5)
    ),
    max_leaves=40,
)


@hypothesis.given(values)
def test_json_like_values_roundtrip(value: Any) -> None:
    serde = MsgpackSerializer()
    assert serde.loads_typed(serde.dumps_typed(value)) == value
