"""One statement sent straight through libpq, past psycopg's cursor: the step call.

Every step of a run makes one call of the step function (``step``). Through a cursor,
``execute`` and ``fetchone`` cost the client ~270,000 instructions a call (a cursor, a
transformer choosing a dumper for each of 26 arguments, the query parsed for its placeholders,
a result set, a row maker), more than the rest of the saver's work for the step. Here the
arguments are written in PostgreSQL's binary format by type (``dump``: text, bigint, float8,
bytea, the tagged arrays of ``arrays`` and the composite rows of ``rowarg``), sent with
``PGconn.send_query_params`` under the connection's lock, and the answer read from the
``PGresult`` as psycopg's own commands do (``generators.execute``, waited on by the
connection). On the wire it is the cursor's unnamed statement (PgBouncer in transaction mode
sees the same thing), but for integers declared bigint, the type of every integer parameter of
the step function (psycopg picks the smallest).

Two steps stored at once (``call_all``) go the same way in libpq's pipeline mode, ending in one
Sync: one round trip, one implicit transaction, as psycopg's pipeline would send them.

Errors come as psycopg raises them: a server error as ``errors.error_from_result`` makes it
(the same class, the same diagnostics), a dropped connection as ``OperationalError`` with the
connection marked broken, so the callers' mapping to tether errors is unchanged.

``call`` and ``call_all`` return ``NOT_SENT`` (and send nothing) when they cannot take the call:
this psycopg lacks the undocumented pieces used here (``USABLE``), the connection prepares
statements (``prepare=True``) or is not in autocommit (a caller's connection: psycopg would open
its transaction first), an argument has a type ``dump`` does not write, or (``call_all``) libpq
has no pipeline mode. The caller then uses the cursor.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors, pq

try:  # psycopg's own command generators: not a documented API, so their absence is tolerated
    from psycopg import generators
except ImportError:  # pragma: no cover - every call then goes through the cursor
    generators = None  # type: ignore[assignment]

from tether.checkpoint.postgres import arrays, rowarg

NOT_SENT: Any = object()
"""``call``'s answer when it did not send the statement."""

_INT8 = struct.Struct("!q")
_FLOAT8 = struct.Struct("!d")
_TEXT_OID, _INT8_OID, _FLOAT8_OID, _BYTEA_OID = 25, 20, 701, 17
_OK = pq.ConnStatus.OK
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
PIPELINE = psycopg.Pipeline.is_supported()
USABLE = (
    generators is not None
    and all(hasattr(generators, name) for name in ("execute", "send", "fetch_many"))
    and hasattr(psycopg.Connection, "wait")
    and hasattr(errors, "error_from_result")
)
"""Whether this psycopg has the undocumented pieces the direct call relies on
(``generators``, ``Connection.wait``, ``errors.error_from_result``; the psycopg the tests
install has them, and a test says so); without them every call goes through the cursor,
slower but the same on the wire and in its errors."""


def dump(args: Sequence[Any], encoding: str) -> tuple[list[bytes | None], list[int]] | None:
    """``args`` in the binary format and their types' oids (0 for a NULL: the server takes the
    parameter's type); None when one has a type not written here. Text holding NUL is refused
    as psycopg refuses it."""
    values: list[bytes | None] = []
    oids: list[int] = []
    for arg in args:
        kind = type(arg)
        if arg is None:
            values.append(None)
            oids.append(0)
        elif kind is str:
            if "\x00" in arg:
                raise arrays.nul_refused()
            values.append(arg.encode(encoding))
            oids.append(_TEXT_OID)
        elif kind is int:
            if not -(2**63) <= arg < 2**63:
                return None
            values.append(_INT8.pack(arg))
            oids.append(_INT8_OID)
        elif kind is float:
            values.append(_FLOAT8.pack(arg))
            oids.append(_FLOAT8_OID)
        elif kind is bytes:
            values.append(arg)
            oids.append(_BYTEA_OID)
        elif kind is rowarg.Row:
            values.append(rowarg.write(arg, encoding))
            oids.append(0)  # the statement casts it to the step function's composite type
        else:
            writer = arrays.WRITERS.get(kind)
            if writer is None:
                return None
            values.append(writer[1](arg, encoding))
            oids.append(writer[0])
    return values, oids


@functools.lru_cache(maxsize=64)
def sql(statement: str) -> bytes:
    """A statement written with psycopg's ``%b`` placeholders in libpq's ``$n`` form."""
    parts = statement.split("%b")
    return "".join(
        [parts[0], *(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))]
    ).encode()


def _takes(raw: psycopg.Connection[Any]) -> bool:
    """Whether a call on ``raw`` may go straight (see the module docstring)."""
    return USABLE and raw.prepare_threshold is None and raw.autocommit


