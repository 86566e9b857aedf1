"""Schema v8's step function looks each delta's base up by its full key (``step._missing_bases``):
a step's check costs the same on a long thread as on a short one, whatever the statistics were
when the connection first planned it; a v7 schema is upgraded and its rows read back."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.postgres import PostgresSaver, schema

from .old_layout import PerWriteSaver

pytestmark = pytest.mark.services


def _grow(saver: PostgresSaver, config: Any, items: list[str], turns: int) -> Any:
    """``turns`` checkpoints of thread ``grow``'s list, one ~300-byte item more each (deltas)."""
    for _ in range(turns):
        items.append(f"{len(items):04d}" + "m" * 300)
        checkpoint = empty_checkpoint()
        checkpoint["id"] = new_checkpoint_id()
        checkpoint["channel_values"] = {"log": list(items)}
        checkpoint["channel_versions"] = {"log": len(items)}
        metadata = {"source": "loop", "step": len(items)}
        config = saver.put_step([], config, checkpoint, metadata, {"log": len(items)})
    return config


def _index_entries_read(conn: psycopg.Connection[Any], namespace: str) -> int:
    """Entries of ``blobs_pkey`` that index scans returned so far."""
    return pg_service.statistic(
        conn,
        "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE schemaname = %s "
        "AND indexrelname = 'blobs_pkey'",
        (namespace,),
    )


def test_a_step_on_a_long_thread_reads_one_index_entry_per_base() -> None:
    """One connection, a new namespace: the function is planned at the first step, on an empty
    table. 80 steps later, each step's base check still reads one index entry, not the
    thread's every blob row (v7 read ~80 per step here)."""
    namespace = pg_service.new_namespace()
    with psycopg.connect(pg_service.database_url(), autocommit=True) as conn:
        saver = PostgresSaver(conn, namespace=namespace)
        config: Any = {"configurable": {"thread_id": "grow", "checkpoint_ns": ""}}
        items: list[str] = []
        config = _grow(saver, config, items, 80)
        before = _index_entries_read(conn, namespace)
        config = _grow(saver, config, items, 10)
        read = _index_entries_read(conn, namespace) - before
        head = saver.get_tuple({"configurable": {"thread_id": "grow"}})
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert head is not None and head.checkpoint["channel_values"]["log"] == items
    assert read <= 10 * 3, f"{read} index entries read for 10 steps"


def test_a_v7_schema_is_upgraded_and_its_chains_grow_on(monkeypatch: pytest.MonkeyPatch) -> None:
    url, namespace = pg_service.database_url(), pg_service.new_namespace()
    items: list[str] = []
    config: Any = {"configurable": {"thread_id": "grow", "checkpoint_ns": ""}}
    with monkeypatch.context() as v7:  # this tether as it wrote at schema v7
        v7.setattr(schema, "SCHEMA_VERSION", 7)
        with PerWriteSaver.from_conn_string(url, namespace=namespace) as old:
            config = _grow(old, config, items, 5)
            old_body = _step_body(url, namespace, "tether_step7")
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        head = saver.get_tuple({"configurable": {"thread_id": "grow"}})
        assert head is not None and head.checkpoint["channel_values"]["log"] == items
        config = _grow(saver, config, items, 5)  # deltas on v7's rows
        thread = {"configurable": {"thread_id": "grow"}}
        history = [t.checkpoint["channel_values"]["log"] for t in saver.list(thread)]
        new_body = _step_body(url, namespace, "tether_step8")
    with psycopg.connect(url, autocommit=True) as conn:
        (version,) = conn.execute(
            f"SELECT value FROM \"{namespace}\".tether_meta WHERE key = 'schema_version'"  # noqa: S608
        ).fetchone() or (None,)
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert history == [items[:n] for n in range(10, 0, -1)]
    assert version == str(schema.SCHEMA_VERSION) == "8"
    assert "LATERAL" not in old_body and "LATERAL" in new_body


def _step_body(url: str, namespace: str, function: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = %s",
            (namespace, function),
        ).fetchone()
    return str(row[0]) if row else ""
