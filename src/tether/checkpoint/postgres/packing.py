"""Blob and write values compressed by tether before they reach PostgreSQL.

PostgreSQL compresses a row only when it exceeds ~2 kB (``TOAST_TUPLE_THRESHOLD``, fixed at
build time), and tether's values are a few hundred bytes: a message delta or a task's write of
~250 B, each repeating the same keys (``additional_kwargs``, message class names). Deflate with
a preset dictionary of those keys (``ZDICT``) makes them a third of that (W2: deltas 388 -> 124 B,
message writes 225 -> 52 B on average). Checkpoint bodies are not compressed: deflating them
cost ~11% more client instructions per W1 invoke (docs/decisions.md), and a step's latency is
what issue 9's W1 targets judge.

Stored form (schema v6; rows of earlier versions, and values that do not shrink, are stored
and read as they are): type tag ``TAG + <tag>`` and the raw deflate stream of the value's bytes
(never a large value's frame, ``large.TAG_PREFIX``: its pieces are stored once already).

``ZDICT`` is part of the stored format: changing it makes every compressed row unreadable
(``tests/postgres/test_packed_storage.py`` pins its digest).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from tether.checkpoint import large
from tether.errors import CorruptDataError

TAG = "z+"
SMALLEST = 48
"""Values shorter than this are stored as they are (deflate's few bytes of framing and a
tag prefix would eat what it saves)."""

ZDICT = bytes.fromhex(
    "ac746f6f6c5f63616c6c5f6964a86172746966616374a6737461747573a773756363657373a76578616d706c"
    "65b0746f6f6c5f63616c6c5f6368756e6b73d9286c616e67636861696e5f636f72652e6d657373616765732e"
    "746f6f6c3a546f6f6c4d657373616765d92c6c616e67636861696e5f636f72652e6d657373616765732e7379"
    "7374656d3a53797374656d4d657373616765d92a6c616e67636861696e5f636f72652e6d657373616765732e"
    "68756d616e3a48756d616e4d657373616765d9246c616e67636861696e5f636f72652e6d657373616765732e"
    "61693a41494d657373616765a7636f6e74656e74b16164646974696f6e616c5f6b7761726773b1726573706f"
    "6e73655f6d65746164617461a474797065a46e616d65a26964aa746f6f6c5f63616c6c73b2696e76616c6964"
    "5f746f6f6c5f63616c6c73ae75736167655f6d65746164617461a568756d616ea26169a4726f6c65a4757365"
    "72a9617373697374616e7487a17604b06368616e6e656c5f76657273696f6e7383a95f5f73746172745f5fb9"
    "30303030303030312e30303030303030303030303030303030a86d65737361676573b930303030303030322e"
    "30303030303030303030303030303030aa6272616e63683a746f3ab930303030303030322e30303030303030"
    "303030303030303030ad76657273696f6e735f7365656e82a95f5f696e7075745f5f80a95f5f73746172745f"
    "5f81a95f5f73746172745f5fb930303030303030312e30303030303030303030303030303030a17a18b07570"
    "64617465645f6368616e6e656c7393a95f5f73746172745f5fa86d65737361676573aa6272616e63683a746f"
    "3aa6696e6c696e6582a95f5f73746172745f5fc0aa6272616e63683a746f3ac0a4656e647391c0"
)
"""Deflate's preset dictionary: msgpack of the keys LangChain messages repeat (class names,
``additional_kwargs``, ...) then of a small tether body (``channel_versions``,
``versions_seen``, ``__start__``, ``branch:to:``, ...), the most frequent last (nearer
matches cost fewer bits). Frozen: see above."""


_PRIMED = zlib.compressobj(1, zlib.DEFLATED, -11, 4, zlib.Z_DEFAULT_STRATEGY, ZDICT)
"""A compressor with ``ZDICT`` loaded, copied for each value: a new one per value cost ~117k
instructions (setting the dictionary, clearing 64 kB of hash table), a copy of this small one
~29k (callgrind, a 400-byte body). Level 1 and a 2 kB window: on W2's rows they compress
within 3% of level 6 with a 32 kB window. Readers take any window (``_inflate``)."""


def _deflate(data: bytes) -> bytes:
    squeezer = _PRIMED.copy()
    return squeezer.compress(data) + squeezer.flush()


def _inflate(data: bytes) -> bytes:
    opener = zlib.decompressobj(-15, ZDICT)
    out = opener.decompress(data) + opener.flush()
    if not opener.eof:
        raise zlib.error("the compressed stream is truncated")
    return out


def squeeze(tag: str | None, data: bytes | None) -> tuple[str | None, bytes | None]:
    """A value's ``(tag, data)`` as stored: compressed and tagged ``TAG`` when shorter."""
    if data is None or len(data) < SMALLEST or large.is_frame(tag):
        return tag, data
    packed = _deflate(data)
    if len(packed) + len(TAG) >= len(data):
        return tag, data
    return TAG + (tag or ""), packed


def unsqueeze(tag: str, data: bytes, where: str) -> tuple[str, bytes]:
    """A stored ``(tag, data)`` as it was given to ``squeeze``."""
    if not tag.startswith(TAG):
        return tag, data
    try:
        return tag[len(TAG) :], _inflate(data)
    except zlib.error as exc:
        raise CorruptDataError(f"{where}: a stored value cannot be decompressed ({exc})") from exc


def squeeze_rows(
    found: Iterable[Sequence[Any]], tag_at: int, data_at: int
) -> list[tuple[Any, ...]]:
    """``found`` with each row's ``(tag, data)`` at those positions squeezed."""
    out = []
    for row in found:
        tag, data = squeeze(row[tag_at], row[data_at])
        if data is row[data_at]:
            out.append(tuple(row))
        else:
            changed = list(row)
            changed[tag_at], changed[data_at] = tag, data
            out.append(tuple(changed))
    return out


def open_value(
    tag: str, data: bytes, thread_id: str, channel: str, version: str | None
) -> tuple[str, bytes]:
    """A blob or write row's stored ``(tag, data)`` as it was given to ``squeeze``
    (``rows.Opened``; ``version`` None for a write)."""
    if not tag.startswith(TAG):
        return tag, data
    where = (
        f"thread {thread_id!r}, write to {channel!r}"
        if version is None
        else f"thread {thread_id!r}, channel {channel!r}, version {version!r}"
    )
    return unsqueeze(tag, data, where)
