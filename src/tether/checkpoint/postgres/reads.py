"""The statements reading checkpoint rows on PostgreSQL: SQLite's (``sqlite.rows``), with each
row's pending-writes flag a count of the writes under one key.

SQLite's flag is ``EXISTS (SELECT 1 FROM writes ...)``. PostgreSQL may plan an ``EXISTS`` as a
hashed subplan: read the whole ``writes`` table (every thread's) into a hash table, then
probe it per row. Once a W2 database is analyzed (all its rows one thread's) it chose that for
the head read of every run: a sequential scan of all 825 write rows at turn 275, so the
first read of each turn grew with the conversation. A scalar subquery is never hashed. Not
one with ``LIMIT 1`` (nor an ``EXISTS`` that cannot be hashed): both are planned to stop at the
first match, and the planner, taking matches as spread evenly through the table, chose a
sequential scan that would stop early where the rows it wants are the newest, at the end
(600 rows read per checkpoint row in ``test_flag_reads``). A ``count(*)`` reads all its
matches, so the planner takes the key's index as soon as the table spans a few pages; a
checkpoint has a few writes (one per task and channel).
"""

from __future__ import annotations

from tether.checkpoint.sqlite import rows


def has_writes(table: str = "writes") -> str:
    """The pending-writes flag of the checkpoint row ``c``: a count under its key in ``table``
    (``writes``, or its schema-qualified name inside a server function's body)."""
    return (
        f"((SELECT count(*) FROM {table} w WHERE w.thread_id = c.thread_id AND w.ns = c.ns "
        "AND w.checkpoint_id = c.checkpoint_id) > 0)"
    )


FLAGGED_COLUMNS = ", ".join([*rows.SELECTED, has_writes()])
"""``rows.FLAGGED_COLUMNS`` with the flag a key lookup."""
ADDRESSED_COLUMNS = ", ".join([*rows.SELECTED[2:], has_writes()])
"""``rows.ADDRESSED_COLUMNS`` with the flag a key lookup."""

ONE_SQL, HEAD_SQL = rows.first_reads(ADDRESSED_COLUMNS)
"""One checkpoint row by its key, a thread's head row (``SqliteSaver``'s, with the flag a key
lookup)."""
