"""Reads flag a row's pending writes by one key lookup (``postgres.reads``): once the tables are
analyzed, neither the head read that starts every run nor ``list`` reads the whole ``writes``
table (PostgreSQL hashed the ``EXISTS`` over a sequential scan of every thread's writes)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.postgres import PostgresSaver

pytestmark = pytest.mark.services


def _writes_scanned(conn: psycopg.Connection[Any], namespace: str) -> int:
    """Rows of ``writes`` that sequential scans returned so far."""
    return pg_service.statistic(
        conn,
        "SELECT seq_tup_read FROM pg_stat_user_tables WHERE schemaname = %s AND relname = 'writes'",
        (namespace,),
    )


def test_reads_of_an_analyzed_thread_look_its_writes_up_by_key() -> None:
    namespace = pg_service.new_namespace()
    with psycopg.connect(pg_service.database_url(), autocommit=True) as conn:
        saver = PostgresSaver(conn, namespace=namespace)
        config: Any = {"configurable": {"thread_id": "long", "checkpoint_ns": ""}}
        for n in range(80):  # the first 60 get ten tasks' writes each (600 rows: an index pays)
            checkpoint = empty_checkpoint()
            checkpoint["id"] = new_checkpoint_id()
            checkpoint["channel_values"] = {"n": n}
            checkpoint["channel_versions"] = {"n": n + 1}
            config = saver.put(config, checkpoint, {"source": "loop", "step": n}, {"n": n + 1})
            if n < 60:
                for task in range(10):
                    saver.put_writes(config, [("n", task)], f"task-{n}-{task}")
        conn.execute(f'ANALYZE "{namespace}".checkpoints, "{namespace}".writes')
        before = _writes_scanned(conn, namespace)
        thread = {"configurable": {"thread_id": "long"}}
        head = saver.get_tuple(thread)
        listed = list(saver.list(thread, limit=10))  # none has pending writes to fetch
        scanned = _writes_scanned(conn, namespace) - before
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert head is not None and head.checkpoint["channel_values"] == {"n": 79}
    assert [t.checkpoint["channel_values"]["n"] for t in listed] == list(range(79, 69, -1))
    assert scanned == 0
