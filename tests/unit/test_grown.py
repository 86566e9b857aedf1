"""``Grown`` values (``tether.checkpoint.grown``): bytes of a list built by appending, joined only
when needed. Whatever is done with one (plan a row, decode it, join it early or late), the result
must be what the fully serialized list gives."""

from __future__ import annotations

from typing import Any

import pytest

from tether.checkpoint import deltas
from tether.checkpoint.appends import Extends, dump_grown
from tether.checkpoint.grown import MAX_WALK, Grown, flat
from tether.checkpoint.serde.msgpack import MsgpackSerializer
from tether.messages import message_classes

M = message_classes()


def _messages(start: int, n: int) -> list[Any]:
    return [M.human(content=f"message {i} " + "x" * 200, id=f"m{i}") for i in range(start, n)]


def _grown_chain(serde: MsgpackSerializer, steps: list[int]) -> tuple[list[Any], list[Any]]:
    """Values and their ``Grown`` bytes for a list growing by ``steps[i]`` elements per step."""
    value = _messages(0, 20)
    data: bytes | Grown = serde.dumps_typed(value)[1]
    values, datas = [value], [data]
    for added in steps:
        tail = serde.dumps_typed(_messages(len(value), len(value) + added))[1]
        data = Grown(data, tail[1:] if added < 16 else tail[3:], added)
        value = [*value, *_messages(len(value), len(value) + added)]
        values.append(value)
        datas.append(data)
    return values, datas


def test_a_grown_value_is_the_serialized_list_however_it_is_joined() -> None:
    serde = MsgpackSerializer()
    values, datas = _grown_chain(serde, [2, 0, 1, 3, 2])
    since = datas[-1].since(datas[3])
    bytes(datas[2])  # one in the middle joined first: the later ones still join right
    for value, data in zip(values, datas, strict=True):
        full = serde.dumps_typed(value)[1]
        assert len(data) == len(full)
        assert flat(data) == full
    assert since == (5, flat(datas[-1])[len(flat(datas[3])) :])


def test_since_finds_only_values_it_was_built_on() -> None:
    serde = MsgpackSerializer()
    _, datas = _grown_chain(serde, [1] * (MAX_WALK + 2))
    last = datas[-1]
    assert last.since(datas[-2])[0] == 1
    assert last.since(datas[-1 - MAX_WALK])[0] == MAX_WALK
    assert last.since(datas[-2 - MAX_WALK]) is None  # further back than it looks
    assert last.since(bytes(flat(datas[-2]))) is None  # equal bytes, but another object
    bytes(last)
    assert last.since(datas[-2]) is None  # joined: it no longer holds what it was built on


def test_plan_stores_a_grown_value_as_the_delta_it_is() -> None:
    serde = MsgpackSerializer()
    values, datas = _grown_chain(serde, [2, 0, 3])
    rows: dict[tuple[str, str], deltas.BlobRow] = {}
    previous = None
    kinds = []
    for i, data in enumerate(datas):
        row, previous = deltas.plan(f"v{i}", "msgpack", data, previous)
        rows[("messages", f"v{i}")] = row
        kinds.append(row.kind)
    assert kinds == [deltas.FULL, deltas.DELTA, deltas.REF, deltas.DELTA]
    for i, value in enumerate(values):
        found = deltas.walk(rows, "messages", f"v{i}").value()
        assert found is not None and serde.loads_typed(found) == value


def test_dump_grown_builds_on_what_was_stored_and_decodes_sharing_the_elements() -> None:
    serde = MsgpackSerializer()
    value = _messages(0, 30)
    _, written = deltas.full_row("v1", *serde.dumps_typed(value))
    first = serde.loads_typed(("msgpack", written.body))
    longer = [*value, *_messages(30, 32)]
    tag, data = dump_grown(serde, "messages", longer, Extends("v1", 30), written)
    assert isinstance(data, Grown) and flat(data) == serde.dumps_typed(longer)[1]
    data = dump_grown(serde, "messages", longer, Extends("v1", 30), written)[1]
    read = serde.loads_typed((tag, data))
    assert read == longer and all(a is b for a, b in zip(first, read, strict=False))


@pytest.mark.parametrize("loads_overridden", [False, True])
def test_dump_grown_gives_bytes_to_a_serializer_that_decodes_otherwise(
    loads_overridden: bool,
) -> None:
    class Custom(MsgpackSerializer):
        if loads_overridden:

            def loads_typed(self, data: tuple[str, Any]) -> Any:
                return super().loads_typed((data[0], bytes(data[1])))

    serde = Custom()
    value = _messages(0, 30)
    _, written = deltas.full_row("v1", *serde.dumps_typed(value))
    longer = [*value, *_messages(30, 31)]
    data = dump_grown(serde, "messages", longer, Extends("v1", 30), written)[1]
    assert isinstance(data, Grown) is not loads_overridden
    assert flat(data) == serde.dumps_typed(longer)[1]
