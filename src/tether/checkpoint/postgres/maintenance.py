"""Listing with metadata filters, and lineage-aware delete, copy and prune, in PostgreSQL.

The same operations as ``tether.checkpoint.sqlite.maintenance`` (which this module reuses
where the SQL is the same); what differs is PostgreSQL's: metadata filters are JSONB
containment (served by the GIN index) plus an exact equality test, pages are cut in
``(checkpoint_id, thread_id, ns)`` order reading the ``checkpoint_id`` index (the rare rows
with equal ids sorted as they come), and sets of ids travel as arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether.checkpoint import deltas
from tether.checkpoint.postgres.reads import FLAGGED_COLUMNS
from tether.checkpoint.sqlite import maintenance as shared
from tether.checkpoint.sqlite.metadata import filter_items

if TYPE_CHECKING:
    from tether.checkpoint.postgres.connection import PgConn

_INT64 = (-(2**63), 2**63 - 1)


def filter_sql(
    filter: Mapping[str, Any] | None, column: str = "metadata"
) -> tuple[str | None, list[Any], dict[str, Any]]:
    """``(condition, params, checked_in_python)`` for equality filters on top-level keys.

    A scalar value (None, bool, str, a 64-bit int, a finite float) is matched exactly in SQL:
    containment (``@>``, served by the GIN index) and equality of the key's value. Any other
    value (lists, dicts, larger ints) only requires the key in SQL and is compared in Python
    after loading. Keys and values are parameters, never spliced into the statement.
    """
    parts: list[str] = []
    params: list[Any] = []
    later: dict[str, Any] = {}
    for key, value in filter_items(filter):
        if _exact(value):
            parts.append(f"{column} @> ?::jsonb AND ({column} -> ?) = ?::jsonb")
            params += [json.dumps({key: value}), key, json.dumps(value)]
        else:
            parts.append(f"({column} -> ?) IS NOT NULL")
            params.append(key)
            later[key] = value
    if not parts:
        return None, [], later
    return "(" + " AND ".join(parts) + ")", params, later


def _exact(value: Any) -> bool:
    if value is None or isinstance(value, bool | str):
        return True
    if isinstance(value, int):
        return _INT64[0] <= value <= _INT64[1]
    return isinstance(value, float) and math.isfinite(value)


@dataclasses.dataclass(slots=True)
class ListQuery(shared.ListQuery):
    """``list()`` as PostgreSQL SQL (see ``tether.checkpoint.sqlite.maintenance.ListQuery``)."""

    filter_sql = staticmethod(filter_sql)

    def page(
        self, conn: Any, after: tuple[str, str, str] | None, size: int
    ) -> list[tuple[Any, ...]]:
        """One page, newest first, after the (checkpoint_id, thread_id, ns) cursor."""
        where, params = self.conditions(after)
        sql = f"SELECT {FLAGGED_COLUMNS} FROM checkpoints c"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY checkpoint_id DESC, thread_id DESC, ns DESC LIMIT ?"
        return list(conn.execute(sql, [*params, size]).fetchall())


delete_threads = shared.delete_threads


def copy_thread(conn: PgConn, source: str, target: str, stamp: str) -> None:
    """Copy every row of ``source`` to ``target``; ``target``'s thread row is created (with
    ``source``'s metadata) when a checkpoint was copied and it has none."""
    conn.execute(
        "INSERT INTO checkpoints (thread_id, ns, checkpoint_id, parent_id, ts, step, source, "
        "run_id, metadata, body, format) SELECT ?, ns, checkpoint_id, parent_id, ts, step, "
        "source, run_id, CASE WHEN (metadata -> 'thread_id') IS NULL THEN metadata "
        "ELSE jsonb_set(metadata, '{thread_id}', to_jsonb(?::text)) END, body, format "
        "FROM checkpoints WHERE thread_id = ? ORDER BY ns, checkpoint_id "
        "ON CONFLICT (thread_id, ns, checkpoint_id) DO UPDATE SET parent_id = EXCLUDED.parent_id, "
        "ts = EXCLUDED.ts, step = EXCLUDED.step, source = EXCLUDED.source, "
        "run_id = EXCLUDED.run_id, metadata = EXCLUDED.metadata, body = EXCLUDED.body, "
        "format = EXCLUDED.format",
        (target, target, source),
    )
    for table, columns in (
        (
            "blobs",
            "ns, channel, version, kind, base_version, count, depth, chain_bytes, type, data",
        ),
        ("writes", "ns, checkpoint_id, task_id, task_path, framed, body"),
        ("pieces", "digest, data"),
    ):
        conn.execute(
            f"INSERT INTO {table} (thread_id, {columns}) SELECT ?, {columns} FROM {table} "
            f"WHERE thread_id = ? ON CONFLICT DO NOTHING",
            (target, source),
        )
    conn.execute(  # schema v4 has no insert trigger creating it
        "INSERT INTO threads (thread_id, created_at, updated_at) SELECT ?, ?, ? "
        "WHERE EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = ?) "
        "ON CONFLICT (thread_id) DO NOTHING",
        (target, stamp, stamp, target),
    )
    conn.execute(
        "UPDATE threads SET updated_at = ?, metadata = coalesce((SELECT metadata FROM threads "
        "WHERE thread_id = ?), threads.metadata) WHERE thread_id = ?",
        (stamp, source, target),
    )


def _keep_only(conn: PgConn, thread_id: str, ns: str, kept: list[str]) -> None:
    """Delete every checkpoint of (thread, ns) not in ``kept``, with its writes, then every blob
    no kept checkpoint reaches (directly or as the base of a delta it needs)."""
    for table in ("writes", "checkpoints"):
        conn.execute(
            f"DELETE FROM {table} WHERE thread_id = ? AND ns = ? "
            f"AND NOT (checkpoint_id = ANY(?::text[]))",
            (thread_id, ns, kept),
        )
    needed = shared.kept_versions(conn, thread_id, ns)
    conn.execute(
        f"""
        WITH RECURSIVE reach(channel, version) AS (
            SELECT c COLLATE "C", v COLLATE "C" FROM unnest(?::text[], ?::text[]) AS u(c, v)
            UNION
            SELECT b.channel, b.base_version FROM reach r
            JOIN blobs b ON b.thread_id = ? AND b.ns = ? AND b.channel = r.channel
             AND b.version = r.version WHERE b.kind IN ({deltas.DELTA}, {deltas.REF})
        )
        DELETE FROM blobs WHERE thread_id = ? AND ns = ? AND NOT EXISTS (
            SELECT 1 FROM reach n WHERE n.channel = blobs.channel AND n.version = blobs.version)
        """,
        (
            [c for c, _ in needed],
            [v for _, v in needed],
            thread_id,
            ns,
            thread_id,
            ns,
        ),
    )


prune = functools.partial(shared.prune, keep_only=_keep_only)
delete_for_runs = functools.partial(shared.delete_for_runs, keep_only=_keep_only)
