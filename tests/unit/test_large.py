"""Large payloads cut out of serialized values and put back: exact for any msgpack value."""

from __future__ import annotations

from typing import Any

import ormsgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.checkpoint import large

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.binary(max_size=40),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=6), st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(large, "LARGE_VALUE", 0)
    monkeypatch.setattr(large, "PIECE", 8)


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_split_then_join_gives_the_same_bytes(value: Any) -> None:
    data = ormsgpack.packb(value)
    spans = large.payloads(data, 8)
    assert spans is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(large, "LARGE_VALUE", 0)
        patch.setattr(large, "PIECE", 8)
        found = large.split(data)
    if found is None:
        assert spans == []
        return
    frame, pieces = found
    assert set(large.frame_digests(frame)) == set(pieces)
    assert large.join(frame, pieces) == data


def test_the_same_payload_in_different_values_is_one_piece(small_thresholds: None) -> None:
    big = "z" * 1000
    first = large.split(ormsgpack.packb({"input": {"big": big, "n": 1}}))
    second = large.split(ormsgpack.packb(big))
    assert first is not None and second is not None
    assert set(first[1]) == set(second[1])


def test_a_sequence_of_items_is_walked_like_one_value() -> None:
    tail = ormsgpack.packb("a" * 100) + ormsgpack.packb(b"b" * 100)
    assert large.payloads(tail, 50) == [(2, 100), (104, 100)]


def test_bytes_that_are_not_msgpack_are_left_alone() -> None:
    assert large.payloads(b"\xc1" * 10, 1) is None
    assert large.payloads(b"\xdb\xff\xff\xff\xff", 1) is None  # a length past the end
    assert large.split(b"\xc1" * (large.LARGE_VALUE + 1)) is None


def test_a_missing_piece_is_named() -> None:
    data = ormsgpack.packb("q" * (large.LARGE_VALUE + 1))
    found = large.split(data)
    assert found is not None
    with pytest.raises(KeyError):
        large.join(found[0], {})
