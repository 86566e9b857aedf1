"""Small channel values kept inline in the checkpoint row, so most reads need no blob query.

Every checkpoint row (format 2) carries the serialized bytes of each of its channel values that
serialize to at most ``INLINE_MAX`` bytes, changed or not, and an empty marker for each channel
without a value (see ``pack`` for the layout). Larger values live in the ``blobs`` table (full,
delta or reference rows). A read decodes the inline values from the row it already has and
fetches blobs only for the channels the row does not carry; listing reads only checkpoint rows
for small states.

Carrying unchanged small values costs at most ``INLINE_MAX`` bytes per channel per checkpoint
(constant per checkpoint, so storage stays linear). To carry them without serializing them
again, the saver remembers per (thread, namespace) the versions and bytes of the values of the
last checkpoint it wrote or read there (``KnownValues``); reading that checkpoint back then needs
no blob query either.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

import ormsgpack

from tether.checkpoint.base import SerializerProtocol
from tether.checkpoint.deltas import MSGPACK_TAG
from tether.checkpoint.serde.msgpack import MsgpackSerializer
from tether.checkpoint.thread_cache import ThreadCache

INLINE_MAX = 256
"""Values that serialize to at most this many bytes are stored in the checkpoint row."""

Typed = tuple[str, bytes]
Inline = dict[str, Typed | None]
"""channel -> (tag, bytes) of a small value, or None for a channel without a value."""


class Stored(NamedTuple):
    """A channel value of the last checkpoint written or read in a thread: its version, its
    serialized bytes, and whether they sit inline in the row (else in ``blobs``)."""

    version: str
    tag: str
    data: bytes
    inline: bool


Known = dict[str, Stored]

make_stored: Callable[[tuple[str, str, bytes, bool]], Stored] = functools.partial(
    tuple.__new__, Stored
)
"""``Stored`` from a 4-tuple, without the Python-level ``__new__`` a NamedTuple has (a put
makes one per changed channel)."""


def pack(small: Inline) -> dict[str, Any]:
    """The body fields that store ``small``: ``values``, one msgpack map of the msgpack-tagged
    values (decoded by one call on read) with ``ends``, where each value's bytes end in it (so
    one value can be cut out without decoding the rest); ``inline`` for the others
    (``[tag, bytes]``, or None for a channel without a value). The saver's put builds the same
    pieces while it plans the values (``SqliteSaver._plan_values``) and calls ``fields``."""
    others: dict[str, list[Any] | None] = {}
    parts = [b""]  # the map header goes first, once the count is known
    append = parts.append
    ends: list[int] = []
    end = 1  # the header of a map of up to 15 entries is one byte (corrected below if not)
    for channel, typed in small.items():
        if typed is None or typed[0] != MSGPACK_TAG:
            others[channel] = typed and [typed[0], typed[1]]
            continue
        name = packed_name(channel)
        data = typed[1]
        append(name)
        append(data)
        end += len(name) + len(data)
        ends.append(end)
    return fields(parts, ends, others)


def fields(
    parts: list[bytes], ends: list[int], others: dict[str, list[Any] | None]
) -> dict[str, Any]:
    """``pack``'s body fields from its pieces: ``parts``, a placeholder for the map header and
    then each msgpack value's ``packed_name`` and bytes; ``ends``, where each value ends,
    counted with a one-byte header; ``others``, the values that are not msgpack."""
    packed: dict[str, Any] = {}
    if ends:
        parts[0] = header = _map_header(len(ends))
        if len(header) != 1:
            ends = [at + len(header) - 1 for at in ends]
        packed["values"] = b"".join(parts)
        packed["ends"] = ends
    if others:
        packed["inline"] = others
    return packed


def unpack(body: dict[str, Any]) -> Inline:
    """Each inline value of a checkpoint body as ``(tag, bytes)`` (None: no value); empty for
    rows written before format 2."""
    small: Inline = {}
    values, ends = body.get("values"), body.get("ends")
    if isinstance(values, bytes) and isinstance(ends, list):
        small.update(_split(values, ends))
    for channel, typed in (body.get("inline") or {}).items():
        small[channel] = None if typed is None else (typed[0], typed[1])
    return small


_MSGPACK_LOADS = MsgpackSerializer.loads_typed


def decode_all(serde: SerializerProtocol, body: dict[str, Any]) -> dict[str, Any]:
    """All inline values of a checkpoint body, the msgpack ones decoded by one serializer
    call. Raises what the serializer raises."""
    values: dict[str, Any] = {}
    packed = body.get("values")
    if packed:
        # The map straight to the serializer's decoder when it is tether's own, unchanged:
        # four Python calls fewer for every checkpoint read.
        if type(serde).loads_typed is _MSGPACK_LOADS:
            values = serde.loads_map(packed)  # type: ignore[attr-defined]
        else:
            values = serde.loads_typed((MSGPACK_TAG, packed))
        if type(values) is not dict:
            raise ValueError("the inline values are not a map")
    others = body.get("inline")
    if others:
        for channel, typed in others.items():
            if typed is not None:
                values[channel] = serde.loads_typed((typed[0], typed[1]))
    return values


def _split(packed: bytes, ends: list[int]) -> dict[str, Typed]:
    """Cut a ``values`` map into (channel, value bytes) without decoding the values."""
    out: dict[str, Typed] = {}
    pos = _map_span(packed)
    for end in ends:
        name, pos = _read_str(packed, pos)
        out[name] = (MSGPACK_TAG, packed[pos:end])
        pos = end
    return out


def _map_span(data: bytes) -> int:
    """Length of the msgpack map header at the start of ``data``."""
    first = data[0]
    if 0x80 <= first <= 0x8F:
        return 1
    return {0xDE: 3, 0xDF: 5}[first]


def _read_str(data: bytes, pos: int) -> tuple[str, int]:
    """The msgpack string at ``pos`` and the position after it."""
    first = data[pos]
    if 0xA0 <= first <= 0xBF:
        start, length = pos + 1, first & 0x1F
    elif first == 0xD9:
        start, length = pos + 2, data[pos + 1]
    elif first == 0xDA:
        start, length = pos + 3, struct.unpack_from(">H", data, pos + 1)[0]
    elif first == 0xDB:
        start, length = pos + 5, struct.unpack_from(">I", data, pos + 1)[0]
    else:
        raise ValueError(f"expected a channel name at byte {pos}")
    return data[start : start + length].decode(), start + length


@functools.lru_cache(maxsize=4096)
def packed_name(channel: str) -> bytes:
    """A channel's name as msgpack (a key of the ``values`` map)."""
    return ormsgpack.packb(channel)


