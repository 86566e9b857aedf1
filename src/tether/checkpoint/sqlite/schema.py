"""The SQLite file layout, its version, and the migrations that bring older files up to date.

Version history (each entry of ``MIGRATIONS`` upgrades from the previous version):
  1. threads, heads, checkpoints, blobs (full/delta/empty), writes; a meta table.
  2. per-thread counters (checkpoints, bytes) and an index on checkpoints by run id.
  3. ``pieces``: large payloads stored once per thread (``tether.checkpoint.large``).
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 3
APPLICATION_ID = 0x54455448  # "TETH": marks the file as tether's

_V1 = """
CREATE TABLE IF NOT EXISTS tether_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'idle',
    metadata TEXT NOT NULL DEFAULT '{}',
    lease_owner TEXT,
    lease_expires REAL,
    lease_epoch INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heads (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    parent_id TEXT,
    ts TEXT NOT NULL,
    step INTEGER,
    source TEXT,
    run_id TEXT,
    metadata TEXT NOT NULL,
    body BLOB NOT NULL,
    format INTEGER NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    kind INTEGER NOT NULL,
    base_version TEXT,
    count INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    chain_bytes INTEGER NOT NULL,
    type TEXT,
    data BLOB,
    PRIMARY KEY (thread_id, ns, channel, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS writes (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT,
    data BLOB,
    task_path TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, idx)
) WITHOUT ROWID;
"""

_V2 = """
ALTER TABLE threads ADD COLUMN checkpoint_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS checkpoints_by_run ON checkpoints (run_id) WHERE run_id IS NOT NULL;
UPDATE threads SET
    checkpoint_count = (SELECT count(*) FROM checkpoints c WHERE c.thread_id = threads.thread_id),
    bytes = coalesce(
        (SELECT sum(length(data)) FROM blobs b WHERE b.thread_id = threads.thread_id), 0);
"""

_V3 = """
CREATE TABLE IF NOT EXISTS pieces (
    thread_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (thread_id, digest)
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)


def stored_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a new, empty file)."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tether_meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM tether_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def foreign_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables in a file tether did not create (a file that belongs to something else).

    A tether store's tables (``tether_store_*``) may share the file."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    ours = {"tether_meta", "threads", "heads", "checkpoints", "blobs", "writes", "pieces"}
    mine = ("sqlite_", "tether_store_")
    return sorted(r[0] for r in rows if r[0] not in ours and not r[0].startswith(mine))


def migrate(conn: sqlite3.Connection, current: int, target: int = SCHEMA_VERSION) -> None:
    """Apply migrations ``current+1 .. target`` in one transaction (the caller holds it)."""
    for version in range(current + 1, target + 1):
        for statement in MIGRATIONS[version - 1].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT INTO tether_meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(version),),
        )
