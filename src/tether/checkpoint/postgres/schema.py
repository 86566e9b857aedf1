"""tether's tables in a PostgreSQL schema, their version, and migrations under an advisory lock.

One schema per namespace (``public`` by default) holds the same logical rows as the SQLite
file (``docs/sqlite.md``): threads, checkpoints, blobs, writes, pieces and
``tether_meta`` with the schema version. Keys are ``COLLATE "C"`` so ids sort byte-wise, as
they do in SQLite. ``ensure`` runs every migration a schema lacks inside one transaction that
holds a transaction-level advisory lock on the schema's name, so any number of processes may
call it at once (and it works through PgBouncer in transaction mode).

Version history:
  1. the tables above, the indexes for thread, run id and metadata filters, and a trigger that
     moves the head and counts the thread's checkpoints when a checkpoint row is inserted.
  2. as SQLite's v5: no ``heads`` table (the head is the greatest checkpoint id; nothing read
     it) and no per-write counters (``checkpoint_count``, ``bytes``: nothing read them, and
     each cost a row update per checkpoint); the trigger only creates a missing thread row.
     ``tether_put_step``, the function that stores a super-step in one call (``step``): a
     function, so the server caches its statements' plans per connection (no client-side
     prepared statements, so PgBouncer in transaction mode still works).
  3. ``tether_step``, the same work returning a scalar (NULL, or why the step was refused)
     instead of a row set: called as ``SELECT f(...)``, it costs the server ~100 us less per
     step; and ``tether_step_plain``, the same for a step with only a checkpoint row and
     insert-if-absent writes, with 26 arguments instead of 47. ``tether_put_step`` stays, so
     a process of the previous version still running against an upgraded schema keeps
     working.
  4. no insert trigger on ``checkpoints``: the step functions (replaced in place, same
     signatures, so a process of v2 or v3 still running calls the new bodies) create a
     thread's row when its first write finds none, as the transaction path and
     ``copy_thread`` do (a first write racing a run that takes the lease waits for it and
     is judged by its lease: before, it could land beside that run); and they spread array
     arguments into rows with ``unnest`` in the select list. A W1 step costs the server
     ~14% fewer instructions (callgrind of a replayed W1: 648k -> 560k per call). The table
     columns are unchanged.
  5. smaller rows and indexes (W2, a 300-turn chat: 2.09 -> 1.93 MB): checkpoint bodies store
     versions without their leading zeros (``rows.pack_body``, marked ``"z": 24``, as SQLite's
     v6; a v3 process already running reads them, its reader pads the zeros back, while the
     version number keeps a tether that knows only older versions from opening the schema);
     ``checkpoints_by_id`` is on ``checkpoint_id`` alone (listing across threads
     still reads it in order and sorts only rows with equal ids by thread and namespace); the
     indexes whose keys a thread appends to in order (those of checkpoints and blobs) fill
     their pages whole (``fillfactor = 100``) where the default left a tenth of each empty;
     not that of writes, whose task ids come in random order (full pages split in halves: W3's
     grew 8%). Existing rows are kept as they are and still read.
  6. compressed values (``packing``): blob and write values that deflate (with a preset
     dictionary of tether's and LangChain's keys) to fewer bytes are stored so, under type tag
     ``z+<tag>``; checkpoint bodies are not compressed (it cost every step CPU). No table
     changes; rows of earlier versions are read as they are. The version keeps a tether that
     knows only older versions from opening the schema (it could not read these rows); a
     process of v5 already running when the schema is upgraded reports the compressed values
     it meets as corrupt until it is restarted on this version.
  7. ``tether_step7`` and ``tether_step7_plain``: the step functions taking a step's values as
     one argument of a composite type (``tether_step7_args``, ``tether_step7_plain_args``;
     ``rowarg``) instead of 47 or 26. The call statement is parsed, analyzed and planned on
     every call, and each argument cost the server ~6k instructions of that: a W1 step call
     670k -> 549k server instructions (callgrind). The v3/v4 functions stay, so a process of v6
     still running keeps storing steps; no table changes.
  8. a task's writes are one row, as in SQLite's v8 (``sqlite.writes``): ``writes`` is keyed
     by (thread, ns, checkpoint, task) and its ``body`` packs the task's entries (values
     compressed one by one, as v6 stored them). The migration packs v7's rows in the client,
     inside its transaction, and replaces the step functions with ``tether_step8`` and
     ``tether_step8_plain``, which insert those rows; v2-v7's functions and types are dropped
     (they insert a row per write, which the table no longer has: a process of v7 still
     running fails its steps instead of storing them wrong).
     The new functions look each delta's base up by its full key (``step._missing_bases``):
     v7's anti join, planned at a connection's first step on a near-empty table, read every
     blob row of the thread on each later step. ``tether_take_read`` (``start``): a run's
     lease taken and its thread read in one call (server per W1 invoke 7.05M -> 6.50M
     instructions).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ormsgpack

from tether.checkpoint.base import check_namespace
from tether.checkpoint.postgres import start, step
from tether.checkpoint.sqlite import writes as task_writes
from tether.errors import SchemaVersionError

if TYPE_CHECKING:
    from tether.checkpoint.postgres.connection import PgConn

SCHEMA_VERSION = 8
TABLES = ("tether_meta", "threads", "checkpoints", "blobs", "writes", "pieces")
STORE_TABLES = ("tether_store_meta", "tether_store_items", "tether_store_vectors")
"""The store's tables (``tether.store.postgres``), qualified by ``qualify`` as these are."""
_LOCK_SALT = 0x54455448  # "TETH"
_TABLE = re.compile(
    r"\b(FROM|JOIN|INTO|UPDATE|TABLE|ON|TABLE IF NOT EXISTS)\s+("
    + "|".join(TABLES + STORE_TABLES)
    + r")\b",
    re.IGNORECASE,
)

