"""Encoding only what a step appended to a list, when the engine vouches for the rest.

A chat history is a list that grows by a few messages per step. Serializing all of it at every
checkpoint costs time in proportion to the conversation; the stored rows are already deltas
(``tether.checkpoint.deltas``), but the bytes they are cut from were not. Here the engine tells
the saver, per channel, an ``Extends``: "the first ``length`` elements of this value are the very
objects stored at ``base_version``, and no step since returned any of them". The saver, which
remembers the bytes it stored at that version (``deltas.Written``), then serializes only the
elements after ``length`` and puts the stored bytes in front: msgpack encodes a list as a header
followed by each element's bytes, so the result is byte for byte what serializing the whole list
gives, *if* those objects did not change in place.

The rule this relies on, documented in docs/porting.md: a step stores what it returns. An object
already in a list channel that a node changes in place without returning it is not serialized
again (LangGraph stores such a change only when the same step also writes that channel). Which
objects the engine vouches for, and when, is decided in ``tether.engine.reuse``.

With ``TETHER_CHECK_APPENDS=1`` in the environment when tether is imported, every reused prefix
is checked against a full serialization, and a difference raises ``InvalidUpdateError`` naming
the channel and the index of the changed element (the test suite runs with it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from tether.checkpoint.base import dump_channel_value, state_root
from tether.checkpoint.deltas import MSGPACK_TAG, Written
from tether.checkpoint.grown import Grown, array_span, count_of, flat
from tether.checkpoint.serde.msgpack import MsgpackSerializer
from tether.errors import InvalidUpdateError, SerializationError

CHECK_ENV = "TETHER_CHECK_APPENDS"
CHECK = bool(os.environ.get(CHECK_ENV))
"""Whether every reused prefix is checked (read from the environment at import)."""
GROWN_MIN_BYTES = 2048
"""Shorter values are joined at once (cheap), so small values are always plain bytes."""
_LOADS = MsgpackSerializer.loads_typed


class Extends(NamedTuple):
    """A channel's new value starts with the value stored at ``base_version``, unchanged."""

    base_version: str
    length: int
    """Elements of the value at ``base_version`` (the new value has at least as many)."""


class HintedCheckpoint(dict[str, Any]):
    """A checkpoint dict that also carries the engine's ``Extends`` per channel.

    It is an ordinary dict to any saver that does not look for the hints.
    """

    __slots__ = ("extends",)

    def __init__(self, items: Mapping[str, Any], extends: Mapping[str, Extends]) -> None:
        super().__init__(items)
        self.extends = extends


def hints_of(checkpoint: Mapping[str, Any]) -> Mapping[str, Extends]:
    """The ``Extends`` hints a checkpoint carries (none for a plain dict)."""
    return getattr(checkpoint, "extends", None) or {}


def dump_extending(
    serde: Any,
    channel: str,
    value: Any,
    hint: Extends | None,
    previous: Written | None,
) -> tuple[str, bytes]:
    """Serialize a channel's value, reusing ``previous``'s bytes for the prefix ``hint`` vouches
    for (as ``dump_grown`` does), joined into ``bytes``."""
    if hint is None:  # the usual case: nothing to reuse
        return dump_channel_value(serde, channel, value)
    tag, data = _dump(serde, channel, value, hint, previous, False)
    return tag, flat(data)


def dump_grown(
    serde: Any,
    channel: str,
    value: Any,
    hint: Extends | None,
    previous: Written | None,
) -> tuple[str, bytes | Grown]:
    """Serialize a channel's value, reusing ``previous.body`` for the prefix ``hint`` vouches for.

    The result is a ``Grown`` on ``previous.body`` (nothing copied; ``deltas.plan`` then knows it
    extends ``previous`` without comparing bytes) when the value is at least ``GROWN_MIN_BYTES``
    long and ``serde`` decodes with tether's msgpack ``loads_typed`` (the only decoder that takes
    a ``Grown``), else bytes. Falls back to serializing the whole value whenever the hint does
    not match what the saver stored (another version, another length, not a msgpack list) or
    ``serde`` is not tether's msgpack serializer.
    """
    if hint is None:  # the usual case: nothing to reuse
        return dump_channel_value(serde, channel, value)
    return _dump(serde, channel, value, hint, previous, type(serde).loads_typed is _LOADS)


def _dump(
    serde: Any,
    channel: str,
    value: Any,
    hint: Extends | None,
    previous: Written | None,
    grown: bool,
) -> tuple[str, bytes | Grown]:
    """``dump_grown``, making a ``Grown`` only if ``grown`` (else joined bytes)."""
    if not _applies(value, hint, previous) or not isinstance(serde, MsgpackSerializer):
        return dump_channel_value(serde, channel, value)
    assert hint is not None and previous is not None
    try:
        tag, tail = serde.dumps_typed(value[hint.length :])
    except SerializationError:  # serialize it all, so the error names the right index
        return dump_channel_value(serde, channel, value)
    span = array_span(tail)
    if tag != MSGPACK_TAG or span is None:
        return dump_channel_value(serde, channel, value)
    extended = Grown(previous.body, tail[span[1] :], span[0])
    small = len(previous.body) + len(tail) < GROWN_MIN_BYTES
    # Joined at once (header, stored elements, new elements) unless a Grown is wanted.
    data: bytes | Grown = extended.join() if small or not grown else extended
    if CHECK:
        _check(serde, channel, value, data if isinstance(data, bytes) else data.join())
    return tag, data


def _applies(value: Any, hint: Extends | None, previous: Written | None) -> bool:
    """Whether ``hint`` lets us reuse ``previous.body`` as the first elements of ``value``."""
    if hint is None or previous is None or type(value) is not list or len(value) < hint.length:
        return False
    if previous.tag != MSGPACK_TAG or hint.base_version not in (previous.version, previous.latest):
        return False
    span = count_of(previous.body)
    return span is not None and span[0] == hint.length


def _check(serde: Any, channel: str, value: list[Any], data: bytes) -> None:
    """Raise unless ``data`` is what serializing ``value`` in full gives."""
    full = dump_channel_value(serde, channel, value)[1]
    if full == data:
        return
    index, offset = 0, 1 if len(value) < 16 else 3 if len(value) < 0x10000 else 5
    for element in value:
        own = serde.dumps_typed([element])[1][1:]
        if not data.startswith(own, offset):
            break
        index, offset = index + 1, offset + len(own)
    raise InvalidUpdateError(
        f"{state_root(channel)}[{index}] changed in place after it was stored, but no step "
        "returned it, so tether would keep the old value: return the changed object from the "
        f"node (e.g. {{{channel!r}: [obj]}}) or a new object (this check runs because "
        f"{CHECK_ENV} is set)"
    )
