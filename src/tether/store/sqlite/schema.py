"""The SQLite store's tables, created on first use, and its connection handling.

``tether_store_items`` holds one row per item: the namespace as its labels joined with
``"."`` (labels cannot contain one), the value as JSON text, ISO timestamps and the TTL.
``tether_store_vectors`` holds one row per embedded text: the field path and the vector as
float64 bytes. ``tether_store_meta`` records the schema version and the index's ``dims``.
"""

from __future__ import annotations

import sqlite3

from tether.errors import BackendUnavailable, ConfigurationError, SchemaVersionError, StorageError

__all__ = ["SCHEMA_VERSION", "check_dims", "connect", "create", "translate"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

_TABLES = """
CREATE TABLE IF NOT EXISTS tether_store_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tether_store_items (
    prefix TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    ttl_minutes REAL,
    expires_at REAL,
    PRIMARY KEY (prefix, key)
);
CREATE INDEX IF NOT EXISTS tether_store_items_updated ON tether_store_items (updated_at);
CREATE INDEX IF NOT EXISTS tether_store_items_expires
    ON tether_store_items (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS tether_store_vectors (
    prefix TEXT NOT NULL,
    key TEXT NOT NULL,
    field TEXT NOT NULL,
    idx INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (prefix, key, field, idx)
);
"""


def translate(error: sqlite3.Error, where: str, action: str) -> StorageError:
    """A tether error for a driver error, naming the database and what failed."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return BackendUnavailable(
            f"cannot {action}: {where} stayed locked by another connection for "
            f"{BUSY_TIMEOUT_MS // 1000} s ({text})"
        )
    if "not a database" in text:
        return BackendUnavailable(f"cannot {action}: {where} is not a SQLite database")
    return StorageError(f"cannot {action} in {where}: {text}")


def connect(path: str) -> sqlite3.Connection:
    """A connection usable from any thread (the store serializes its use with a lock)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def create(conn: sqlite3.Connection, where: str) -> None:
    """Create the tables if missing; refuse a file written by a newer tether."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(str.strip, _TABLES.split(";")):
            conn.execute(statement)
        row = conn.execute(
            "SELECT value FROM tether_store_meta WHERE name = 'schema_version'"
        ).fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{where} holds a tether store at schema v{version}; this tether reads up to "
                f"v{SCHEMA_VERSION}: upgrade tether (pip install -U tether)"
            )
        if version < SCHEMA_VERSION:
            conn.execute(
                "INSERT OR REPLACE INTO tether_store_meta VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def check_dims(conn: sqlite3.Connection, dims: int, where: str) -> None:
    """Record the index's ``dims``, or refuse one that differs from the recorded value."""
    row = conn.execute("SELECT value FROM tether_store_meta WHERE name = 'dims'").fetchone()
    if row is None:
        conn.execute("INSERT INTO tether_store_meta VALUES ('dims', ?)", (str(dims),))
    elif int(row[0]) != dims:
        raise ConfigurationError(
            f"{where} holds vectors of {row[0]} dimensions, but the store's index has "
            f"dims={dims}; use the same embedding model, or a new file"
        )