_V1 = """
CREATE TABLE IF NOT EXISTS tether_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT COLLATE "C" PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'idle',
    metadata TEXT NOT NULL DEFAULT '{}',
    lease_owner TEXT,
    lease_expires DOUBLE PRECISION,
    lease_epoch BIGINT NOT NULL DEFAULT 0,
    checkpoint_count BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS "{schema}".heads (
    thread_id TEXT COLLATE "C" NOT NULL,
    ns TEXT COLLATE "C" NOT NULL,
    checkpoint_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (thread_id, ns)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    thread_id TEXT COLLATE "C" NOT NULL,
    ns TEXT COLLATE "C" NOT NULL,
    checkpoint_id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C",
    ts TEXT NOT NULL,
    step BIGINT,
    source TEXT,
    run_id TEXT,
    metadata JSONB NOT NULL,
    body BYTEA NOT NULL,
    format INTEGER NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id)
);
CREATE INDEX IF NOT EXISTS checkpoints_by_id ON checkpoints (checkpoint_id, thread_id, ns);
CREATE INDEX IF NOT EXISTS checkpoints_by_run ON checkpoints (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS checkpoints_by_metadata ON checkpoints
    USING GIN (metadata jsonb_path_ops);
CREATE TABLE IF NOT EXISTS blobs (
    thread_id TEXT COLLATE "C" NOT NULL,
    ns TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    kind INTEGER NOT NULL,
    base_version TEXT COLLATE "C",
    count BIGINT NOT NULL,
    depth INTEGER NOT NULL,
    chain_bytes BIGINT NOT NULL,
    type TEXT,
    data BYTEA,
    PRIMARY KEY (thread_id, ns, channel, version)
);
CREATE TABLE IF NOT EXISTS writes (
    thread_id TEXT COLLATE "C" NOT NULL,
    ns TEXT COLLATE "C" NOT NULL,
    checkpoint_id TEXT COLLATE "C" NOT NULL,
    task_id TEXT COLLATE "C" NOT NULL,
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT,
    data BYTEA,
    task_path TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, idx)
);
CREATE TABLE IF NOT EXISTS pieces (
    thread_id TEXT COLLATE "C" NOT NULL,
    digest TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (thread_id, digest)
)
"""

