"""Decoding only what was appended to a list of objects decoded shortly before.

Each run starts by reading its thread's head, which decodes the whole message list, though all
but the last few messages were decoded by the previous run's read. ``RecentLists`` keeps the
last few decoded lists (their bytes and elements); bytes that equal or extend one of them (the
same msgpack header-less element bytes, then more) decode only the added elements. The match is
on bytes, so it is exact whatever thread, version or backend the bytes came from; a ``Grown``
(``tether.checkpoint.grown``) built on the very bytes object of a kept list matches without
comparing (or joining) any bytes.

What is shared: a hit returns a *new list*. Appending to or reordering a returned list changes
nothing else. Two kinds of lists are kept:

- lists whose elements are all objects of registered classes (LangChain messages, pydantic
  models, dataclasses...) or immutable scalars: those cost a Python call per element to decode,
  and a hit returns the same element objects as the earlier read, so changing one of them in
  place changes what later reads return in this process (not what is stored);
- lists of *flat dicts* (every value a str, int, float, bool, None or bytes; a chat history of
  plain message dicts): a hit returns a fresh copy of each dict (``dict.copy``, sharing only
  the immutable keys and values), so a reader that changes a dict in place changes nothing
  else, exactly as if it had been decoded; copying costs a fraction of decoding.

Lists holding anything else (a nested dict or list, a tuple, a set, a bytearray) are never kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import chain
from typing import Any, NamedTuple

from tether.checkpoint.deltas import appended, array_header
from tether.checkpoint.grown import Grown, flat

MIN_BYTES = 1024
"""Smaller lists decode fast enough: they are not kept."""
MAX_ENTRIES = 16

_PLAIN = frozenset({dict, list, tuple, set, bytearray})
_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})
_DICTS = frozenset({dict})

SHARED = 1
"""A kept list whose elements are handed out as they are."""
FLAT = 2
"""A kept list of flat dicts, handed out as copies."""


def _kind(items: list[Any]) -> int | None:
    """How a list of these elements may be kept (``SHARED``, ``FLAT``), or None if it may not."""
    types = frozenset(map(type, items))
    if _PLAIN.isdisjoint(types):
        return SHARED
    if types == _DICTS and _ATOMIC.issuperset(
        map(type, chain.from_iterable(map(dict.values, items)))
    ):
        return FLAT
    return None


def _copy(kind: int, elements: list[Any], length: int) -> list[Any]:
    """A new list of the first ``length`` elements, flat dicts copied (what a reader gets)."""
    part = elements[:length]
    return list(map(dict.copy, part)) if kind == FLAT else part


class _Entry(NamedTuple):
    data: bytes | Grown
    kind: int
    """``SHARED`` or ``FLAT``."""
    length: int
    """How many of ``elements`` ``data`` holds (the list may have grown since, for a longer
    ``data`` that extends this one)."""
    elements: list[Any]
    """Private: never handed out, only grown at its end, and only under the lock."""


class RecentLists:
    """The last ``MAX_ENTRIES`` decoded lists that may be kept (bytes are compared, never
    hashed: hashing a long list's bytes costs more than comparing them).

    A list that extends a kept one grows that entry's element list in place (the entry is
    then replaced by the longer one), so a hit touches only the added elements plus the one
    copy it returns. A reader that found the shorter entry before it was replaced still gets
    its own length; one that would grow it differently copies instead."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []  # oldest first
        self._lock = threading.Lock()

    def decode(self, raw: bytes | Grown, unpack: Callable[[bytes], Any]) -> Any:
        """``unpack(raw)``, reusing the elements of an earlier list ``raw`` equals or extends."""
        if len(raw) < MIN_BYTES:
            return unpack(flat(raw))
        found = self._find_grown(raw) if isinstance(raw, Grown) else None
        if found is None:
            data = flat(raw)
            if not (0x90 <= data[0] <= 0x9F or data[0] in (0xDC, 0xDD)):
                return unpack(data)
            found = self._find(data)
        entry, added, tail = found
        if entry is None:
            value = unpack(flat(raw))
            kind = _kind(value) if type(value) is list else None
            if kind is not None:  # keep a private copy: the caller may change what it got
                self._keep(None, _Entry(raw, kind, len(value), _copy(kind, value, len(value))))
            return value
        kind = entry.kind
        if not added:
            with self._lock:
                return _copy(kind, entry.elements, entry.length)
        new = unpack(array_header(added) + tail)
        if _kind(new) != kind:
            with self._lock:
                return [*_copy(kind, entry.elements, entry.length), *new]
        with self._lock:
            elements = entry.elements
            if len(elements) == entry.length:  # nobody grew it: grow it
                elements.extend(new)
            else:  # another reader grew it first, maybe with other elements: copy
                elements = [*elements[: entry.length], *new]
            value = _copy(kind, elements, len(elements))
        self._keep(entry, _Entry(raw, kind, len(elements), elements))
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _find(self, raw: bytes) -> tuple[_Entry | None, int, bytes]:
        """The entry ``raw`` equals or extends (newest first), with the added count and bytes."""
        with self._lock:
            entries = list(self._entries)
        for entry in reversed(entries):
            data = flat(entry.data)
            if data == raw:
                return entry, 0, b""
            found = appended(data, raw)
            if found is not None:
                return entry, found[0], found[1]
        return None, 0, b""

    def _find_grown(self, raw: Grown) -> tuple[_Entry | None, int, bytes] | None:
        """The newest entry holding ``raw`` or a value ``raw`` was built on (by identity)."""
        with self._lock:
            entries = list(self._entries)
        bases = {id(base) for base in raw.bases()}
        for entry in reversed(entries):
            if entry.data is raw:
                return entry, 0, b""
            if id(entry.data) in bases:
                found = raw.since(entry.data)
                if found is not None:
                    return entry, found[0], found[1]
        return None

    def _keep(self, old: _Entry | None, entry: _Entry) -> None:
        """Keep ``entry`` as the newest, in place of ``old`` (the entry it extends)."""
        with self._lock:
            kept = [e for e in self._entries if e is not old and e.data is not entry.data]
            kept.append(entry)
            self._entries = kept[-MAX_ENTRIES:]
