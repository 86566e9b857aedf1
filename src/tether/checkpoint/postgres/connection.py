"""Connections to PostgreSQL for tether: a health-checked pool, transactions, retries, errors.

Statements are written once with ``?`` placeholders and unqualified table names (the shared
row readers in ``tether.checkpoint.sqlite.rows`` use them too); ``PgConn`` turns them into
psycopg's ``%s`` and qualifies tether's tables with the saver's schema, so no statement relies
on ``search_path`` or any other session state (PgBouncer in transaction mode hands each
transaction to any server connection). Server-side prepared statements are off unless asked
for (``prepare=True``). The step call, the one statement every step makes, goes straight
through libpq (``direct``, ``PgConn.value`` and ``PgConn.values``) when it can.

A connection handed out by the pool is checked without a round trip: a server or pooler that
closed it has sent a notice or an EOF, so its socket is readable, and the pool drops it. One
idle for longer than ``PING_AFTER`` seconds is pinged first. Work that fails on a dropped
connection before its commit was sent is run once more on a fresh one; a commit whose answer
never came is reported as ``BackendUnavailable`` (it may or may not have landed; every write is
idempotent by checkpoint id, so running it again is safe).
"""

from __future__ import annotations

import contextlib
import functools
import select
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tether.checkpoint.postgres import arrays, rowarg, schema
from tether.errors import (
    BackendUnavailable,
    ConfigurationError,
    StorageError,
    TetherError,
)

try:
    import psycopg
    import psycopg_pool
    from psycopg.types.string import TextLoader

    from tether.checkpoint.postgres import direct
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ConfigurationError(
        'the PostgreSQL backend needs psycopg 3 and psycopg_pool: pip install "tether[postgres]"'
    ) from exc

PING_AFTER = 30.0
PIPELINE = direct.PIPELINE
"""Whether statements may be sent together (pipeline mode needs libpq 14 or later); without it
the statements meant to go together are sent one after another."""
CONNECT_TIMEOUT = 10


def describe(conninfo: str) -> str:
    """Where a connection string points, password left out."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "a PostgreSQL server (connection string not readable)"
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    db = params.get("dbname") or params.get("user") or "?"
    user = params.get("user")
    who = f"{user}@" if user else ""
    return f"postgresql://{who}{host}:{port}/{db}"


@functools.lru_cache(maxsize=512)
def translate_sql(sql: str, schema_name: str) -> str:
    """``?`` placeholders to ``%s``; tether's tables qualified with ``schema_name``."""
    return schema.qualify(sql.replace("%", "%%").replace("?", "%s"), schema_name)


