"""This tether as PostgreSQL schema v2-v7 stored writes, for upgrade tests.

Set ``schema.SCHEMA_VERSION`` back and ``PerWriteSaver`` writes what those versions wrote: a row
per write (values compressed as v6-v7 did; ``squeeze`` replaced for v5). Its steps go through
the transaction path: the old step functions went with the code that called them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tether.checkpoint.base import (
    BaseCheckpointSaver,
    dump_channel_value,
    get_checkpoint_id,
    get_checkpoint_ns,
    get_thread_id,
    index_writes,
)
from tether.checkpoint.postgres import PostgresSaver, packing
from tether.checkpoint.sqlite import pieces
from tether.checkpoint.sqlite.saver import SqliteSaver

_COLUMNS = "thread_id, ns, checkpoint_id, task_id, idx, channel, type, data, task_path"
_SQL = {
    True: f"INSERT INTO writes ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (thread_id, "
    "ns, checkpoint_id, task_id, idx) DO UPDATE SET channel = EXCLUDED.channel, "
    "type = EXCLUDED.type, data = EXCLUDED.data, task_path = EXCLUDED.task_path",
    False: f"INSERT INTO writes ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
}


def fetch_per_write(
    conn: Any, thread_id: str, ns: str, checkpoint_ids: list[str]
) -> dict[str, list[tuple[str, str, str, bytes]]]:
    """Pending writes per checkpoint from a row per write, as v2-v7 read them."""
    found: dict[str, list[tuple[str, str, str, bytes]]] = {cid: [] for cid in checkpoint_ids}
    marks = ",".join("?" for _ in checkpoint_ids)
    for cid, task_id, channel, stored_tag, stored in conn.execute(
        f"SELECT checkpoint_id, task_id, channel, type, data FROM writes WHERE thread_id = ? "
        f"AND ns = ? AND checkpoint_id IN ({marks}) ORDER BY checkpoint_id, task_path, "
        f"task_id, idx",
        [thread_id, ns, *checkpoint_ids],
    ).fetchall():
        tag, data = packing.open_value(stored_tag or "", stored or b"", thread_id, channel, None)
        at = f"thread {thread_id!r}, channel {channel!r}"
        found[cid].append((task_id, channel, *pieces.resolve(conn, thread_id, tag, data, at)))
    return found


class PerWriteSaver(PostgresSaver):
    """Stores and reads writes as a row per write (schema v2-v7)."""

    squeeze: ClassVar[Any] = staticmethod(packing.squeeze_rows)
    _fetch_writes = staticmethod(fetch_per_write)
    put_step = SqliteSaver.put_step  # type: ignore[assignment]
    put_step_and_release = SqliteSaver.put_step_and_release  # type: ignore[assignment]
    put_writes = SqliteSaver.put_writes  # type: ignore[assignment]

    def put_steps(self, steps: Any, *, lease: Any = None, status: Any = None) -> Any:
        return BaseCheckpointSaver.put_steps(self, steps, lease=lease, status=status)

    def put_writes_many(self, calls: Any) -> None:
        BaseCheckpointSaver.put_writes_many(self, calls)

    def _encode_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> Any:
        indexed, upsert = index_writes(writes)
        thread_id, ns = get_thread_id(config), get_checkpoint_ns(config)
        checkpoint_id = get_checkpoint_id(config)
        rows = [
            (thread_id, ns, checkpoint_id, task_id, idx, channel)
            + (*dump_channel_value(self.serde, channel, value), task_path)
            for idx, channel, value in indexed
        ]
        return _SQL[upsert], rows

    def _store_writes(self, conn: Any, encoded: Sequence[Any]) -> None:
        for sql, rows in encoded:
            if rows:
                stored = self.squeeze(pieces.store(conn, rows[0][0], rows, 6, 7), 6, 7)
                conn.executemany(sql, stored)
