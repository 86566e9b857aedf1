"""The storage model every backend shares: how a channel's new value is stored, and read back.

A channel value is stored as *rows* keyed by (channel, version). Each row is one of:

- ``FULL``: the serialized value;
- ``DELTA``: the value is a list that *grew*: the row holds only the new elements' bytes (and
  their count) on top of the row at ``base_version``;
- ``REF``: the value is *unchanged*: its bytes equal those of the row at ``base_version``, so the
  row holds no bytes at all (an append of nothing, a node that returns the whole state);
- ``EMPTY``: the channel has no value at this version.

Anything else (a list that shrank or was rewritten, a replaced value) is stored ``FULL``.

The decision works on serialized bytes, so it is exact: a msgpack array whose element bytes start
with the previous value's element bytes *is* that value with elements appended, and equal bytes
are the same value. A read starts at the wanted row and follows ``base_version`` down to a
``FULL`` row, then concatenates the tails and decodes once. Chains are bounded: a full copy is
written once the deltas since the last one outweigh it (or after ``MAX_CHAIN`` rows), so storage
grows linearly with the number of writes and a read touches at most about twice a value's size.

A backend keeps, per (thread, namespace, channel), a ``Written`` (what it last stored, see
``WriteCache``), asks ``plan`` how to store each new value, stores the returned ``BlobRow``, and
reads values back with ``Chain``. Where rows live (dicts, tables, hashes) is the backend's
business; this module holds all of the arithmetic and none of the I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from tether.checkpoint.grown import Grown, array_header, array_span, flat
from tether.checkpoint.thread_cache import ThreadCache

MSGPACK_TAG = "msgpack"

FULL = 0
DELTA = 1
EMPTY = 2
REF = 3
CHAINED = (DELTA, REF)
"""Kinds whose row continues at ``base_version``."""

MAX_CHAIN = 512
"""A chain longer than this gets a full blob, so a read touches a bounded number of rows."""
MIN_FULL_BYTES = 4096
"""Deltas may add up to this many bytes even on top of a smaller full blob."""


class Written(NamedTuple):
    """What a backend remembers of a channel's last stored value, to reference or extend it."""

    version: str
    """The version of the row that holds these bytes (never a ``REF`` row)."""
    tag: str
    body: bytes | Grown
    """The whole serialized value (a ``Grown`` when it was built by appending, not joined)."""
    depth: int
    """Delta rows between ``version`` and its full blob (0 for a full blob)."""
    chain_bytes: int
    """Bytes of those delta rows."""
    full_bytes: int
    """Size of the full blob the chain starts from."""
    latest: str = ""
    """The newest version known to hold these bytes: ``version`` or a ``REF`` row to it."""

    @property
    def data(self) -> bytes:
        """The whole serialized value as ``bytes`` (joined on first use if it is a ``Grown``)."""
        return flat(self.body)


class BlobRow(NamedTuple):
    """A row to store (see the module docstring for ``kind``). ``added`` is the number of
    elements a ``DELTA`` adds; ``depth`` and ``chain_bytes`` describe the chain below it."""

    kind: int
    type_tag: str
    data: bytes
    base_version: str | None
    added: int
    depth: int
    chain_bytes: int


EMPTY_ROW = BlobRow(EMPTY, "", b"", None, 0, 0, 0)


def plan(
    version: str, type_tag: str, data: bytes | Grown, previous: Written | None
) -> tuple[BlobRow, Written]:
    """Decide how to store a channel's new serialized value, given what was last stored.

    Returns the row and what to remember for the next write. ``previous`` may belong to any
    earlier version (a fork, another branch): the row is correct whichever it is, as long as the
    backend still holds ``previous.version`` (else it stores ``full_row(...)`` instead). A
    ``Grown`` built on ``previous.body`` is known to extend it: no bytes are compared.
    """
    if previous is None or previous.depth >= MAX_CHAIN or previous.tag != type_tag:
        return full_row(version, type_tag, data)
    tail = None
    if isinstance(data, Grown):
        tail = data.since(previous.body)
        if tail is None:
            data = bytes(data)
    if tail is None:
        old = previous.body
        if isinstance(old, Grown):
            old = bytes(old)
        if old == data:
            tail = 0, b""
        elif type_tag == MSGPACK_TAG and data and data[0] in _ARRAY_FIRST:  # type: ignore[index]
            tail = appended(old, data)  # type: ignore[arg-type]
    if tail is None:
        return full_row(version, type_tag, data)
    elements, added = tail
    if not elements:  # equal bytes
        depth, chain_bytes = previous.depth + 1, previous.chain_bytes
        ref = _row((REF, type_tag, b"", previous.version, 0, depth, chain_bytes))
        return ref, _written((*previous[:6], version))  # previous, now also at ``version``
    chain_bytes = previous.chain_bytes + len(added)
    if chain_bytes > max(previous.full_bytes, MIN_FULL_BYTES):
        return full_row(version, type_tag, data)
    depth = previous.depth + 1
    row = _row((DELTA, type_tag, added, previous.version, elements, depth, chain_bytes))
    return row, _written(
        (version, type_tag, data, depth, chain_bytes, previous.full_bytes, version)
    )


def full_row(version: str, type_tag: str, data: bytes | Grown) -> tuple[BlobRow, Written]:
    """The row storing ``data`` in full, and what to remember of it."""
    if isinstance(data, Grown):
        data = bytes(data)
    return (
        _row((FULL, type_tag, data, None, 0, 0, 0)),
        _written((version, type_tag, data, 0, 0, len(data), version)),
    )


