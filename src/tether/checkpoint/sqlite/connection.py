"""Opening a SQLite file for tether: checks, pragmas, schema upgrades, and transactions.

A saver built from a path opens one connection per thread (WAL: readers never wait for the
writer); one built from a caller's connection, or for ``:memory:``, shares that connection
under a lock. Driver errors become tether errors here, naming the file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tether.checkpoint.sqlite import schema
from tether.errors import (
    BackendUnavailable,
    ConfigurationError,
    SchemaVersionError,
    StorageError,
    TetherError,
)

BUSY_TIMEOUT_MS = 10_000
WAL_SIZE_LIMIT = 8 * 1024 * 1024


class Reading(tuple[str]):
    """``(thread_id,)``, the action of a checkpoint read, formatted (``read thread 'x'``) only
    when an error names it: every ``get_tuple`` passes one (``reading(thread_id)``)."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"read thread {self[0]!r}"


reading: Callable[[tuple[str]], Reading] = functools.partial(tuple.__new__, Reading)
"""``Reading`` from a 1-tuple, without a Python-level ``__new__``."""


class Storing(tuple[str, str]):
    """``(checkpoint_id, thread_id)``, the action of a checkpoint write, formatted only when an
    error names it (``storing((checkpoint_id, thread_id))``)."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"store checkpoint {self[0]!r} of thread {self[1]!r}"


storing: Callable[[tuple[str, str]], Storing] = functools.partial(tuple.__new__, Storing)

Action = str | Reading | Storing
"""What an error says the saver could not do (``cannot {action}: ...``)."""


def describe(path: str) -> str:
    return "an in-memory SQLite database" if path == ":memory:" else f"SQLite file {path!r}"


def translate(exc: sqlite3.Error, path: str, action: Action) -> TetherError:
    """A tether error for a driver error, naming the file and what to do."""
    text = str(exc)
    where = describe(path)
    denied = any(word in text for word in ("readonly", "read-only", "unable to open"))
    if denied and (reason := _unwritable(path)) is not None:
        return StorageError(f"cannot {action}: {where} {reason}")
    if "readonly" in text or "read-only" in text:
        return StorageError(
            f"cannot {action}: {where} is opened read-only, so writes are refused; open it "
            f"read-write to store checkpoints"
        )
    if "not a database" in text or "file is encrypted" in text:
        return BackendUnavailable(
            f"cannot {action}: {where} is not a SQLite database; point tether at a new file "
            f"or a file tether created"
        )
    if "locked" in text or "busy" in text:
        return BackendUnavailable(
            f"cannot {action}: {where} stayed locked by another connection for "
            f"{BUSY_TIMEOUT_MS // 1000} s ({text})"
        )
    if "unable to open" in text:
        return BackendUnavailable(f"cannot {action}: {where} cannot be opened ({text})")
    return StorageError(f"cannot {action} in {where}: {text}")


def _unwritable(path: str) -> str | None:
    """Why the process cannot write at ``path`` (its directory or the file), if it cannot."""
    if not is_file_path(path):
        return None
    directory = os.path.dirname(os.path.abspath(path))
    if not os.access(directory, os.W_OK):
        return (
            f"is in directory {directory!r}, which is not writable: SQLite (WAL mode) creates "
            f"its -wal and -shm files next to the database even to read it, so neither reads nor "
            f"writes work; give the process write access to the directory"
        )
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "is read-only, so writes are refused; give the process write access to the file"
    return None


def is_file_path(path: str) -> bool:
    """True for a path to a file on disk (not ``:memory:``, a URI or a temporary database)."""
    return bool(path) and path != ":memory:" and not path.startswith("file:")


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None when there is no such file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def check_path(path: str) -> None:
    """Fail early, with the path in the message, when a file cannot be where it is asked to be."""
    if path == ":memory:" or path.startswith("file:"):
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise BackendUnavailable(
            f"cannot open SQLite file {path!r}: directory {directory!r} does not exist; "
            f"create it first"
        )
    if os.path.isdir(path):
        raise BackendUnavailable(f"cannot open SQLite file {path!r}: it is a directory")


SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def connect(path: str, synchronous: str = "NORMAL", must_exist: bool = False) -> sqlite3.Connection:
    """A connection with tether's pragmas; ``must_exist`` never creates the file."""
    if synchronous.upper() not in SYNCHRONOUS:
        raise ConfigurationError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
    try:
        target, uri = (
            (Path(path).absolute().as_uri() + "?mode=rw", True) if must_exist else (path, False)
        )
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, uri=uri)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        # After a large transaction the WAL is cut back to this size once it is checkpointed,
        # instead of keeping its high-water mark on disk.
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    except sqlite3.Error as exc:
        raise translate(exc, path, "open the database") from exc
    return conn