def _dump_all(
    pgconn: Any, raw: psycopg.Connection[Any], calls: Sequence[Sequence[Any]]
) -> tuple[str, list[tuple[list[bytes | None], list[int]]]] | None:
    """The connection's encoding and each call's arguments dumped; None when one cannot be."""
    if pgconn.status != _OK:
        raise psycopg.OperationalError("the connection is closed")
    encoding = raw.info.encoding
    dumped = []
    for args in calls:
        one = dump(args, encoding)
        if one is None:
            return None
        dumped.append(one)
    return encoding, dumped


def _send(raw: psycopg.Connection[Any], statement: bytes, args: Sequence[Any]) -> Any:
    """Run ``statement`` (``$n`` placeholders) with ``args``: its last result and the
    connection's encoding, or ``NOT_SENT`` (see the module docstring)."""
    if not _takes(raw):
        return NOT_SENT
    with raw.lock:
        pgconn = raw.pgconn
        ready = _dump_all(pgconn, raw, [args])
        if ready is None:
            return NOT_SENT
        encoding, [(values, oids)] = ready
        pgconn.send_query_params(statement, values, oids, [1] * len(values))
        return raw.wait(generators.execute(pgconn))[-1], encoding


def call(raw: psycopg.Connection[Any], statement: bytes, args: Sequence[Any]) -> Any:
    """Run ``statement`` (``$n`` placeholders, one row of one column expected) with ``args``;
    the value it returned as psycopg loads it, or ``NOT_SENT`` (see the module docstring)."""
    sent = _send(raw, statement, args)
    return sent if sent is NOT_SENT else _value(raw, *sent)


def row(raw: psycopg.Connection[Any], statement: bytes, args: Sequence[Any]) -> Any:
    """Run ``statement`` (``$n`` placeholders, at most one row expected) with ``args``; the row
    as psycopg loads it (None: no row), or ``NOT_SENT``."""
    sent = _send(raw, statement, args)
    if sent is NOT_SENT:
        return NOT_SENT
    result, encoding = sent
    if result.status == _FATAL_ERROR:
        raise errors.error_from_result(result, encoding=encoding)
    if result.status != _TUPLES_OK:
        raise psycopg.InterfaceError(f"unexpected result {pq.ExecStatus(result.status).name}")
    if result.ntuples == 0:
        return None
    loader = psycopg.adapt.Transformer(raw)
    loader.set_pgresult(result)
    return loader.load_row(0, tuple)


def call_all(raw: psycopg.Connection[Any], calls: Sequence[tuple[bytes, Sequence[Any]]]) -> Any:
    """Run each statement of ``calls`` with its arguments, in one round trip: libpq's pipeline
    mode ending in one Sync, so in autocommit they run as one implicit transaction (as
    ``PgConn.together`` does through psycopg). Each call's value, or ``NOT_SENT``."""
    if not _takes(raw) or not PIPELINE:
        return NOT_SENT
    with raw.lock:
        pgconn = raw.pgconn
        ready = _dump_all(pgconn, raw, [args for _, args in calls])
        if ready is None:
            return NOT_SENT
        encoding, dumped = ready
        pgconn.enter_pipeline_mode()
        try:
            for (statement, _), (values, oids) in zip(calls, dumped, strict=True):
                pgconn.send_query_params(statement, values, oids, [1] * len(values))
            pgconn.pipeline_sync()
            raw.wait(generators.send(pgconn))
            # each call's results (ended by a NULL), then the Sync's
            results = [raw.wait(generators.fetch_many(pgconn)) for _ in range(len(calls) + 1)]
        finally:
            _leave_pipeline(raw, pgconn)
    return [_value(raw, got[-1], encoding) for got in results[:-1]]


def _leave_pipeline(raw: psycopg.Connection[Any], pgconn: Any) -> None:
    """Out of pipeline mode; a connection that cannot leave it (answers still unread after an
    interruption) is closed, so the pool replaces it."""
    if pgconn.pipeline_status == pq.PipelineStatus.OFF:
        return
    try:
        pgconn.exit_pipeline_mode()
    except psycopg.Error:
        raw.close()


def _value(raw: psycopg.Connection[Any], result: Any, encoding: str) -> Any:
    """The one value of a one-row, one-column ``result``; a server error raised as psycopg
    raises it (the first error of a pipeline comes before the calls it aborted)."""
    if result.status == _FATAL_ERROR:
        raise errors.error_from_result(result, encoding=encoding)
    if result.status != _TUPLES_OK or result.ntuples != 1:
        raise psycopg.InterfaceError(
            f"unexpected result {pq.ExecStatus(result.status).name} from the step call"
        )
    if result.get_value(0, 0) is None:
        return None
    loader = psycopg.adapt.Transformer(raw)  # a rare answer (a refusal): loaded as psycopg does
    loader.set_pgresult(result)
    return loader.load_row(0, tuple)[0]