def _map_header(count: int) -> bytes:
    if count < 16:
        return bytes([0x80 | count])
    if count < 0x10000:
        return b"\xde" + struct.pack(">H", count)
    return b"\xdf" + struct.pack(">I", count)


class KnownValues:
    """Per (thread, namespace): what the last checkpoint written or read there stored, and its
    id. Bounded; thread-safe."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: ThreadCache[tuple[str, str], tuple[str, Known]] = ThreadCache(max_entries)

    def get(self, thread_id: str, ns: str) -> Known:
        found = self._entries.get((thread_id, ns))
        return found[1] if found else {}

    def of(self, thread_id: str, ns: str, checkpoint_id: str) -> Known | None:
        """The values remembered for this checkpoint, if it is the one remembered."""
        found = self._entries.get((thread_id, ns))
        return found[1] if found and found[0] == checkpoint_id else None

    def put(self, thread_id: str, ns: str, checkpoint_id: str, known: Known) -> None:
        self._entries.put((thread_id, ns), (checkpoint_id, known))

    def entry(self, thread_id: str, ns: str) -> tuple[str, Known] | None:
        """The checkpoint id and values remembered for (thread, namespace), for ``restore``."""
        return self._entries.get((thread_id, ns))

    def restore(self, thread_id: str, ns: str, entry: tuple[str, Known] | None) -> None:
        """Put back what ``entry`` returned (None: forget the pair)."""
        if entry is None:
            self._entries.forget_keys([(thread_id, ns)])
        else:
            self._entries.put((thread_id, ns), entry)

    def forget(self, thread_ids: list[str] | None = None) -> None:
        self._entries.forget(thread_ids)