def prepare(conn: sqlite3.Connection, path: str) -> None:
    """Check the file and bring its schema up to date (never waits on a writer when current)."""
    try:
        version = schema.stored_version(conn)
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path, "read the database") from exc
    if version > schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{describe(path)} is at tether schema v{version}; this tether reads up to "
            f"v{schema.SCHEMA_VERSION}: upgrade tether (pip install -U tether)"
        )
    others = schema.foreign_tables(conn) if version == 0 else []
    if others:
        raise SchemaVersionError(
            f"{describe(path)} already holds tables tether did not create ({', '.join(others)}); "
            f"it may be a LangGraph SqliteSaver file: use a new file for tether"
        )
    if version == schema.SCHEMA_VERSION:
        _enable_wal(conn, path)
        return
    try:
        if version == 0:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
        _enable_wal(conn, path)
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema.stored_version(conn)  # another process may have migrated meanwhile
            if current < schema.SCHEMA_VERSION:
                schema.migrate(conn, current)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise translate(exc, path, f"upgrade the schema from v{version}") from exc


def _enable_wal(conn: sqlite3.Connection, path: str) -> None:
    if path == ":memory:":
        return
    with contextlib.suppress(sqlite3.OperationalError):  # read-only files stay as they are
        conn.execute("PRAGMA journal_mode = WAL")


