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


def _chat(n: int, tag: str = "") -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"{tag}message {i} " + "x" * 100, "n": i} for i in range(n)]


def test_a_list_of_flat_dicts_reads_back_as_fresh_dicts_each_time() -> None:
    """Plain message dicts are kept, but every read gets its own dicts: a reader changing one
    in place changes no other read, as if each read had decoded the bytes."""
    serde = MsgpackSerializer()
    base = _chat(20)
    first = serde.loads_typed(_dumped(serde, base))
    first[0]["content"] = "changed by the first reader"
    first[1]["extra"] = True
    del first[2]["n"]
    second = serde.loads_typed(_dumped(serde, [*base, *_chat(2, "n")]))
    third = serde.loads_typed(_dumped(serde, [*base, *_chat(2, "n")]))
    assert second == third == [*base, *_chat(2, "n")]
    assert all(a is not b for a, b in zip(second, third, strict=True))
    second[-1]["content"] = "changed by the second reader"
    assert serde.loads_typed(_dumped(serde, [*base, *_chat(2, "n")])) == [*base, *_chat(2, "n")]
    assert list(second[5]) == ["role", "content", "n"]  # key order kept


def test_nested_or_mixed_plain_data_is_never_kept() -> None:
    serde = MsgpackSerializer()
    nested = [{"role": "user", "content": "x" * 100, "tags": [i]} for i in range(20)]
    first = serde.loads_typed(_dumped(serde, nested))
    first[0]["tags"].append("leak")
    assert serde.loads_typed(_dumped(serde, nested)) == nested
    grown = [*_chat(20), {"role": "user", "content": "x" * 100, "tags": ["a"]}]
    serde.loads_typed(_dumped(serde, _chat(20)))
    got = serde.loads_typed(_dumped(serde, grown))
    got[-1]["tags"].append("leak")
    assert serde.loads_typed(_dumped(serde, grown)) == grown


def test_a_grown_list_of_flat_dicts_decodes_only_the_added_dicts() -> None:
    serde = MsgpackSerializer()
    decoded: list[int] = []

    def unpack(raw: bytes) -> Any:
        value = serde._unpack_all(raw)
        decoded.append(len(value))
        return value

    recent = RecentLists()
    base, more = _chat(30), _chat(2, "n")
    assert recent.decode(_dumped(serde, base)[1], unpack) == base
    assert recent.decode(_dumped(serde, [*base, *more])[1], unpack) == [*base, *more]
    assert recent.decode(_dumped(serde, [*base, *more])[1], unpack) == [*base, *more]
    assert decoded == [30, 2]
