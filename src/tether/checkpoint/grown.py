"""``Grown``: the bytes of a msgpack list that extends an earlier one, joined only when needed.

A chat history's serialized value grows by a few messages per step. Building its bytes as the
stored bytes of the earlier value followed by the new elements' bytes copies the whole history
at every step. A ``Grown`` keeps the earlier value (``bytes`` or another ``Grown``) and the
appended element bytes instead, and joins them once, the first time contiguous bytes are needed
(a full row, a decode that finds no earlier list to extend); joined, it drops its link to the
earlier value. Code that builds on a ``Grown`` learns that it extends a given earlier value by
identity, without comparing bytes (``since``): ``deltas.plan`` stores only the appended bytes,
``serde.recent`` decodes only the elements appended since a list it decoded.

Only tether's own code handles a ``Grown`` (``appends.dump_grown`` makes them for tether's msgpack
serializer); ``bytes(grown)`` gives the bytes, byte for byte what serializing the list gives.
"""

from __future__ import annotations

import struct

MAX_WALK = 32
"""``since`` looks this many values back at most (a step adds one link per list it extends)."""


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


def header_size(count: int) -> int:
    """Bytes of ``array_header(count)``."""
    return 1 if count < 16 else 3 if count < 0x10000 else 5


class Grown:
    """A msgpack list's bytes: the list ``base`` with ``added`` elements appended, whose bytes
    are ``tail``. Immutable as a value; joining it only changes how it is held."""

    __slots__ = ("_base", "_data", "_tail", "count", "size")

    def __init__(self, base: bytes | Grown, tail: bytes, added: int) -> None:
        span = count_of(base)
        if span is None:
            raise ValueError("a Grown must extend a msgpack list")
        self._base: bytes | Grown | None = base
        self._tail: bytes | None = tail
        self._data: bytes | None = None
        self.count = span[0] + added
        """Elements of the list."""
        self.size = header_size(self.count) + len(base) - span[1] + len(tail)
        """Length of the bytes."""

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        data = self._data
        if data is None:
            data = self._data = self.join()
            self._base = self._tail = None  # the earlier values may now be freed
        return data

    def join(self) -> bytes:
        """The bytes, joined anew (``bytes()`` joins once and keeps them)."""
        data = self._data
        if data is not None:
            return data
        tails: list[bytes] = []
        node: bytes | Grown = self
        while isinstance(node, Grown):
            base, tail, data = node._base, node._tail, node._data
            if data is not None:
                node = data
                break
            if base is None or tail is None:  # joined by another thread meanwhile
                node = bytes(node)
                break
            tails.append(tail)
            node = base
        root = bytes(node)
        span = array_span(root)
        if span is None:
            raise ValueError("a Grown extends bytes that are not a msgpack list")
        tails.reverse()
        return b"".join((array_header(self.count), memoryview(root)[span[1] :], *tails))

    def bases(self) -> list[bytes | Grown]:
        """The values this one was built on, newest first, at most ``MAX_WALK`` back."""
        found: list[bytes | Grown] = []
        node = self
        while len(found) < MAX_WALK:
            base = node._base
            if base is None:
                break
            found.append(base)
            if not isinstance(base, Grown):
                break
            node = base
        return found

    def since(self, earlier: object) -> tuple[int, bytes] | None:
        """``(count, element bytes)`` appended to ``earlier`` (by identity: one of the values
        this one was built on, at most ``MAX_WALK`` back), or None if it is not found."""
        tails: list[bytes] = []
        node = self
        for _ in range(MAX_WALK):
            base, tail = node._base, node._tail
            if base is None or tail is None:
                return None
            tails.append(tail)
            if base is earlier:
                span = count_of(base)
                if span is None:
                    return None
                tails.reverse()
                return self.count - span[0], tails[0] if len(tails) == 1 else b"".join(tails)
            if not isinstance(base, Grown):
                return None
            node = base
        return None


def flat(data: bytes | Grown) -> bytes:
    """``data`` as ``bytes`` (a ``Grown`` joined, once)."""
    return bytes(data) if isinstance(data, Grown) else data


def count_of(data: bytes | Grown) -> tuple[int, int] | None:
    """``(element_count, header_length)`` of a msgpack list (either form), or None."""
    if isinstance(data, Grown):
        return data.count, header_size(data.count)
    return array_span(data)
