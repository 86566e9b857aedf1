"""The SQLite file layout, its version, and the migrations that bring older files up to date.

Version history (each entry of ``MIGRATIONS`` upgrades from the previous version):
  1. threads, heads, checkpoints, blobs (full/delta/empty), writes; a meta table.
  2. per-thread counters (checkpoints, bytes) and an index on checkpoints by run id.
  3. ``pieces``: large payloads stored once per thread (``tether.checkpoint.large``).
  4. blob rows of kind 3 (a reference: the same bytes as the row at ``base_version``) and
     checkpoint rows of format 2 (small channel values inline in ``body``); ``checkpoints`` and
     ``blobs`` become rowid tables (a WITHOUT ROWID row over ~1 kB spills into an overflow page
     of its own, which made every checkpoint row with inline values cost 4 kB or more); a
     trigger moves the head and bumps the thread's counters when a checkpoint row is inserted,
     so every path that inserts one keeps them right, with no extra statement per write.
  5. no ``heads`` table and no per-thread counters: ids sort by creation and a head never moves
     back, so the head of (thread, ns) is its greatest checkpoint id (one seek of the primary
     key); counts and bytes are computed where they are read. The insert trigger only makes
     sure the thread has a row (its lease and status), stamped with the checkpoint's ``ts`` (an
     upsert: a plain ``OR IGNORE`` would take the outer ``INSERT OR REPLACE``'s policy and
     replace the row, lease and all).
  6. no table changes: checkpoint bodies may store versions without their first 24 zeros
     (``rows.pack_body``, marked ``"z": 24``), which a tether reading up to v5 would return
     wrong; the version number keeps such a tether out of the file.
  7. no insert trigger: a put already reads the thread's lease row, and inserts the thread's
     row itself when that read finds none, so no trigger program runs per checkpoint. A tether
     up to v6 writing here would leave new threads without a row: the version number keeps it
     out.
  8. a task's writes are one row (``tether.checkpoint.sqlite.writes``): ``writes`` is keyed by
     (thread, ns, checkpoint, task) and its ``body`` packs the task's entries; the migration
     packs v7's rows (one per write) in Python, in the migration's transaction.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from tether.checkpoint.sqlite import writes

SCHEMA_VERSION = 8
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

_V4 = """
CREATE TABLE checkpoints_v4 (
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
);
INSERT INTO checkpoints_v4 SELECT thread_id, ns, checkpoint_id, parent_id, ts, step, source,
    run_id, metadata, body, format FROM checkpoints ORDER BY thread_id, ns, checkpoint_id;
DROP TABLE checkpoints;
ALTER TABLE checkpoints_v4 RENAME TO checkpoints;
CREATE INDEX IF NOT EXISTS checkpoints_by_run ON checkpoints (run_id) WHERE run_id IS NOT NULL;
CREATE TABLE blobs_v4 (
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
);
INSERT INTO blobs_v4 SELECT thread_id, ns, channel, version, kind, base_version, count, depth,
    chain_bytes, type, data FROM blobs ORDER BY thread_id, ns, channel, version;
DROP TABLE blobs;
ALTER TABLE blobs_v4 RENAME TO blobs;
CREATE TRIGGER checkpoint_stored AFTER INSERT ON checkpoints BEGIN
    INSERT INTO heads (thread_id, ns, checkpoint_id)
    VALUES (NEW.thread_id, NEW.ns, NEW.checkpoint_id)
    ON CONFLICT (thread_id, ns) DO UPDATE
    SET checkpoint_id = max(heads.checkpoint_id, excluded.checkpoint_id);
    INSERT INTO threads (thread_id, created_at, updated_at, checkpoint_count)
    VALUES (NEW.thread_id, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'),
            strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 1)
    ON CONFLICT (thread_id) DO UPDATE
    SET updated_at = excluded.updated_at, checkpoint_count = threads.checkpoint_count + 1;