_ARRAY_FIRST = frozenset((*range(0x90, 0xA0), 0xDC, 0xDD))
"""First bytes of a msgpack array: only an array can have elements appended."""
_row = functools.partial(tuple.__new__, BlobRow)
"""``BlobRow`` from a tuple of all its fields, without the generated ``__new__``'s call."""
_written = functools.partial(tuple.__new__, Written)
"""``Written`` likewise (all seven fields given)."""


def appended(old: bytes, new: bytes) -> tuple[int, bytes] | None:
    """``(count, element bytes)`` appended when list ``new`` extends list ``old``, else None."""
    old_span, new_span = array_span(old), array_span(new)
    if old_span is None or new_span is None or new_span[0] <= old_span[0]:
        return None
    old_body = memoryview(old)[old_span[1] :]  # compared in place: a slice would copy it
    start = new_span[1]
    end = start + len(old_body)
    if len(new) <= end or not new.startswith(old_body, start):
        return None
    return new_span[0] - old_span[0], new[end:]


class StoredRow(NamedTuple):
    """A stored row as a reader sees it."""

    version: str
    kind: int
    type_tag: str
    data: bytes
    added: int
    """Elements a ``DELTA`` row adds."""


class Chain:
    """The rows of one value, from the wanted version down to its full blob (or an EMPTY row).

    Add rows in any order with their distance from the wanted row (0 for the wanted row).
    """

    __slots__ = ("_ordered", "_rows")

    def __init__(self) -> None:
        self._rows: list[tuple[int, StoredRow]] = []
        self._ordered: list[StoredRow] | None = None

    def add(self, distance: int, row: StoredRow) -> None:
        self._rows.append((distance, row))
        self._ordered = None

    def __bool__(self) -> bool:
        return bool(self._rows)

    def rows(self) -> list[StoredRow]:
        """Rows from the full blob up to the wanted one."""
        if self._ordered is None:
            rows = self._rows
            if len(rows) > 1:
                rows = sorted(rows, key=lambda r: r[0], reverse=True)
            self._ordered = [row for _, row in rows]
        return self._ordered

    def value(self) -> tuple[str, bytes] | None:
        """The serialized value ``(tag, bytes)``, or None for an EMPTY channel.

        Raises ValueError when the rows do not form a chain that starts with a full blob.
        """
        rows = self.rows()
        base = rows[0]
        if base.kind == EMPTY:
            return None
        if base.kind != FULL:
            raise ValueError(f"the chain starts at version {base.version!r}, not a full blob")
        tails = [row for row in rows[1:] if row.kind == DELTA]
        if not tails:
            return base.type_tag, base.data
        span = array_span(base.data)
        if span is None:
            raise ValueError("a delta extends a value that is not a list")
        count, header = span
        parts = [memoryview(base.data)[header:]]
        for row in tails:
            parts.append(memoryview(row.data))
            count += row.added
        return base.type_tag, array_header(count) + b"".join(parts)

    def target(self) -> str:
        """The version of the newest row that holds bytes: the wanted one, or what its REF names
        (a REF always names a row that is not a REF, so it can only be the wanted row)."""
        rows = self.rows()
        return rows[-2].version if rows[-1].kind == REF and len(rows) > 1 else rows[-1].version

    def written(self) -> Written | None:
        """What to remember after reading this value, so the next write can build on it."""
        if not self._rows:
            return None
        try:
            found = self.value()
        except ValueError:
            return None
        if found is None:
            return None
        rows = self.rows()
        deltas = [row for row in rows if row.kind == DELTA]
        return Written(
            self.target(),
            found[0],
            found[1],
            len(deltas),
            sum(len(row.data) for row in deltas),
            len(rows[0].data),
            rows[-1].version,
        )


def walk(rows: Mapping[tuple[str, str], BlobRow], channel: str, version: str) -> Chain:
    """The chain of ``(channel, version)`` in rows kept as a dict keyed ``(channel, version)``."""
    chain = Chain()
    distance = 0
    current: str | None = version
    while current is not None and distance <= MAX_CHAIN + 1:
        row = rows.get((channel, current))
        if row is None:
            break
        chain.add(distance, StoredRow(current, row.kind, row.type_tag, row.data, row.added))
        current = row.base_version if row.kind in CHAINED else None
        distance += 1
    return chain


Key = tuple[str, str, str]
"""(thread id, namespace, channel)."""


class WriteCache:
    """What was last stored per (thread, namespace, channel): bounded, thread-safe.

    ``plan`` and ``remember`` are the write path; a backend that reads a head may ``remember``
    the ``Chain.written()`` of its values so the next write can reference or extend them.
    """

    def __init__(self, max_entries: int | None = 1024) -> None:
        self._entries: ThreadCache[Key, Written] = ThreadCache(max_entries)

    def get(self, key: Key) -> Written | None:
        return self._entries.get(key)

    def plan(
        self, key: Key, version: str, type_tag: str, data: bytes | Grown
    ) -> tuple[BlobRow, Written]:
        return plan(version, type_tag, data, self.get(key))

    def remember(self, items: Iterable[tuple[Key, Written | None]]) -> None:
        """Remember what was stored; None (an EMPTY row) keeps the entry: a later value may
        still reference or extend the one stored before the channel was emptied."""
        self._entries.put_many((key, written) for key, written in items if written is not None)

    def forget(self, thread_ids: Iterable[str] | None = None) -> None:
        """Forget every entry, or those of the given threads."""
        self._entries.forget(thread_ids)
