"""A run's start in one call of a server function: the lease taken and the thread read.

``leases.take_and_read`` sends two statements together (the lease upsert, then the checkpoint
row): one round trip, but the server parses, analyzes and plans both on every call (no prepared
statements, so PgBouncer in transaction mode works). ``tether_take_read`` (schema v8) runs the
same two statements in one transaction, their plans cached per connection as the step
function's are, behind a call statement the server still parses each time but which is short.
It returns no row when another run holds the lease, else one row: the new lease epoch, then the
checkpoint row's columns (``reads``), NULL when the thread has no such checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tether.checkpoint.postgres import direct, reads
from tether.checkpoint.sqlite import rows

if TYPE_CHECKING:
    from tether.checkpoint.postgres.connection import PgConn

SINCE = 8
"""The schema version that creates the function."""

_COLUMNS = ", ".join([*rows.SELECTED[2:], reads.has_writes('"{schema}".writes')])
"""``reads.ADDRESSED_COLUMNS`` inside the function's body (tables named with their schema)."""
_SELECT = f'SELECT l_epoch, {_COLUMNS} FROM "{{schema}}".checkpoints c'

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION "{{schema}}".tether_take_read(p_thread text, p_ns text,
    p_checkpoint text, p_owner text, p_expires float8, p_now float8, p_stamp text)
RETURNS TABLE (o_epoch bigint, o_checkpoint_id text, o_parent_id text, o_ts text,
    o_metadata jsonb, o_body bytea, o_writes boolean)
LANGUAGE plpgsql AS $body$
DECLARE
    l_epoch bigint;
BEGIN
    INSERT INTO "{{schema}}".threads AS t (thread_id, created_at, updated_at, status,
        lease_owner, lease_expires, lease_epoch)
    VALUES (p_thread, p_stamp, p_stamp, 'busy', p_owner, p_expires, 1)
    ON CONFLICT (thread_id) DO UPDATE SET lease_owner = EXCLUDED.lease_owner,
        lease_expires = EXCLUDED.lease_expires, lease_epoch = t.lease_epoch + 1,
        status = 'busy', updated_at = EXCLUDED.updated_at
    WHERE t.lease_owner IS NULL OR t.lease_expires IS NULL OR t.lease_expires <= p_now
        OR t.lease_owner = EXCLUDED.lease_owner
    RETURNING t.lease_epoch INTO l_epoch;
    IF l_epoch IS NULL THEN
        RETURN;
    END IF;
    IF p_checkpoint IS NULL THEN
        RETURN QUERY {_SELECT} WHERE c.thread_id = p_thread AND c.ns = p_ns
            ORDER BY c.checkpoint_id DESC LIMIT 1;
    ELSE
        RETURN QUERY {_SELECT} WHERE c.thread_id = p_thread AND c.ns = p_ns
            AND c.checkpoint_id = p_checkpoint;
    END IF;
    IF NOT FOUND THEN
        RETURN QUERY SELECT l_epoch, NULL::text, NULL::text, NULL::text, NULL::jsonb,
            NULL::bytea, NULL::boolean;
    END IF;
END
$body$
"""


def call_sql(schema_name: str) -> str:
    return f'SELECT * FROM "{schema_name}".tether_take_read(%b, %b, %b, %b, %b, %b, %b)'


def take_and_read(conn: PgConn, args: Sequence[Any]) -> tuple[int | None, Any]:
    """Call the function with ``args`` (thread, ns, checkpoint id or None, owner, expiry, now,
    stamp): the lease epoch (None: the lease is held) and the checkpoint row (None: no such
    checkpoint)."""
    row = direct.row(conn.raw, direct.sql(call_sql(conn.schema)), args)
    if row is direct.NOT_SENT:
        row = conn.raw.execute(call_sql(conn.schema), args).fetchone()
    if row is None:
        return None, None
    return int(row[0]), (None if row[1] is None else row[1:])
