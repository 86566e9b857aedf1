"""Append-only channels stored as deltas: only the new tail of a list is written.

Works on serialized bytes, so it is exact: a msgpack array whose element bytes start with the
previous value's element bytes *is* that value with elements appended. A delta row holds the
tail's element bytes and their count; a read concatenates a full blob with the tails of its
chain and decodes once. Backends decide where rows live; this module only does the arithmetic.
"""

from __future__ import annotations

import dataclasses
import struct

MSGPACK_TAG = "msgpack"

FULL = 0
DELTA = 1
EMPTY = 2

MAX_CHAIN = 512
"""A delta chain longer than this gets a full blob, so a read touches a bounded number of rows."""
MIN_FULL_BYTES = 4096
"""Below this size a value is cheap enough to store in full every time."""


def array_span(data: bytes) -> tuple[int, int] | None:
    """``(element_count, header_length)`` of a msgpack array, or None if ``data`` is not one."""
    if not data:
        return None
    first = data[0]
    if 0x90 <= first <= 0x9F:
        return first & 0x0F, 1
    if first == 0xDC and len(data) >= 3:
        return struct.unpack_from(">H", data, 1)[0], 3
    if first == 0xDD and len(data) >= 5:
        return struct.unpack_from(">I", data, 1)[0], 5
    return None


def array_header(count: int) -> bytes:
    """The msgpack header of an array of ``count`` elements."""
    if count < 16:
        return bytes([0x90 | count])
    if count < 0x10000:
        return b"\xdc" + struct.pack(">H", count)
    return b"\xdd" + struct.pack(">I", count)


@dataclasses.dataclass(frozen=True, slots=True)
class Written:
    """What a backend remembers of the last blob it wrote for a channel, to extend it later."""

    version: str
    body: bytes
    """The element bytes of the whole value (the array without its header)."""
    count: int
    depth: int
    """Delta rows between this version and its full blob (0 for a full blob)."""
    chain_bytes: int
    """Bytes of those delta rows."""
    full_bytes: int
    """Size of the full blob the chain starts from."""


@dataclasses.dataclass(frozen=True, slots=True)
class BlobRow:
    """A row to store: ``kind`` FULL (``data`` is the serialized value) or DELTA (``data`` is
    the tail's element bytes, ``count`` elements, extending ``base_version``)."""

    kind: int
    type_tag: str
    data: bytes
    base_version: str | None
    count: int
    depth: int
    chain_bytes: int


def plan(
    version: str, type_tag: str, data: bytes, previous: Written | None
) -> tuple[BlobRow, Written | None]:
    """Decide how to store a channel's new serialized value: a delta on ``previous`` or in full.

    Returns the row and what to remember for the next write (None when the value cannot be
    extended later, e.g. it is not a list).
    """
    span = array_span(data) if type_tag == MSGPACK_TAG else None
    if span is None:
        return BlobRow(FULL, type_tag, data, None, 0, 0, 0), None
    count, header = span
    body = data[header:]
    if previous is not None and _extends(previous, count, body):
        tail = body[len(previous.body) :]
        chain_bytes = previous.chain_bytes + len(tail)
        depth = previous.depth + 1
        budget = max(previous.full_bytes, MIN_FULL_BYTES)
        if depth <= MAX_CHAIN and chain_bytes <= budget:
            row = BlobRow(
                DELTA, type_tag, tail, previous.version, count - previous.count, depth, chain_bytes
            )
            remembered = Written(version, body, count, depth, chain_bytes, previous.full_bytes)
            return row, remembered
    row = BlobRow(FULL, type_tag, data, None, count, 0, 0)
    return row, Written(version, body, count, 0, 0, len(data))


def _extends(previous: Written, count: int, body: bytes) -> bool:
    return (
        count > previous.count and len(body) > len(previous.body) and body.startswith(previous.body)
    )


def assemble(chain: list[tuple[int, str, bytes, int]]) -> tuple[str, bytes]:
    """Rebuild serialized bytes from rows ``(kind, type_tag, data, count)``, full blob first."""
    kind, tag, data, _ = chain[0]
    if kind != FULL:
        raise ValueError("a delta chain must start with a full blob")
    if len(chain) == 1:
        return tag, data
    span = array_span(data)
    if span is None:
        raise ValueError("a delta extends a blob that is not a list")
    count, header = span
    parts = [data[header:]]
    for _kind, _tag, tail, tail_count in chain[1:]:
        parts.append(tail)
        count += tail_count
    return tag, array_header(count) + b"".join(parts)


def remembered_from_chain(
    version: str, tag: str, data: bytes, depth: int, chain_bytes: int, full_bytes: int
) -> Written | None:
    """What to remember after reading a value, so the next write can extend it."""
    span = array_span(data) if tag == MSGPACK_TAG else None
    if span is None:
        return None
    count, header = span
    return Written(version, data[header:], count, depth, chain_bytes, full_bytes)