class PgConn:
    """A psycopg connection that takes tether's statements (see the module docstring)."""

    __slots__ = ("raw", "schema")

    def __init__(self, raw: psycopg.Connection[Any], schema_name: str) -> None:
        self.raw = raw
        self.schema = schema_name

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.raw.execute(translate_sql(sql, self.schema), params)

    def value(self, sql: str, params: Sequence[Any]) -> Any:
        """The one value the one row of ``sql`` (psycopg's ``%b`` placeholders only, tables
        already qualified) returns: sent straight through libpq when ``direct`` can take it,
        else through a cursor."""
        got = direct.call(self.raw, direct.sql(sql), params)
        if got is direct.NOT_SENT:
            got = _only(self.raw.execute(sql, params).fetchone())
        return got

    def values(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """``value`` of each statement of ``calls`` with its parameters, all sent together
        (``together``): in one round trip and one implicit transaction."""
        got = direct.call_all(self.raw, [(direct.sql(sql), params) for sql, params in calls])
        if got is direct.NOT_SENT:
            with self.together():
                cursors = [self.raw.execute(sql, params) for sql, params in calls]
            got = [_only(cur.fetchone()) for cur in cursors]
        return list(got)

    def together(self) -> contextlib.AbstractContextManager[Any]:
        """Statements executed in this block are sent together and answered in one round trip:
        a pipeline ending in one Sync, so in autocommit they run as one implicit transaction
        (PgBouncer in transaction mode sees one transaction). Their cursors hold the results
        once the block ends. Without pipeline mode (libpq before 14) each runs as it is
        executed, its own transaction."""
        return self.raw.pipeline() if PIPELINE else contextlib.nullcontext()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run ``sql`` for every row (psycopg pipelines them); the number of rows it changed."""
        if not rows:
            return 0
        with self.raw.cursor() as cur:
            cur.executemany(translate_sql(sql, self.schema), rows)
            return max(cur.rowcount, 0)


def _only(row: Any) -> Any:
    """The one value of ``row``, a statement's one row."""
    if row is None:  # pragma: no cover - the statements given return one row
        raise psycopg.InterfaceError("the statement returned no row")
    return row[0]


def translate(exc: Exception, where: str, action: str) -> TetherError:
    """A tether error for a driver error, naming the server (no password) and what to do."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    refused = "password authentication" in text or ("role" in text and "does not exist" in text)
    if isinstance(exc, psycopg.errors.InvalidPassword) or refused:
        return BackendUnavailable(
            f"cannot {action}: {where} refused the credentials ({text}); check the user and "
            f"password in the connection string"
        )
    if isinstance(exc, psycopg.errors.InvalidCatalogName) or (
        "database" in text and "does not exist" in text
    ):
        return BackendUnavailable(
            f"cannot {action}: {where}: the database does not exist ({text}); create it "
            f"(CREATE DATABASE) or fix the name in the connection string"
        )
    if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout):
        return BackendUnavailable(
            f"cannot {action}: {where} cannot be reached ({text}); check that the server is "
            f"running and the host and port are right"
        )
    if isinstance(exc, psycopg.DataError | ValueError) and "NUL" in text:
        return ConfigurationError(
            f"cannot {action}: PostgreSQL text cannot hold NUL characters ({text}); remove "
            f"'\\x00' from thread ids, namespaces and task ids"
        )
    return StorageError(f"cannot {action} in {where}: {text}")


def connection_lost(exc: BaseException) -> bool:
    """True for a tether error raised because a connection was dropped mid-read."""
    return bool(getattr(exc, "connection_lost", False))


def _lost(exc: Exception, raw: psycopg.Connection[Any] | None) -> bool:
    """True when ``exc`` means the connection itself is gone (not a statement error)."""
    if raw is not None and raw.broken:
        return True
    return isinstance(exc, psycopg.OperationalError) and not isinstance(
        exc, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable
    )


class Connections:
    """A pool of connections to one database and schema, and transactions over it."""

    def __init__(
        self,
        conninfo: str | None,
        schema_name: str,
        *,
        pool: psycopg_pool.ConnectionPool[Any] | None = None,
        conn: psycopg.Connection[Any] | None = None,
        prepare: bool = False,
        max_size: int = 10,
        before_commit: Callable[[PgConn], None] | None = None,
        ensure: Callable[[PgConn, str], None] = schema.ensure,
    ) -> None:
        self.schema = schema_name
        self.prepare = prepare
        self._own_pool = pool is None and conn is None
        self._conn = conn
        self._lock = threading.RLock()
        self._ready = False
        self._idle_since: dict[int, float] = {}
        self._before_commit = before_commit or (lambda _conn: None)
        self._ensure = ensure  # creates or upgrades the tables (the saver's, or a store's)
        if conn is not None:
            self.where = describe(conn.info.dsn)
            conn.autocommit = True  # transactions are explicit (see ``run``)
            self._configure(conn)
        elif pool is not None:
            self.where = describe(str(pool.conninfo))
        else:
            assert conninfo is not None
            self.where = describe(conninfo)
            self._conninfo = conninfo
        self._pool_args = {"max_size": max_size}
        self.pool = pool
        self.closed = False

    # --- the pool ---------------------------------------------------------------------------

    def _configure(self, raw: psycopg.Connection[Any]) -> None:
        raw.adapters.register_loader("jsonb", TextLoader)  # metadata comes back as JSON text
        arrays.register(raw.adapters)  # the step function's array arguments
        rowarg.register(raw.adapters)  # and its composite argument (schema v7)
        if not self.prepare:
            raw.prepare_threshold = None

    def _check(self, raw: psycopg.Connection[Any]) -> None:
        """Refuse a pooled connection the server or a pooler closed (its socket is readable:
        a notice or EOF arrived while idle); ping one idle for a long time."""
        if raw.closed or raw.broken:
            raise psycopg.OperationalError("the connection is closed")
        readable, _, _ = select.select([raw.fileno()], [], [], 0)
        if readable:
            raw.close()  # the pool drops a closed connection (it would hand this one out again)
            raise psycopg.OperationalError("the server closed the idle connection")
        if time.monotonic() - self._idle_since.get(id(raw), time.monotonic()) > PING_AFTER:
            try:
                raw.execute("SELECT 1")
                raw.rollback()
            except psycopg.Error:
                raw.close()
                raise

    def _open_pool(self) -> psycopg_pool.ConnectionPool[Any]:
        pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._pool_args["max_size"],
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            configure=self._configure,
            check=self._check,
            timeout=CONNECT_TIMEOUT,
            open=False,
        )
        pool.open(wait=False)
        return pool

    def _setup(self) -> None:
        """Connect once directly (a clear error at once when the server is unreachable) and
        bring the schema up to date; then open the pool."""
        with self._lock:
            if self._ready:
                return
            if self._conn is None and self.pool is None:
                try:
                    raw = psycopg.connect(self._conninfo, connect_timeout=CONNECT_TIMEOUT)
                except psycopg.Error as exc:
                    raise translate(exc, self.where, "connect") from exc
                with raw:
                    self._configure(raw)
                    self._migrate(raw)
                self.pool = self._open_pool()
            elif self._conn is not None:
                self._migrate(self._conn)
            else:
                assert self.pool is not None
                with self.pool.connection() as raw:
                    self._configure(raw)
                    self._migrate(raw)
            self._ready = True

    def _migrate(self, raw: psycopg.Connection[Any]) -> None:
        for attempt in (0, 1):
            try:
                with raw.transaction():
                    self._ensure(PgConn(raw, self.schema), self.where)
                return
            except psycopg.Error as exc:
                if attempt or not _lost(exc, raw):
                    raise translate(exc, self.where, "set up the schema") from exc

    def setup(self) -> None:
        self._ready = False
        self._setup()

    @contextlib.contextmanager
    def _raw(self) -> Iterator[psycopg.Connection[Any]]:
        if self.closed:
            raise BackendUnavailable(f"the saver for {self.where} was closed; open it again")
        self._setup()
        if self._conn is not None:
            with self._lock:
                yield self._conn
            return
        assert self.pool is not None
        # ``getconn`` and ``putconn``, not the pool's ``connection()``: that one also enters the
        # connection as a context manager, a commit or rollback round of psycopg's machinery
        # (no round trip in autocommit) on every checkout; done here only when it does anything.
        raw = self.pool.getconn()
        try:
            if not self._own_pool:  # the caller's pool: its connections are not configured
                self._configure(raw)
            yield raw
            if not raw.autocommit and not raw.closed:  # a caller's pool without autocommit
                raw.commit()
        except BaseException:
            if not raw.closed:
                with contextlib.suppress(psycopg.Error):
                    raw.rollback()
            raise
        finally:
            # Noted here, not in a pool ``reset`` callback: with one, psycopg_pool hands every
            # returned connection to a worker thread, and the next statement waits for that
            # thread to get the GIL (or the pool opens another connection).
            self._idle_since[id(raw)] = time.monotonic()
            self.pool.putconn(raw)

    # --- transactions -----------------------------------------------------------------------

    def run(self, work: Callable[[PgConn], Any], action: str, *, write: bool = True) -> Any:
        """Run ``work`` in one transaction and commit it; once more on a fresh connection when
        the first one was dropped before the commit was sent."""
        for attempt in (0, 1):
            committing = False
            raw = None
            try:
                with self._raw() as raw:
                    conn = PgConn(raw, self.schema)
                    # Not pipelined: psycopg's pipeline mode cost more than the round trips it
                    # saved here (a W1-like put: 0.78 ms pipelined, 0.66 ms not; floor 0.33).
                    with raw.transaction():
                        result = work(conn)
                        if write:
                            self._before_commit(conn)
                        committing = True  # the block's end sends COMMIT
                    return result
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                if committing and write and _lost(exc, raw):
                    raise self._uncertain(exc, action) from exc
                if attempt == 0 and _lost(exc, raw) and self._conn is None:
                    continue
                raise translate(exc, self.where, action) from exc
        raise AssertionError("unreachable")

    def _uncertain(self, exc: Exception, action: str) -> BackendUnavailable:
        return BackendUnavailable(
            f"cannot {action}: the connection to {self.where} was lost while committing, so "
            f"the write may or may not have landed; running it again is safe (writes are "
            f"idempotent by checkpoint id) ({exc})"
        )

    def statement(
        self, work: Callable[[PgConn], Any], action: str, *, idempotent: bool = False
    ) -> Any:
        """Run ``work``, one statement that is its own transaction (autocommit): a write in one
        round trip. The commit seam runs right before the statement is sent. A connection lost
        after that is reported as ``BackendUnavailable`` (the write may or may not have
        landed), unless the statement is ``idempotent``: then it runs once more on a fresh
        connection."""
        for attempt in (0, 1):
            raw = None
            sent = False
            try:
                with self._raw() as raw:
                    conn = PgConn(raw, self.schema)
                    self._before_commit(conn)
                    sent = True
                    result = work(conn)
                    if not raw.autocommit:  # a caller's pool without autocommit
                        raw.commit()
                    return result
            except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                lost = _lost(exc, raw)
                if lost and idempotent and attempt == 0 and self._conn is None:
                    continue
                if sent and lost:
                    raise self._uncertain(exc, action) from exc
                raise translate(exc, self.where, action) from exc
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _errors(self, raw: psycopg.Connection[Any], action: str) -> Iterator[None]:
        """Driver errors as tether errors, marked when the connection itself was lost."""
        try:
            yield
        except psycopg.Error as exc:
            error = translate(exc, self.where, action)
            error.connection_lost = _lost(exc, raw)  # type: ignore[attr-defined]
            raise error from exc

    @contextlib.contextmanager
    def read(self, action: str = "read") -> Iterator[PgConn]:
        """One transaction (one snapshot) for several reads, ended when the block ends."""
        with self._raw() as raw, self._errors(raw, action), raw.transaction():
            yield PgConn(raw, self.schema)

    @contextlib.contextmanager
    def query(self, action: str = "read") -> Iterator[PgConn]:
        """A connection for a single statement, which is its own transaction."""
        with self._raw() as raw, self._errors(raw, action):
            yield PgConn(raw, self.schema)
            if not raw.autocommit:  # a caller's pool without autocommit
                raw.rollback()

    def fetch_one(self, sql: str, params: Sequence[Any], action: str = "read") -> Any:
        """The first row of one statement, or None."""
        with self.query(action) as conn:
            return conn.execute(sql, params).fetchone()

    def retry_read(self, fn: Callable[[], Any]) -> Any:
        """``fn()``, once more when its connection was dropped (reads are idempotent)."""
        try:
            return fn()
        except BackendUnavailable as exc:
            if not connection_lost(exc) or self._conn is not None:
                raise
        return fn()

    @contextlib.contextmanager
    def write(self, action: str = "write") -> Iterator[PgConn]:
        """A write transaction, committed if the block ends normally."""
        with self._raw() as raw, self._errors(raw, action), raw.transaction():
            conn = PgConn(raw, self.schema)
            yield conn
            self._before_commit(conn)

    def vacuum(self) -> None:
        """Nothing to do: PostgreSQL's autovacuum gives dead rows' space back."""

    def close(self) -> None:
        self.closed = True
        if self._own_pool and self.pool is not None:
            self.pool.close()