_V1_TRIGGER = """
CREATE OR REPLACE FUNCTION "{schema}".tether_checkpoint_stored() RETURNS trigger
LANGUAGE plpgsql AS $body$
DECLARE
    stamp TEXT := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"');
BEGIN
    INSERT INTO "{schema}".heads (thread_id, ns, checkpoint_id)
    VALUES (NEW.thread_id, NEW.ns, NEW.checkpoint_id)
    ON CONFLICT (thread_id, ns) DO UPDATE
    SET checkpoint_id = GREATEST(heads.checkpoint_id, EXCLUDED.checkpoint_id);
    INSERT INTO "{schema}".threads (thread_id, created_at, updated_at, checkpoint_count)
    VALUES (NEW.thread_id, stamp, stamp, 1)
    ON CONFLICT (thread_id) DO UPDATE
    SET updated_at = EXCLUDED.updated_at, checkpoint_count = threads.checkpoint_count + 1;
    RETURN NULL;
END
$body$
"""

_V1_TRIGGER_ON = """
CREATE TRIGGER tether_checkpoint_stored AFTER INSERT ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION "{schema}".tether_checkpoint_stored()
"""

_V2 = (
    'DROP TRIGGER IF EXISTS tether_checkpoint_stored ON "{schema}".checkpoints',
    'DROP TABLE IF EXISTS "{schema}".heads',
    'ALTER TABLE "{schema}".threads DROP COLUMN IF EXISTS checkpoint_count, '
    "DROP COLUMN IF EXISTS bytes",
    """
CREATE OR REPLACE FUNCTION "{schema}".tether_checkpoint_stored() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    INSERT INTO "{schema}".threads (thread_id, created_at, updated_at)
    VALUES (NEW.thread_id, NEW.ts, NEW.ts) ON CONFLICT (thread_id) DO NOTHING;
    RETURN NULL;
END
$body$
""",
    _V1_TRIGGER_ON,
    step.V2_FUNCTION_SQL,
)
"""Version 2 (as SQLite's v5): no heads, no per-write counters; the one-call step function."""

_V3 = (step.V3_FUNCTION_SQL, step.V3_PLAIN_FUNCTION_SQL)
"""Version 3: the step functions with a scalar result, and one for a plain step."""

_V4 = (
    step.PUT_STEP_SQL,
    step.FUNCTION_SQL,
    step.PLAIN_FUNCTION_SQL,
    'DROP TRIGGER IF EXISTS tether_checkpoint_stored ON "{schema}".checkpoints',
    'DROP FUNCTION IF EXISTS "{schema}".tether_checkpoint_stored()',
)
"""Version 4: the step functions create the thread row themselves; no insert trigger."""

_APPENDED_INDEXES = ("checkpoints_pkey", "blobs_pkey")
"""Indexes whose keys each thread appends to in order (ids and versions grow; not
``writes_pkey``: a parallel step's task ids come in random order)."""

_V5 = (
    'DROP INDEX IF EXISTS "{schema}".checkpoints_by_id',
    "CREATE INDEX checkpoints_by_id ON checkpoints (checkpoint_id) WITH (fillfactor = 100)",
    *(f'ALTER INDEX "{{schema}}".{name} SET (fillfactor = 100)' for name in _APPENDED_INDEXES),
)
"""Version 5: compact checkpoint bodies (no table change), ``checkpoints_by_id`` on the id
alone, and full pages for the indexes a thread appends to."""

_V6: tuple[str, ...] = ()
"""Version 6: compressed blob and write values (``packing``); the tables are unchanged."""

_V7 = step.ROW_FUNCTIONS_SQL
"""Version 7: the step functions taking one composite argument (``step``, ``rowarg``)."""


def _pack_writes(conn: PgConn) -> None:
    """Version 8's data step: v7's write rows (one per write) packed into ``writes_v8``, a row
    per task, read through a server-side cursor so a large table never sits in memory."""
    name = conn.schema
    key: tuple[Any, ...] | None = None
    path, entries, batch = "", list[Any](), list[tuple[Any, ...]]()

    def flush() -> None:
        if key is not None:
            framed = int(task_writes.holds_frame(entries))
            batch.append((*key, path, framed, ormsgpack.packb(entries)))

    insert = f'INSERT INTO "{name}".writes_v8 ({task_writes.COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s)'
    with conn.raw.cursor(name="tether_v8_writes") as old, conn.raw.cursor() as new:
        old.execute(
            f"SELECT thread_id, ns, checkpoint_id, task_id, task_path, idx, channel, type, data "
            f'FROM "{name}".writes ORDER BY thread_id, ns, checkpoint_id, task_id, idx'
        )
        for thread_id, ns, checkpoint_id, task_id, task_path, idx, channel, tag, data in old:
            if (thread_id, ns, checkpoint_id, task_id) != key:
                flush()
                key, path, entries = (thread_id, ns, checkpoint_id, task_id), task_path, []
                if len(batch) >= 1000:
                    new.executemany(insert, batch)
                    batch.clear()
            entries.append((idx, channel, tag, None if data is None else bytes(data)))
        flush()
        if batch:
            new.executemany(insert, batch)


