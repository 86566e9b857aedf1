"""Turning a current SQLite file back into older layouts, for migration tests."""

from __future__ import annotations

import sqlite3

import ormsgpack

V7_WRITES = (
    "CREATE TABLE writes (thread_id TEXT NOT NULL, ns TEXT NOT NULL, "
    "checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, idx INTEGER NOT NULL, "
    "channel TEXT NOT NULL, type TEXT, data BLOB, task_path TEXT NOT NULL DEFAULT '', "
    "PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, idx)) WITHOUT ROWID"
)


def unpack_writes(conn: sqlite3.Connection) -> None:
    """Rewrite the ``writes`` table as schema v1-v7 had it, a row per write (the rows kept)."""
    packed = conn.execute(
        "SELECT thread_id, ns, checkpoint_id, task_id, task_path, body FROM writes"
    ).fetchall()
    conn.execute("DROP TABLE writes")
    conn.execute(V7_WRITES)
    conn.executemany(
        "INSERT INTO writes (thread_id, ns, checkpoint_id, task_id, idx, channel, type, data, "
        "task_path) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (*key, idx, channel, tag, data, path)
            for *key, path, body in packed
            for idx, channel, tag, data in ormsgpack.unpackb(body)
        ],
    )
