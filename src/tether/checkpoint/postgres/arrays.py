"""The step function's array arguments, written in PostgreSQL's binary array format at once.

psycopg's generic list dumper looks into every list to choose an element type and a dumper for
it, ~40 us of Python for the arrays of one step. The step function's arrays each have one
known element type, so ``step.params`` tags them (``Texts``, ``Blobs``, ``Int4s``, ``Int8s``)
and the dumpers here, registered on every connection the saver uses (``register``), write them
in one pass (~19 us a step, measured on W1's step arguments). NULL elements are allowed; text
is encoded in the connection's encoding and refused, as psycopg refuses it, when it holds NUL.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psycopg.adapt import AdaptersMap

_HEADER = struct.Struct("!iiIii")  # dimensions, has nulls, element type, length, lower bound
_LENGTH = struct.Struct("!i")
_NULL = _LENGTH.pack(-1)
_INT4 = struct.Struct("!ii")  # length 4, value
_INT8 = struct.Struct("!iq")  # length 8, value


class Texts(list[str | None]):
    """A ``text[]`` argument."""


class Blobs(list[bytes | None]):
    """A ``bytea[]`` argument."""


class Int4s(list[int | None]):
    """An ``int[]`` argument."""


class Int8s(list[int | None]):
    """A ``bigint[]`` argument."""


def _array(element_oid: int, items: list[bytes | None]) -> bytes:
    """``items`` (each element's binary form, or None) as a one-dimensional binary array."""
    nulls = None in items
    out = [_HEADER.pack(1, int(nulls), element_oid, len(items), 1)]
    for item in items:
        if item is None:
            out.append(_NULL)
        else:
            out.append(_LENGTH.pack(len(item)))
            out.append(item)
    return b"".join(out)


def nul_refused() -> Exception:
    """The error psycopg raises for text holding NUL (0x00), which PostgreSQL cannot store
    (``connection.translate`` turns it into a tether error naming the value's place)."""
    import psycopg

    return psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")


def _texts(obj: list[Any], encoding: str) -> bytes:
    try:
        joined = "".join(obj)  # all text (the usual case): written in one pass
    except TypeError:
        joined = "\x00"  # a NULL or an id of another type: element by element
    if "\x00" not in joined:
        parts = [_HEADER.pack(1, 0, 25, len(obj), 1)]
        for text in obj:
            data = text.encode(encoding)
            parts.append(_LENGTH.pack(len(data)))
            parts.append(data)
        return b"".join(parts)
    items: list[bytes | None] = []
    for item in obj:
        if item is None:
            items.append(None)
            continue
        text = item if type(item) is str else str(item)  # an id given as a UUID goes as its text
        if "\x00" in text:
            raise nul_refused()
        items.append(text.encode(encoding))
    return _array(25, items)


def _blobs(obj: list[Any], encoding: str) -> bytes:
    if None in obj:
        return _array(17, list(obj))
    header = _HEADER.pack(1, 0, 17, len(obj), 1)
    return header + b"".join([_LENGTH.pack(len(data)) + data for data in obj])


def _ints(element_oid: int, item: struct.Struct, size: int) -> Callable[[list[Any], str], bytes]:
    """The writer of an integer array whose elements are ``size`` bytes (``item`` packs one
    with its length)."""

    def write(obj: list[Any], encoding: str) -> bytes:
        if None in obj:
            return _array(
                element_oid,
                [None if v is None else v.to_bytes(size, "big", signed=True) for v in obj],
            )
        header = _HEADER.pack(1, 0, element_oid, len(obj), 1)
        return header + b"".join([item.pack(size, v) for v in obj])

    return write


WRITERS: dict[type, tuple[int, Callable[[list[Any], str], bytes]]] = {
    Texts: (1009, _texts),  # text[]
    Blobs: (1001, _blobs),  # bytea[]
    Int4s: (1007, _ints(23, _INT4, 4)),  # int[]
    Int8s: (1016, _ints(20, _INT8, 8)),  # bigint[]
}
"""For each tag, the array type's oid and the function writing a tagged list in the binary
format (text encoded in the given encoding)."""


def binary_dumper(oid: int, write: Callable[[Any, str], bytes]) -> type:
    """A psycopg dumper class sending what ``write`` makes of a value (given the connection's
    encoding) in binary, as type ``oid`` (0: no type, the statement casts it). psycopg is
    imported here, when a saver first registers its dumpers, not with this module."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class _BinaryDumper(Dumper):
        format = Format.BINARY

        def __init__(self, cls: type, context: Any = None) -> None:
            super().__init__(cls, context)
            self._encoding = self.connection.info.encoding if self.connection else "utf-8"

        def dump(self, obj: Any) -> bytes:
            return write(obj, self._encoding)

    _BinaryDumper.oid = oid
    return _BinaryDumper


@functools.cache
def _dumpers() -> dict[type, type]:
    """psycopg's dumper of each tag."""
    return {tag: binary_dumper(oid, write) for tag, (oid, write) in WRITERS.items()}


def register(adapters: AdaptersMap) -> None:
    """Teach ``adapters`` (a connection's) to send the tagged arrays."""
    for tag, dumper in _dumpers().items():
        adapters.register_dumper(tag, dumper)


TAGS: dict[str, type[list[Any]]] = {"text": Texts, "bytea": Blobs, "int": Int4s, "bigint": Int8s}
"""The tag for an array of each element type the step function takes."""
