"""Delta chains read on PostgreSQL: each link looked up by its full key, whatever the planner
knows about the table.

SQLite's chain statement (``sqlite.rows._chain_sql``) joins the recursion to ``blobs`` and
lets the planner choose. PostgreSQL, on a table not yet analyzed (a new database, a table that
grew since autovacuum last ran), planned that join as a scan of the thread's every blob row
per link: 112 ms for one page of W2-add history (1,353 chain rows, 199 blobs) where the
analyzed table took 8 ms. Here the recursion's every step is a ``LATERAL ... LIMIT 1`` lookup
on all four columns of the primary key, which is one index probe under any statistics; the
pairs travel as two arrays, so the statement's text is the same for every page. A row that
several chains share (a full value under many deltas) is sent with its data once, not once per
chain: W2-add history at 100 turns fetched 3,677 chain rows for 300 checkpoints.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from tether.checkpoint import deltas
from tether.checkpoint.postgres import packing
from tether.checkpoint.sqlite import rows

_LINK = (
    "SELECT b.channel, b.version, b.kind, b.base_version, b.type, b.data, b.count "
    "FROM blobs b WHERE b.thread_id = ? AND b.ns = ? AND b.channel = {channel} "
    "AND b.version = {version} LIMIT 1"
)
CHAIN_SQL = f"""
    WITH RECURSIVE chain(channel, root, version, kind, base_version, type, data, count,
                         depth) AS (
        SELECT b.channel, b.version, b.version, b.kind, b.base_version, b.type, b.data,
               b.count, 0
        FROM unnest(?::text[], ?::text[]) AS w(channel, version)
        CROSS JOIN LATERAL ({
    _LINK.format(channel='w.channel COLLATE "C"', version='w.version COLLATE "C"')
}) b
        UNION ALL
        SELECT b.channel, c.root, b.version, b.kind, b.base_version, b.type, b.data,
               b.count, c.depth + 1
        FROM chain c
        CROSS JOIN LATERAL ({_LINK.format(channel="c.channel", version="c.base_version")}) b
        WHERE c.kind IN ({deltas.DELTA}, {deltas.REF}) AND c.depth <= {deltas.MAX_CHAIN}
    )
    SELECT channel, root, depth, version, kind, type,
        CASE WHEN row_number() OVER (PARTITION BY channel, version) = 1 THEN data END, count
    FROM chain
"""


def chain_query(page: list[tuple[str, str]], thread_id: str, ns: str) -> tuple[str, Sequence[Any]]:
    channels = [c for c, _ in page]
    versions = [v for _, v in page]
    return CHAIN_SQL, (channels, versions, thread_id, ns, thread_id, ns)


fetch_chains = functools.partial(rows.fetch_chains, query=chain_query, opened=packing.open_value)
