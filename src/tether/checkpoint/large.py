"""Large values stored once: big strings and byte strings cut out of serialized values.

The same large value reaches storage several times in one run: as the run's input (the
``__start__`` channel), as the write of the task that produced it, and as the channel's value in
the next checkpoint. Their serialized bytes differ around it but contain it verbatim, so a
backend stores each large msgpack ``str``/``bin``/``ext`` payload once, as a *piece* named by
its SHA-256, and keeps the rest (the *frame*) where the value would have gone.

Works on bytes only: ``split`` walks msgpack headers (never decoding a value) and gives up on
values it cannot walk cheaply; ``join`` puts the pieces back. A frame is a msgpack map
``{"v": 1, "at": [[offset, length, digest], ...], "rest": bytes}``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping

import ormsgpack

LARGE_VALUE = 256 * 1024
"""Values smaller than this are stored as they are."""
PIECE = 64 * 1024
"""Payloads at least this big are cut out of a large value as pieces."""
MAX_HEADERS = 50_000
"""A value with more items than this is stored as it is (walking it would cost too much)."""
TAG_PREFIX = "pieces+"
"""Prefix of the type tag of a stored frame: ``pieces+msgpack`` holds a ``msgpack`` value."""

_FIXED = {0xC0: 0, 0xC2: 0, 0xC3: 0, 0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
_FIXED.update({0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8})
_FIXED.update({0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17})  # fixext: type byte + data
_SIZED = {0xC4: (1, 0), 0xC5: (2, 0), 0xC6: (4, 0), 0xD9: (1, 0), 0xDA: (2, 0), 0xDB: (4, 0)}
_SIZED.update({0xC7: (1, 1), 0xC8: (2, 1), 0xC9: (4, 1)})  # ext: length, then a type byte
_COUNTED = {0xDC: 2, 0xDD: 4, 0xDE: 2, 0xDF: 4}
_UNPACK = {1: ">B", 2: ">H", 4: ">I"}


def payloads(data: bytes, minimum: int) -> list[tuple[int, int]] | None:
    """``(offset, length)`` of every str/bin/ext payload of at least ``minimum`` bytes in a
    sequence of msgpack items, or None when ``data`` is not msgpack or has too many items."""
    found: list[tuple[int, int]] = []
    pos, end, headers = 0, len(data), 0
    while pos < end:
        headers += 1
        if headers > MAX_HEADERS:
            return None
        first = data[pos]
        pos += 1
        if first <= 0x7F or first >= 0xE0 or 0x80 <= first <= 0x9F or 0xDC <= first <= 0xDF:
            pos += _COUNTED.get(first, 0)  # ints, containers: children follow as items
            continue
        if 0xA0 <= first <= 0xBF:
            length = first & 0x1F
        elif first in _FIXED:
            pos += _FIXED[first]
            continue
        elif first in _SIZED:
            size, type_byte = _SIZED[first]
            if pos + size > end:
                return None
            length = struct.unpack_from(_UNPACK[size], data, pos)[0]
            pos += size + type_byte
        else:
            return None  # 0xC1 is never used
        if length >= minimum:
            found.append((pos, length))
        pos += length
    return found if pos == end else None


def split(data: bytes) -> tuple[bytes, dict[str, bytes]] | None:
    """``(frame, {digest: piece})`` for a large value with large payloads, else None."""
    if len(data) < LARGE_VALUE:
        return None
    spans = payloads(data, PIECE)
    if not spans:
        return None
    view = memoryview(data)
    pieces: dict[str, bytes] = {}
    at: list[list[int | str]] = []
    rest: list[bytes] = []
    last = 0
    for offset, length in spans:
        piece = view[offset : offset + length]
        digest = hashlib.sha256(piece).hexdigest()
        pieces.setdefault(digest, bytes(piece))
        at.append([offset, length, digest])
        rest.append(bytes(view[last:offset]))
        last = offset + length
    rest.append(bytes(view[last:]))
    frame = ormsgpack.packb({"v": 1, "at": at, "rest": b"".join(rest)})
    return frame, pieces


def frame_digests(frame: bytes) -> list[str]:
    """The digests a frame needs."""
    return [str(entry[2]) for entry in ormsgpack.unpackb(frame)["at"]]


def join(frame: bytes, pieces: Mapping[str, bytes]) -> bytes:
    """The original bytes of a frame; raises KeyError naming a missing piece."""
    parsed = ormsgpack.unpackb(frame)
    rest: bytes = parsed["rest"]
    out: list[bytes] = []
    taken = 0  # bytes of ``rest`` used so far
    done = 0  # bytes of the original rebuilt so far
    for offset, length, digest in parsed["at"]:
        gap = offset - done
        out.append(rest[taken : taken + gap])
        taken += gap
        piece = pieces[digest]
        if len(piece) != length:
            raise KeyError(f"piece {digest} has {len(piece)} bytes, expected {length}")
        out.append(piece)
        done = offset + length
    out.append(rest[taken:])
    return b"".join(out)


Row = tuple[object, ...]


def store_rows(
    rows: Iterable[Row], tag_at: int, data_at: int, save: Callable[[dict[str, bytes]], None]
) -> list[Row]:
    """Rows with every large value replaced by its frame (tag prefixed with ``TAG_PREFIX``);
    ``save`` receives the pieces to store (a backend inserts those it does not have)."""
    out: list[Row] = []
    for row in rows:
        data = row[data_at]
        # (the size test is split's own first test, made here without a call per small row)
        found = split(data) if isinstance(data, bytes) and len(data) >= LARGE_VALUE else None
        if found is None:
            out.append(row)
            continue
        frame, pieces = found
        save(pieces)
        changed = list(row)
        changed[tag_at] = TAG_PREFIX + str(row[tag_at] or "")
        changed[data_at] = frame
        out.append(tuple(changed))
    return out


def is_frame(tag: str | None) -> bool:
    return bool(tag) and str(tag).startswith(TAG_PREFIX)