_V8: tuple[str | Callable[[Any], None], ...] = (
    *(f'DROP FUNCTION IF EXISTS "{{schema}}".{f}' for f in step.OLD_FUNCTIONS),
    'DROP TYPE IF EXISTS "{schema}".tether_step7_args',
    'DROP TYPE IF EXISTS "{schema}".tether_step7_plain_args',
    """CREATE TABLE "{schema}".writes_v8 (
    thread_id TEXT COLLATE "C" NOT NULL,
    ns TEXT COLLATE "C" NOT NULL,
    checkpoint_id TEXT COLLATE "C" NOT NULL,
    task_id TEXT COLLATE "C" NOT NULL,
    task_path TEXT COLLATE "C" NOT NULL,
    framed INTEGER NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id)
)""",
    _pack_writes,
    'DROP TABLE "{schema}".writes',
    'ALTER TABLE "{schema}".writes_v8 RENAME TO writes',
    'ALTER INDEX "{schema}".writes_v8_pkey RENAME TO writes_pkey',
    *step.PACKED_FUNCTIONS_SQL,
    start.FUNCTION_SQL,
)
"""Version 8: a task's writes in one row; the step functions that insert such rows;
``tether_take_read``, a run's lease and first read in one call."""

MIGRATIONS: tuple[tuple[str | Callable[[Any], None], ...], ...] = (
    (*_V1.split(";\n"), _V1_TRIGGER, _V1_TRIGGER_ON),
    _V2,
    _V3,
    _V4,
    _V5,
    _V6,
    _V7,
    _V8,
)
"""Per version, its statements (or a function of the connection, for a step SQL cannot do
alone); ``{schema}`` stands for the schema's name."""


def check_name(name: str) -> str:
    """A namespace (schema) name: lower-case letters, digits and ``_``, at most 63 long."""
    return check_namespace(name)


def ensure(conn: PgConn, where: str) -> None:
    """Create or upgrade the schema to ``SCHEMA_VERSION`` (the caller commits)."""
    name = conn.schema
    found = _stored_version(conn)
    if found == SCHEMA_VERSION:
        return
    conn.raw.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_SALT, name))
    found = _stored_version(conn)  # another process may have finished meanwhile
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"schema {name!r} in {where} was written by a newer tether (schema v{found}; this "
            f"tether knows up to v{SCHEMA_VERSION}): upgrade tether"
        )
    if found == 0:
        _refuse_foreign(conn, where)
    conn.raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    for version in range(found + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version - 1]:
            if callable(statement):
                statement(conn)
            elif statement.strip():
                conn.raw.execute(qualify(statement.replace("{schema}", name), name))
        conn.execute(
            "INSERT INTO tether_meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (str(version),),
        )


@functools.lru_cache(maxsize=512)
def qualify(sql: str, schema_name: str) -> str:
    """``sql`` with tether's table names qualified by ``schema_name`` (already qualified
    names, like those in the trigger function, are left alone)."""
    return _TABLE.sub(lambda m: f'{m.group(1)} "{schema_name}".{m.group(2)}', sql)


def _stored_version(conn: PgConn) -> int:
    has_meta = conn.raw.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'tether_meta'",
        (conn.schema,),
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM tether_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _refuse_foreign(conn: PgConn, where: str) -> None:
    """Refuse a schema whose ``checkpoints``-like tables belong to something else (LangGraph)."""
    rows = conn.raw.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
        (conn.schema, [*TABLES, "checkpoint_blobs", "checkpoint_writes"]),
    ).fetchall()
    if rows:
        names = ", ".join(sorted(r[0] for r in rows))
        raise SchemaVersionError(
            f"schema {conn.schema!r} in {where} already has tables tether did not create "
            f"({names}; LangGraph's PostgresSaver uses these names): tether will not mix its "
            f"rows with them. Give tether its own schema: "
            f"PostgresSaver.from_conn_string(url, namespace='tether_app')"
        )
