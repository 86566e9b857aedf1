"""The PostgreSQL store's tables in a schema, created under an advisory lock.

The rows are the SQLite store's (``tether.store.sqlite.schema``): ``tether_store_items`` holds
one row per item, the namespace as its labels joined with ``"."`` (labels cannot contain one,
so a whole-label comparison is exact), the value as JSONB, ISO timestamps and the TTL;
``tether_store_vectors`` one row per embedded text (float64 bytes); ``tether_store_meta`` the
schema version and the index's ``dims``. Text keys are ``COLLATE "C"``: byte order, as SQLite.
The tables sit in the store's schema (``public`` unless ``namespace=`` names one) next to a
saver's tables if they share it; the names do not clash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.errors import SchemaVersionError

if TYPE_CHECKING:
    from tether.checkpoint.postgres.connection import PgConn

__all__ = ["SCHEMA_VERSION", "ensure"]

SCHEMA_VERSION = 1
_LOCK_SALT = 0x54455453  # "TETS"

_TABLES = (
    "CREATE TABLE IF NOT EXISTS tether_store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS tether_store_items (
        prefix TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        value JSONB NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        ttl_minutes DOUBLE PRECISION,
        expires_at DOUBLE PRECISION,
        PRIMARY KEY (prefix, key))""",
    "CREATE INDEX IF NOT EXISTS tether_store_items_updated ON tether_store_items (updated_at)",
    "CREATE INDEX IF NOT EXISTS tether_store_items_expires ON tether_store_items (expires_at) "
    "WHERE expires_at IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS tether_store_vectors (
        prefix TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        field TEXT NOT NULL,
        idx INTEGER NOT NULL,
        vector BYTEA NOT NULL,
        PRIMARY KEY (prefix, key, field, idx))""",
)


def _stored_version(conn: PgConn) -> int:
    has_meta = conn.raw.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'tether_store_meta'",
        (conn.schema,),
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute(
        "SELECT value FROM tether_store_meta WHERE name = 'schema_version'"
    ).fetchone()
    return int(row[0]) if row else 0


def ensure(conn: PgConn, where: str) -> None:
    """Create the store's tables if missing (the caller commits); refuse a newer schema.
    A transaction-level advisory lock on the schema's name serializes concurrent callers."""
    if _stored_version(conn) == SCHEMA_VERSION:
        return
    conn.raw.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_SALT, conn.schema))
    found = _stored_version(conn)  # another process may have finished meanwhile
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the store in schema {conn.schema!r} of {where} was written by a newer tether "
            f"(store schema v{found}; this tether knows up to v{SCHEMA_VERSION}): upgrade tether"
        )
    conn.raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{conn.schema}"')
    for statement in _TABLES:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO tether_store_meta (name, value) VALUES ('schema_version', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        (str(SCHEMA_VERSION),),
    )