class Connections:
    """Hands out connections and wraps work in read or write transactions."""

    def __init__(
        self,
        path: str,
        conn: sqlite3.Connection | None = None,
        before_commit: Callable[[sqlite3.Connection], None] | None = None,
        synchronous: str = "NORMAL",
        namespace: str | None = None,
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.namespace = namespace
        if conn is not None:
            conn.isolation_level = None
        self._shared = (
            conn
            if conn is not None
            else (connect(path, synchronous) if path == ":memory:" else None)
        )
        if self._shared is not None:
            self._shared = self._in_namespace(self._shared)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._before_commit = before_commit or (lambda _conn: None)
        self._prepared = False
        self._identity: tuple[int, int] | None = None
        self.closed = False
        if self._shared is not None:
            self._prepare(self._shared)

    def _in_namespace(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        """``conn`` addressing this saver's namespace (its tables are ``<namespace>__...``)."""
        if self.namespace is None:
            return conn
        return schema.Namespaced(conn, self.namespace)  # type: ignore[return-value]

    def _prepare(self, conn: sqlite3.Connection) -> None:
        if not self._prepared:
            with self._lock:
                if not self._prepared:
                    prepare(conn, self.path)
                    if is_file_path(self.path):
                        self._identity = file_identity(self.path)
                    self._prepared = True

    def check_file(self, action: Action) -> None:
        """Refuse to go on when the file this saver opened was deleted or replaced since."""
        if self._identity is None:
            return
        now = file_identity(self.path)
        if now == self._identity:
            return
        where = describe(self.path)
        what = "was deleted" if now is None else "was replaced by another file"
        raise BackendUnavailable(
            f"cannot {action}: {where} {what} while the saver had it open; what it wrote "
            f"since is gone with the old file. Restore the file or open a new saver"
        )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self.closed:
            raise BackendUnavailable(f"{describe(self.path)} was closed; open the saver again")
        if self._shared is not None:
            with self._lock:
                yield self._shared
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.check_file("open the database")  # connecting would create an empty file
            raw = connect(self.path, self.synchronous, must_exist=self._identity is not None)
            with self._lock:
                self._all.append(raw)
            conn = self._in_namespace(raw)
            self._prepare(conn)
            self._local.conn = conn
        yield conn

    @contextlib.contextmanager
    def read(self, action: str = "read") -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (a deferred transaction)."""
        with self._connection() as conn:
            self.check_file(action)
            try:
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise translate(exc, self.path, action) from exc

    @contextlib.contextmanager
    def query(self, action: Action = "read") -> Iterator[sqlite3.Connection]:
        """A connection for a single statement, which is its own transaction (no BEGIN)."""
        with self._connection() as conn:
            self.check_file(action)
            try:
                yield conn
            except sqlite3.Error as exc:
                raise translate(exc, self.path, action) from exc

    def fetch_one(self, sql: str, params: Sequence[Any], action: Action = "read") -> Any:
        """The first row of one statement (its own transaction), or None: ``query`` without
        the context managers, for the hot single-statement reads."""
        conn = self._shared if self._shared is not None else getattr(self._local, "conn", None)
        if conn is None or self.closed:
            with self.query(action) as opened:
                return opened.execute(sql, params).fetchone()
        if self._shared is None:
            return self._fetch_one(conn, sql, params, action)
        with self._lock:
            return self._fetch_one(conn, sql, params, action)

    def _fetch_one(
        self, conn: sqlite3.Connection, sql: str, params: Sequence[Any], action: Action
    ) -> Any:
        self.check_file(action)
        try:
            return conn.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise translate(exc, self.path, action) from exc

    @contextlib.contextmanager
    def write(self, action: Action = "write") -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (no lock upgrade), committed if the block ends."""
        with self._connection() as conn, _Transaction(self, conn, action):
            yield conn

    def transact(self, work: Callable[[sqlite3.Connection], Any], action: Action = "write") -> Any:
        """``work(conn)`` in a committed write transaction: ``write`` as one call, without
        its two generator-based context managers (every checkpoint write goes through here)."""
        conn = self._shared if self._shared is not None else getattr(self._local, "conn", None)
        if conn is None or self.closed:
            with self.write(action) as opened:
                return work(opened)
        if self._shared is None:
            with _Transaction(self, conn, action):
                return work(conn)
        with self._lock, _Transaction(self, conn, action):
            return work(conn)

    def vacuum(self) -> None:
        """Give freed pages back to the file system (incremental auto-vacuum)."""
        with self._connection() as conn:
            try:
                # executescript steps the pragma to the end (execute would free only one page)
                conn.executescript("PRAGMA incremental_vacuum;")
            except sqlite3.Error as exc:
                raise translate(exc, self.path, "vacuum") from exc

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            if self._shared is not None and self.path == ":memory:":
                self._shared.close()
            self.closed = True


class _Transaction:
    """BEGIN IMMEDIATE on entry; COMMIT when the block ends (after the crash-test seam and the
    check that the file is still there), ROLLBACK when it raises. Driver errors, the block's
    included, become tether errors naming the file."""

    __slots__ = ("action", "conn", "conns")

    def __init__(self, conns: Connections, conn: sqlite3.Connection, action: Action) -> None:
        self.conns = conns
        self.conn = conn
        self.action = action

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc, self.conns.path, self.action) from exc
        return self.conn

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        conn = self.conn
        try:
            try:
                if kind is None:
                    self.conns._before_commit(conn)
                    self.conns.check_file(self.action)
                    conn.execute("COMMIT")
                    return
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise translate(exc, self.conns.path, self.action) from exc
        if isinstance(error, sqlite3.Error):
            raise translate(error, self.conns.path, self.action) from error
