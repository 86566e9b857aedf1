"""Large values stored once in SQLite: the ``pieces`` table (see ``tether.checkpoint.large``).

Blob and write rows whose value is large hold a frame (type tag ``pieces+<tag>``); the large
payloads sit once per thread in ``pieces``, keyed by digest. Deleting rows never cuts a piece a
remaining row needs: ``collect`` drops only pieces no frame of the thread names.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tether.checkpoint import large
from tether.errors import CorruptDataError


def saver(conn: sqlite3.Connection, thread_id: str) -> Callable[[dict[str, bytes]], None]:
    """A ``save`` callback for ``large.store_rows``: inserts the pieces the thread lacks."""

    def save(pieces: dict[str, bytes]) -> None:
        for digest, data in pieces.items():
            if not conn.execute(
                "SELECT 1 FROM pieces WHERE thread_id = ? AND digest = ?", (thread_id, digest)
            ).fetchone():
                conn.execute(
                    "INSERT INTO pieces (thread_id, digest, data) VALUES (?, ?, ?)",
                    (thread_id, digest, data),
                )

    return save


def store(
    conn: sqlite3.Connection,
    thread_id: str,
    rows: Iterable[Sequence[Any]],
    tag_at: int,
    data_at: int,
) -> list[tuple[Any, ...]]:
    """``rows`` with large values replaced by frames, their pieces stored. A list of tuples
    with no large value (a put's usual rows) is returned as it is, with no copy."""
    if type(rows) is list:
        limit = large.LARGE_VALUE
        for row in rows:
            if type(row) is not tuple or (
                isinstance(data := row[data_at], bytes) and len(data) >= limit
            ):
                break
        else:
            return rows
    return large.store_rows((tuple(r) for r in rows), tag_at, data_at, saver(conn, thread_id))


def resolve(
    conn: sqlite3.Connection, thread_id: str, tag: str, data: bytes, where: str
) -> tuple[str, bytes]:
    """The stored ``(tag, data)`` of a row, frames joined back with their pieces."""
    if not large.is_frame(tag):
        return tag, data
    try:
        digests = large.frame_digests(data)
        marks = ",".join("?" for _ in digests)
        found = dict(
            conn.execute(
                f"SELECT digest, data FROM pieces WHERE thread_id = ? AND digest IN ({marks})",
                [thread_id, *digests],
            ).fetchall()
        )
        return tag[len(large.TAG_PREFIX) :], large.join(data, found)
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptDataError(
            f"{where}: a large value's stored pieces are missing ({exc})"
        ) from exc


def collect(conn: sqlite3.Connection, thread_id: str, needed: set[str] | None) -> None:
    """Delete the thread's pieces that no blob row of it and none of ``needed`` (the pieces
    its write rows name, ``writes.frame_digests``) name any more; none at all when a frame of
    the thread cannot be read (``needed`` None)."""
    if needed is None:
        return
    for (frame,) in conn.execute(
        "SELECT data FROM blobs WHERE thread_id = ? AND type LIKE ?",
        (thread_id, large.TAG_PREFIX + "%"),
    ):
        try:
            needed.update(large.frame_digests(frame))
        except (ValueError, TypeError, KeyError, IndexError):  # damaged: keep every piece
            return
    stored = [
        r[0] for r in conn.execute("SELECT digest FROM pieces WHERE thread_id = ?", (thread_id,))
    ]
    doomed = [(thread_id, d) for d in stored if d not in needed]
    conn.executemany("DELETE FROM pieces WHERE thread_id = ? AND digest = ?", doomed)


def copy(conn: sqlite3.Connection, source: str, target: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO pieces (thread_id, digest, data) "
        "SELECT ?, digest, data FROM pieces WHERE thread_id = ?",
        (target, source),
    )
