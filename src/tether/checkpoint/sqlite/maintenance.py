"""Listing checkpoints with filters, and lineage-aware delete, copy and prune, in SQLite."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping
from typing import Any

from tether.checkpoint.base import get_checkpoint_id, get_checkpoint_ns, get_thread_id
from tether.checkpoint.sqlite import metadata, pieces, writes
from tether.checkpoint.sqlite.rows import FLAGGED_COLUMNS, unpack_body
from tether.constants import CHECKPOINT_NS, CONF
from tether.errors import ConfigurationError

# The tables holding a thread's rows besides ``threads`` (deleted with the thread).
THREAD_TABLES = ("checkpoints", "blobs", "writes", "pieces")


@dataclasses.dataclass(slots=True)
class ListQuery:
    """A ``list()`` call as SQL: metadata filters as ``metadata.filter_sql`` builds them; values
    SQL cannot compare exactly are checked in Python after loading (``accepts``)."""

    where: list[str]
    params: list[Any]
    python_filter: dict[str, Any]

    filter_sql = staticmethod(metadata.filter_sql)  # another dialect passes its own

    @classmethod
    def build(
        cls,
        config: Mapping[str, Any] | None,
        filter: Mapping[str, Any] | None,
        before: Mapping[str, Any] | None,
    ) -> ListQuery:
        where: list[str] = []
        params: list[Any] = []
        if config:
            where.append("thread_id = ?")
            params.append(get_thread_id(config))
            if CHECKPOINT_NS in (config.get(CONF) or {}):
                where.append("ns = ?")
                params.append(get_checkpoint_ns(config))
            if (checkpoint_id := get_checkpoint_id(config)) is not None:
                where.append("checkpoint_id = ?")
                params.append(checkpoint_id)
        if before is not None:
            before_id = get_checkpoint_id(before)
            if before_id is None:
                raise ConfigurationError(
                    "list(before=...) needs a config with a checkpoint_id: the cursor to list "
                    "before"
                )
            where.append("checkpoint_id < ?")
            params.append(before_id)
        condition, filter_params, later = cls.filter_sql(filter)
        if condition is not None:
            where.append(condition)
            params += filter_params
        return cls(where, params, later)

    def page(
        self, conn: sqlite3.Connection, after: tuple[str, str, str] | None, size: int
    ) -> list[tuple[Any, ...]]:
        """One page, newest first, after the (checkpoint_id, thread_id, ns) cursor."""
        where, params = self.conditions(after)
        # Order and cut the page on the key index alone, then read just those rows: sorting
        # whole rows (values inline) made listing several times slower.
        order = "ORDER BY checkpoint_id DESC, thread_id DESC, ns DESC"
        keys = "SELECT rowid FROM checkpoints"
        if where:
            keys += " WHERE " + " AND ".join(where)
        sql = (
            f"SELECT {FLAGGED_COLUMNS} FROM checkpoints c "
            f"WHERE c.rowid IN ({keys} {order} LIMIT ?) {order}"
        )
        return conn.execute(sql, [*params, size]).fetchall()

    def conditions(self, after: tuple[str, str, str] | None) -> tuple[list[str], list[Any]]:
        """The WHERE terms and parameters of a page after the cursor ``after``."""
        where = list(self.where)
        params = list(self.params)
        if after is not None:
            where.append("(checkpoint_id, thread_id, ns) < (?, ?, ?)")
            params += list(after)
        return where, params

    def accepts(self, metadata: Mapping[str, Any] | None) -> bool:
        if not self.python_filter:
            return True
        meta = metadata or {}
        return all(key in meta and meta[key] == value for key, value in self.python_filter.items())


def delete_threads(
    conn: sqlite3.Connection, thread_ids: list[str], tables: tuple[str, ...] = THREAD_TABLES
) -> None:
    marks = ",".join("?" for _ in thread_ids)
    for table in (*tables, "threads"):
        conn.execute(f"DELETE FROM {table} WHERE thread_id IN ({marks})", thread_ids)


def copy_thread(conn: sqlite3.Connection, source: str, target: str, stamp: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO checkpoints (thread_id, ns, checkpoint_id, parent_id, ts, step, "
        "source, run_id, metadata, body, format) SELECT ?, ns, checkpoint_id, parent_id, ts, step, "
        "source, run_id, CASE WHEN json_type(metadata, '$.thread_id') IS NULL THEN metadata "
        "ELSE json_set(metadata, '$.thread_id', ?) END, body, format "
        "FROM checkpoints WHERE thread_id = ?",
        (target, target, source),
    )
    conn.execute(
        "INSERT OR IGNORE INTO blobs (thread_id, ns, channel, version, kind, base_version, "
        "count, depth, chain_bytes, type, data) SELECT ?, ns, channel, version, kind, "
        "base_version, count, depth, chain_bytes, type, data FROM blobs WHERE thread_id = ?",
        (target, source),
    )
    conn.execute(
        "INSERT OR IGNORE INTO writes (thread_id, ns, checkpoint_id, task_id, task_path, "
        "framed, body) SELECT ?, ns, checkpoint_id, task_id, task_path, framed, body "
        "FROM writes WHERE thread_id = ?",
        (target, source),
    )
    pieces.copy(conn, source, target)
    conn.execute(
        "INSERT INTO threads (thread_id, created_at, updated_at, metadata) "
        "SELECT ?, ?, ?, metadata FROM threads WHERE thread_id = ? "
        "ON CONFLICT (thread_id) DO UPDATE SET updated_at = excluded.updated_at",
        (target, stamp, stamp, source),
    )
    # Copied checkpoints give the target a thread row (leases are judged against it) even
    # when the source has none (rows inserted by hand): no trigger makes one since schema v7.
    conn.execute(
        "INSERT INTO threads (thread_id, created_at, updated_at) SELECT ?, ?, ? "
        "WHERE EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = ?) "
        "ON CONFLICT (thread_id) DO NOTHING",
        (target, stamp, stamp, target),
    )


def prune(
    conn: sqlite3.Connection,
    thread_ids: list[str],
    keep: int,
    keep_only: Any = None,
    recount: Any = None,
    write_pieces: Any = None,
) -> None:
    """Keep the newest ``keep`` checkpoints of each (thread, namespace) and what they need
    (``keep_only``: the dialect's ``_keep_only``, SQLite's by default; ``recount``: a dialect
    that keeps per-thread counters refreshes them; ``write_pieces``: the dialect's
    ``writes.frame_digests``)."""
    keep_only = keep_only or _keep_only
    write_pieces = write_pieces or writes.frame_digests
    for thread_id in thread_ids:
        spaces = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT ns FROM checkpoints WHERE thread_id = ?", (thread_id,)
            )
        ]
        for ns in spaces:
            kept = [
                r[0]
                for r in conn.execute(
                    "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND ns = ? "
                    "ORDER BY checkpoint_id DESC LIMIT ?",
                    (thread_id, ns, keep),
                )
            ]
            keep_only(conn, thread_id, ns, kept)
        pieces.collect(conn, thread_id, write_pieces(conn, thread_id))
        if recount:
            recount(conn, thread_id)


def delete_for_runs(
    conn: sqlite3.Connection,
    run_ids: list[str],
    keep_only: Any = None,
    recount: Any = None,
    write_pieces: Any = None,
) -> list[str]:
    """Delete the runs' checkpoints; return the threads touched (hooks as ``prune``'s)."""
    keep_only = keep_only or _keep_only
    write_pieces = write_pieces or writes.frame_digests
    marks = ",".join("?" for _ in run_ids)
    doomed = conn.execute(
        f"SELECT DISTINCT thread_id, ns FROM checkpoints WHERE run_id IN ({marks})", run_ids
    ).fetchall()
    for thread_id, ns in doomed:
        kept = [
            r[0]
            for r in conn.execute(
                f"SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND ns = ? "
                f"AND (run_id IS NULL OR run_id NOT IN ({marks}))",
                (thread_id, ns, *run_ids),
            )
        ]
        keep_only(conn, thread_id, ns, kept)
    touched = sorted({t for t, _ in doomed})
    for thread_id in touched:
        pieces.collect(conn, thread_id, write_pieces(conn, thread_id))
        if recount:
            recount(conn, thread_id)
    return touched


def _keep_only(conn: sqlite3.Connection, thread_id: str, ns: str, kept: list[str]) -> None:
    """Delete every checkpoint of (thread, ns) not in ``kept``, with its writes, then every blob
    no kept checkpoint reaches (directly or as the base of a delta it needs)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _kept (checkpoint_id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM _kept")
    conn.executemany("INSERT INTO _kept VALUES (?)", [(k,) for k in kept])
    for table in ("writes", "checkpoints"):
        conn.execute(
            f"DELETE FROM {table} WHERE thread_id = ? AND ns = ? "
            f"AND checkpoint_id NOT IN (SELECT checkpoint_id FROM _kept)",
            (thread_id, ns),
        )
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _needed "
        "(channel TEXT, version TEXT, PRIMARY KEY (channel, version))"
    )
    conn.execute("DELETE FROM _needed")
    conn.executemany(
        "INSERT INTO _needed VALUES (?, ?)", sorted(kept_versions(conn, thread_id, ns))
    )
    conn.execute(
        """
        WITH RECURSIVE reach(channel, version) AS (
            SELECT channel, version FROM _needed
            UNION
            SELECT b.channel, b.base_version FROM reach r
            JOIN blobs b ON b.thread_id = ? AND b.ns = ? AND b.channel = r.channel
             AND b.version = r.version WHERE b.kind IN (1, 3)
        )
        INSERT OR IGNORE INTO _needed SELECT channel, version FROM reach
        """,
        (thread_id, ns),
    )
    conn.execute(
        "DELETE FROM blobs WHERE thread_id = ? AND ns = ? AND NOT EXISTS ("
        "SELECT 1 FROM _needed n WHERE n.channel = blobs.channel AND n.version = blobs.version)",
        (thread_id, ns),
    )


def kept_versions(conn: sqlite3.Connection | Any, thread_id: str, ns: str) -> set[tuple[str, str]]:
    """Every (channel, version) a remaining checkpoint of (thread, ns) names."""
    needed: set[tuple[str, str]] = set()
    for checkpoint_id, body in conn.execute(
        "SELECT checkpoint_id, body FROM checkpoints WHERE thread_id = ? AND ns = ?",
        (thread_id, ns),
    ).fetchall():
        where = f"prune thread {thread_id!r}: checkpoint {checkpoint_id!r}"
        needed.update((c, str(v)) for c, v in unpack_body(body, where)["channel_versions"].items())
    return needed