END
"""

_V5 = """
DROP TRIGGER checkpoint_stored;
DROP TABLE heads;
ALTER TABLE threads DROP COLUMN checkpoint_count;
ALTER TABLE threads DROP COLUMN bytes;
CREATE TRIGGER checkpoint_stored AFTER INSERT ON checkpoints BEGIN
    INSERT INTO threads (thread_id, created_at, updated_at)
    VALUES (NEW.thread_id, NEW.ts, NEW.ts) ON CONFLICT (thread_id) DO NOTHING;
END
"""

_V6 = ""

_V7 = """
DROP TRIGGER IF EXISTS checkpoint_stored;
"""

MIGRATIONS: tuple[str | Callable[[Any], None], ...] = (
    _V1, _V2, _V3, _V4, _V5, _V6, _V7, writes.convert_v7,
)  # fmt: skip
"""SQL scripts, or a function of the connection for a migration SQL cannot do alone."""


def stored_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a new, empty file)."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        (table_name(conn, "tether_meta"),),
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM tether_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def foreign_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables in a file tether did not create (a file that belongs to something else).

    A tether store's tables (``tether_store_*``) may share the file."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    # Tables are tether's when their namespace (the default, or a prefix) has its meta table.
    prefixes = {n[: -len("tether_meta")] for n in names if n.endswith("tether_meta")}
    ours = {p + t for p in prefixes for t in TABLES}
    mine = ("sqlite_", "tether_store_")
    return sorted(n for n in names if n not in ours and not n.startswith(mine))


# ``heads`` is gone since v5; it stays here so older files' migrations address it.
TABLES = ("tether_meta", "threads", "heads", "checkpoints", "blobs", "writes", "pieces")
_NAMES = "|".join(TABLES)
_QUALIFY = re.compile(
    rf"\b(FROM|JOIN|INTO|UPDATE|TABLE|ON|TO|TABLE IF NOT EXISTS)\s+"
    rf"({_NAMES}|checkpoints_v4|blobs_v4|writes_v8)\b"
    rf"|(?<![\w.\"'$])({_NAMES})\.(?=[a-z_])"
    rf"|\b(INDEX IF NOT EXISTS|TRIGGER IF EXISTS|TRIGGER)\s+(\w+)",
    re.IGNORECASE,
)


def table_name(conn: Any, table: str) -> str:
    """The name ``table`` has in ``conn``'s namespace."""
    return f"{conn.prefix}{table}" if isinstance(conn, Namespaced) else table


@functools.lru_cache(maxsize=1024)
def in_namespace(sql: str, prefix: str) -> str:
    """``sql`` with tether's table, index and trigger names given the namespace's prefix."""

    def rename(m: re.Match[str]) -> str:
        if m.group(2):
            return f'{m.group(1)} "{prefix}{m.group(2)}"'
        if m.group(3):
            return f'"{prefix}{m.group(3)}".'
        return f"{m.group(4)} {prefix}{m.group(5)}"

    return _QUALIFY.sub(rename, sql)


class Namespaced:
    """A ``sqlite3.Connection`` whose statements address one namespace's tables
    (``<namespace>__checkpoints`` and so on); everything else passes through."""

    __slots__ = ("conn", "prefix")

    def __init__(self, conn: sqlite3.Connection, namespace: str) -> None:
        self.conn = conn
        self.prefix = f"{namespace}__"

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(in_namespace(sql, self.prefix), params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        return self.conn.executemany(in_namespace(sql, self.prefix), rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def migrate(conn: sqlite3.Connection, current: int, target: int = SCHEMA_VERSION) -> None:
    """Apply migrations ``current+1 .. target`` in one transaction (the caller holds it)."""
    for version in range(current + 1, target + 1):
        step = MIGRATIONS[version - 1]
        if callable(step):
            step(conn)
        else:
            for statement in _statements(step):
                conn.execute(statement)
        conn.execute(
            "INSERT INTO tether_meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(version),),
        )


def _statements(script: str) -> list[str]:
    """The statements of a script, one by one (a trigger body's semicolons stay inside it)."""
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending)
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending)
    return statements
