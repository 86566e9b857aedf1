"""Small channel values kept inline in the checkpoint row, so most reads need no blob query.

Every checkpoint row (format 2) carries the serialized bytes of each of its channel values that
serialize to at most ``INLINE_MAX`` bytes, changed or not, and an empty marker for each channel
without a value. Larger values live in the ``blobs`` table (full, delta or reference rows). A
read decodes the inline values from the row it already has and fetches blobs only for the
channels the row does not carry; listing reads only checkpoint rows for small states.

Carrying unchanged small values costs at most ``INLINE_MAX`` bytes per channel per checkpoint
(constant per checkpoint, so storage stays linear). To carry them without serializing them
again, the saver remembers per (thread, namespace) the versions and bytes of the values of the
last checkpoint it wrote or read there (``KnownValues``); reading that checkpoint back then needs
no blob query either.
"""

from __future__ import annotations

import functools
import struct
from typing import Any, NamedTuple

import ormsgpack

from tether.checkpoint.base import SerializerProtocol
from tether.checkpoint.deltas import MSGPACK_TAG
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


def pack(inline: Inline) -> dict[str, Any]:
    """The inline map as stored in the checkpoint body: msgpack-tagged bytes bare, other tags
    as ``[tag, bytes]``, None for no value."""
    return {
        c: (None if v is None else v[1] if v[0] == MSGPACK_TAG else [v[0], v[1]])
        for c, v in inline.items()
    }


def unpack(stored: Any) -> Inline:
    """The inline map of a checkpoint body (empty for rows written before format 2)."""
    if not isinstance(stored, dict):
        return {}
    return {
        c: (None if v is None else (MSGPACK_TAG, v) if isinstance(v, bytes) else (v[0], v[1]))
        for c, v in stored.items()
    }


def decode_all(serde: SerializerProtocol, stored: Any) -> tuple[dict[str, Any], set[str]] | None:
    """All inline values of a row, decoded by one serializer call, and the channels the row
    covers; None when a value cannot be decoded (decode them one by one to say which)."""
    if not isinstance(stored, dict):
        return {}, set()
    raw = [(c, v) for c, v in stored.items() if isinstance(v, bytes)]
    if len(raw) + sum(1 for v in stored.values() if v is None) != len(stored):
        return None  # values of other tags: the caller decodes each
    parts = [_map_header(len(raw))]
    for channel, data in raw:
        parts.append(_packed_name(channel))
        parts.append(data)
    try:
        values = serde.loads_typed((MSGPACK_TAG, b"".join(parts)))
    except Exception:
        return None
    if not isinstance(values, dict) or len(values) != len(raw):
        return None
    return values, set(stored)


@functools.lru_cache(maxsize=4096)
def _packed_name(channel: str) -> bytes:
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
        self._entries.put_many([((thread_id, ns), (checkpoint_id, known))])

    def forget(self, thread_ids: list[str] | None = None) -> None:
        self._entries.forget(thread_ids)
