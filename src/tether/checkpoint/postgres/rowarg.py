"""The step function's one argument: a composite value, written in PostgreSQL's binary format.

Since schema v7 a step's values reach the step function as one argument of a composite type
(``step``) instead of 26 or 47: the server parses, analyzes and plans the call statement anew
each time (an unnamed statement, so PgBouncer in transaction mode works), and each argument
cost it ~6,000 instructions of that whatever its value; the composite's fields are read by
``record_recv`` at ~2,000 each. Writing the record costs the client ~40,000 instructions more
than writing the separate arguments (callgrind, a W1 step's values: 116k -> 156k).

A ``Row`` is the field values in order with their types' oids (``OIDS``); ``write`` lays it out
as ``record_recv`` reads it: the field count, then per field its type's oid and its length
(-1 for NULL) and its binary value. Text is encoded in the connection's encoding and refused, as
psycopg refuses it, when it holds NUL; arrays are the tagged lists of ``arrays``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tether.checkpoint.postgres import arrays

if TYPE_CHECKING:
    from psycopg.adapt import AdaptersMap

OIDS = {
    "text": 25,
    "bigint": 20,
    "float8": 701,
    "bytea": 17,
    "jsonb": 3802,
    "text[]": 1009,
    "bytea[]": 1001,
    "int[]": 1007,
    "bigint[]": 1016,
}
"""The oid of each type a step function's field has."""

_COUNT = struct.Struct("!i")
_FIELD = struct.Struct("!Ii")  # type oid, length
_INT8_FIELD = struct.Struct("!Iiq")
_FLOAT8_FIELD = struct.Struct("!Iid")
_JSONB_VERSION = b"\x01"
_NULL_FIELDS = {oid: _FIELD.pack(oid, -1) for oid in OIDS.values()}


class Row(list[Any]):
    """The values of a composite argument's fields, in order, and their types' oids."""

    __slots__ = ("oids",)

    def __init__(self, values: Iterable[Any], oids: tuple[int, ...]) -> None:
        super().__init__(values)
        self.oids = oids


def write(row: Row, encoding: str) -> bytes:
    """``row`` in the binary record format (``record_recv``'s). The oids are literals here:
    a global's lookup for each comparison cost more than the rest of a field's work."""
    out = [_COUNT.pack(len(row))]
    append = out.append
    field = _FIELD.pack
    nulls = _NULL_FIELDS
    for value, oid in zip(row, row.oids):  # noqa: B905 - a Row has as many oids as values
        if value is None:
            append(nulls[oid])
        elif oid == 25 and type(value) is str:  # text
            if "\x00" in value:
                raise arrays.nul_refused()
            data = value.encode(encoding)
            append(field(25, len(data)) + data)
        elif oid == 20:  # bigint
            if not -(2**63) <= value < 2**63:
                raise _out_of_range(value)
            append(_INT8_FIELD.pack(20, 8, value))
        elif oid == 701:  # float8
            append(_FLOAT8_FIELD.pack(701, 8, value))
        elif oid == 17:  # bytea
            append(field(17, len(value)) + value)
        elif oid in (3802, 25):  # jsonb, or an id given as a UUID, which goes as its text
            text = value if type(value) is str else str(value)
            if "\x00" in text:
                raise arrays.nul_refused()
            data = text.encode(encoding)
            if oid == 3802:
                data = _JSONB_VERSION + data
            append(field(oid, len(data)) + data)
        else:
            array_oid, writer = arrays.WRITERS[type(value)]
            if array_oid != oid:
                raise TypeError(f"a {type(value).__name__} cannot fill a field of type {oid}")
            data = writer(value, encoding)
            append(field(oid, len(data)) + data)
    return b"".join(out)


def _out_of_range(value: int) -> Exception:
    import psycopg

    return psycopg.DataError(f"{value} is out of range for a bigint")


@functools.cache
def _dumper() -> type:
    """psycopg's dumper of a ``Row``: in binary, with no type (the statement casts it to the
    step function's composite type)."""
    return arrays.binary_dumper(0, write)


def register(adapters: AdaptersMap) -> None:
    """Teach ``adapters`` (a connection's) to send a ``Row`` through a cursor."""
    adapters.register_dumper(Row, _dumper())
