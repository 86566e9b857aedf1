"""Writer leases in PostgreSQL: the ``threads`` row holds (owner, expiry, fencing epoch).

Taking the lease is one upsert, run as its own statement, that only wins when the lease is free
or expired (the row lock the upsert takes makes two takers serialize); only a held lease needs
a transaction to judge its holder. Every write locks the thread's row ``FOR UPDATE`` while it
checks the writer's token (``sqlite.leases.check_write`` with ``lock=" FOR UPDATE"``, or inside
``tether_step`` for a step), so a takeover cannot slip between the check and the commit.
The rules (a dead local holder is taken over at once, renewal at half the lease, the errors)
are SQLite's, shared from ``tether.checkpoint.sqlite.leases``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tether.checkpoint.lease import Lease, new_owner, owner_alive
from tether.checkpoint.postgres import schema, start
from tether.checkpoint.sqlite.leases import _stamp

if TYPE_CHECKING:
    from tether.checkpoint.postgres.connection import Connections, PgConn

_TAKE = (
    "INSERT INTO threads (thread_id, created_at, updated_at, status, lease_owner, "
    "lease_expires, lease_epoch) VALUES (?, ?, ?, 'busy', ?, ?, 1) "
    "ON CONFLICT (thread_id) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, "
    "lease_expires = EXCLUDED.lease_expires, lease_epoch = threads.lease_epoch + 1, "
    "status = 'busy', updated_at = EXCLUDED.updated_at "
    "WHERE threads.lease_owner IS NULL OR threads.lease_expires IS NULL "
    "OR threads.lease_expires <= ? OR threads.lease_owner = EXCLUDED.lease_owner "
    "RETURNING lease_epoch"
)


def _take(conn: PgConn, params: tuple[Any, ...]) -> Lease | None:
    got = conn.execute(_TAKE, params).fetchone()
    return None if got is None else Lease(params[0], params[3], int(got[0]))


def _take_params(thread_id: str, owner: str, ttl: float) -> tuple[Any, ...]:
    now = time.time()
    stamp = _stamp()
    return (thread_id, stamp, stamp, owner, now + ttl, now)


def take_and_read(
    conns: Connections, thread_id: str, ttl: float, read: tuple[str, Sequence[Any]]
) -> tuple[Lease | None, Any]:
    """A free (or expired) lease taken and then ``read``'s first row, in one round trip: one
    call of the schema's ``tether_take_read`` (``start``; before schema v8, the two statements
    sent together, ``PgConn.together``), one transaction, so the read sees the thread as it
    is once the lease is held. The lease is None when another run holds it (the row is then
    of no use: the caller takes the long way, ``try_acquire``). Both statements are harmless
    to run again, so a dropped connection is retried."""
    take = _take_params(thread_id, new_owner(), ttl)
    owner = take[3]

    def work(conn: PgConn) -> tuple[Lease | None, Any]:
        if schema.SCHEMA_VERSION >= start.SINCE:  # one call of the schema's function
            params = read[1]  # (thread_id, ns) for the head, (thread_id, ns, checkpoint_id)
            checkpoint_id = params[2] if len(params) > 2 else None
            args = (thread_id, params[1], checkpoint_id, owner, take[4], take[5], take[1])
            epoch, row = start.take_and_read(conn, args)
            return (None if epoch is None else Lease(thread_id, owner, epoch)), row
        with conn.together():
            taken = conn.execute(_TAKE, take)
            found = conn.execute(*read)
        got = taken.fetchone()
        lease = None if got is None else Lease(thread_id, owner, int(got[0]))
        return lease, found.fetchone()

    action = f"take the lease on thread {thread_id!r} and read it"
    result: tuple[Lease | None, Any] = conns.statement(work, action, idempotent=True)
    return result


def try_acquire(conns: Connections, thread_id: str, ttl: float) -> Lease | float | None:
    """One attempt: the lease, or when its holder's lease expires (epoch seconds).

    A free (or expired) lease is taken by one statement in one round trip; running it again
    after a lost answer is harmless (the same owner wins again), so it is retried. Only a held
    lease needs a transaction, to judge its holder under the row lock.
    """
    take = _take_params(thread_id, new_owner(), ttl)
    action = f"take the lease on thread {thread_id!r}"
    stamp = take[1]
    owner = take[3]
    got = conns.statement(lambda conn: _take(conn, take), action, idempotent=True)
    if got is not None:
        return got

    def work(conn: PgConn) -> Lease | float | None:
        now = time.time()
        taken = _take(conn, (thread_id, stamp, stamp, owner, now + ttl, now))
        if taken is not None:  # freed since the first attempt
            return taken
        holder, expires, epoch = conn.execute(
            "SELECT lease_owner, lease_expires, lease_epoch FROM threads WHERE thread_id = ? "
            "FOR UPDATE",
            (thread_id,),
        ).fetchone() or (None, None, 0)
        if holder is not None and expires is not None and expires > now and owner_alive(holder):
            return float(expires)
        conn.execute(  # free again, or the holder is gone (a killed process of this machine)
            "UPDATE threads SET lease_owner = ?, lease_expires = ?, lease_epoch = ?, "
            "status = 'busy', updated_at = ? WHERE thread_id = ?",
            (owner, now + ttl, epoch + 1, _stamp(), thread_id),
        )
        return Lease(thread_id, owner, epoch + 1)

    result: Lease | float | None = conns.run(work, action)
    return result
