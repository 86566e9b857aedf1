"""Reads that decode only what a list appended (``tether.checkpoint.serde.recent``): a hit must
give exactly what a full decode gives, whatever order lists that share a prefix are read in."""

from __future__ import annotations

from typing import Any

from tether.checkpoint.serde.msgpack import MsgpackSerializer
from tether.checkpoint.serde.recent import RecentLists
from tether.messages import message_classes

M = message_classes()


def _history(n: int, tag: str = "") -> list[Any]:
    return [M.human(content=f"{tag}message {i} " + "x" * 100, id=f"{tag}{i}") for i in range(n)]


def _dumped(serde: MsgpackSerializer, value: list[Any]) -> tuple[str, bytes]:
    return serde.dumps_typed(value)


def test_forks_of_one_list_read_back_exactly_in_any_order() -> None:
    serde = MsgpackSerializer()
    base = _history(20)
    fork_a = [*base, *_history(3, "a")]
    fork_b = [*base, *_history(2, "b")]
    longer_a = [*fork_a, *_history(1, "a2")]
    reads = [base, fork_a, fork_b, base, longer_a, fork_b, fork_a, base]
    seen = []
    for value in reads:
        got = serde.loads_typed(_dumped(serde, value))
        assert got == value
        seen.append(got)
    for value, got in zip(reads, seen, strict=True):  # later reads changed no earlier result
        assert got == value


def test_a_read_shares_elements_with_the_read_it_extends_but_not_the_list() -> None:
    serde = MsgpackSerializer()
    first = serde.loads_typed(_dumped(serde, _history(20)))
    second = serde.loads_typed(_dumped(serde, [*_history(20), *_history(2, "n")]))
    assert all(a is b for a, b in zip(first, second[:20], strict=True))  # decoded once
    first.append("caller's own")
    second.pop()
    third = serde.loads_typed(_dumped(serde, [*_history(20), *_history(2, "n")]))
    assert len(third) == 22 and third[-1].id == "n1" and "caller's own" not in third


def test_a_reader_holding_an_entry_another_reader_grew_gets_its_own_list() -> None:
    """Two threads may find the same entry before either grows it (``_find`` runs outside the
    lock); the second must neither see the first's elements nor grow the list again."""
    serde = MsgpackSerializer()
    unpack = serde._unpack_all  # what the serializer hands RecentLists
    found_first: list[Any] = []

    class Racing(RecentLists):
        def _find(self, raw: bytes) -> Any:
            found = super()._find(raw)
            if found[0] is not None and not found_first:
                found_first.append(found)
            return found_first[0] if found_first else found

    recent = Racing()
    base, fork_a, fork_b = _history(20), _history(3, "a"), _history(2, "b")
    assert recent.decode(_dumped(serde, base)[1], unpack) == base
    assert recent.decode(_dumped(serde, [*base, *fork_a])[1], unpack) == [*base, *fork_a]
    found_first[0] = (found_first[0][0], 2, _tail(serde, fork_b))  # the stale view, for fork b
    assert recent.decode(_dumped(serde, [*base, *fork_b])[1], unpack) == [*base, *fork_b]


def _tail(serde: MsgpackSerializer, added: list[Any]) -> bytes:
    """The element bytes of ``added`` (a list's bytes without its header)."""
    data = _dumped(serde, added)[1]
    return data[1:]  # fewer than 16 elements: a one-byte header
