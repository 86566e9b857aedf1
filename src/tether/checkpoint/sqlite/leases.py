"""Thread rows and writer leases in SQLite: acquire, renew on write, fence, release."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether.checkpoint.lease import Lease, lease_token, new_owner
from tether.checkpoint.lease import lost_error as _lost
from tether.checkpoint.lease import owner_alive as _alive
from tether.errors import ThreadBusy

if TYPE_CHECKING:
    from tether.checkpoint.sqlite.connection import Connections


def try_acquire(conns: Connections, thread_id: str, ttl: float) -> Lease | float | None:
    """One attempt: the lease, or when its holder's lease expires (epoch seconds).

    A lease held by a process of this machine that no longer exists (killed, crashed) is taken
    over at once instead of waiting for it to expire.
    """
    owner = new_owner()
    with conns.write(f"take the lease on thread {thread_id!r}") as conn:
        epoch, holder_expires = _try_take(conn, thread_id, owner, ttl)
    return holder_expires if epoch is None else Lease(thread_id, owner, epoch)


def _try_take(
    conn: sqlite3.Connection, thread_id: str, owner: str, ttl: float
) -> tuple[int | None, float | None]:
    now = time.time()
    row = conn.execute(
        "SELECT lease_owner, lease_expires, lease_epoch FROM threads WHERE thread_id = ?",
        (thread_id,),
    ).fetchone()
    stamp = _stamp()
    if row is None:
        conn.execute(
            "INSERT INTO threads (thread_id, created_at, updated_at, status, lease_owner, "
            "lease_expires, lease_epoch) VALUES (?, ?, ?, 'busy', ?, ?, 1)",
            (thread_id, stamp, stamp, owner, now + ttl),
        )
        return 1, None
    holder, expires, epoch = row
    if holder is not None and expires is not None and expires > now and _alive(holder):
        return None, expires
    conn.execute(
        "UPDATE threads SET lease_owner = ?, lease_expires = ?, lease_epoch = ?, status = 'busy', "
        "updated_at = ? WHERE thread_id = ?",
        (owner, now + ttl, epoch + 1, stamp, thread_id),
    )
    return epoch + 1, None


LEASE_SQL = "SELECT lease_owner, lease_expires, lease_epoch FROM threads WHERE thread_id = ?"
"""A thread's lease row (no row: a thread no write or lease has reached yet)."""


def check_write(
    conn: sqlite3.Connection | Any,
    thread_id: str,
    config: Mapping[str, Any],
    ttl: float,
    lock: str = "",
) -> None:
    """Refuse a write that another run's lease excludes; renew the writer's own lease.

    ``lock`` ends the statement that reads the lease (PostgreSQL passes ``" FOR UPDATE"`` so
    no takeover lands between this check and the write's commit; SQLite's write transaction
    already excludes every other writer).
    """
    row = conn.execute(LEASE_SQL + lock, (thread_id,)).fetchone()
    judge_write(conn, row, thread_id, config, ttl)


def judge_write(
    conn: sqlite3.Connection | Any,
    row: tuple[Any, ...] | None,
    thread_id: str,
    config: Mapping[str, Any],
    ttl: float,
) -> None:
    """``check_write`` given the thread's (lease_owner, lease_expires, lease_epoch) row."""
    token = lease_token(config)
    if row is None or row[0] is None:
        if token is not None and row is not None and row[2] != token[1]:
            raise _lost(thread_id, token[1], row[2])
        return
    holder, expires, epoch = row
    if token is not None and token == (holder, epoch):
        now = time.time()
        if expires is None or expires - now < ttl / 2:  # renew once half the lease is used
            conn.execute(
                "UPDATE threads SET lease_expires = ? WHERE thread_id = ?", (now + ttl, thread_id)
            )
        return
    if token is not None:
        raise _lost(thread_id, token[1], epoch)
    if expires is not None and expires > time.time():
        raise ThreadBusy(
            f"thread {thread_id!r} is being run by another writer; this write was refused "
            f"(one writer per thread): wait for the run to finish"
        )


def release(conn: sqlite3.Connection | Any, lease: Lease, status: str | None, stamp: str) -> None:
    conn.execute(
        "UPDATE threads SET lease_owner = NULL, lease_expires = NULL, "
        "status = coalesce(?, status), updated_at = ? "
        "WHERE thread_id = ? AND lease_owner = ? AND lease_epoch = ?",
        (status, stamp, lease.thread_id, lease.owner, lease.epoch),
    )


def _stamp() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat()
