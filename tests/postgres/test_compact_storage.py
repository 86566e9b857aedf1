"""Schema v5: compact checkpoint bodies and smaller indexes; a v3 schema's rows still read back
exactly after the upgrade, a conversation written at v3 goes on on top of them, and the saver
opened before the upgrade goes on too."""

from __future__ import annotations

from typing import Any

import ormsgpack
import psycopg
import pytest

import pg_service
from tether.checkpoint.postgres import PostgresSaver, schema
from tether.checkpoint.sqlite import rows

from .chats import history, run_turns

pytestmark = pytest.mark.services


class _V3Saver(PostgresSaver):
    """Writes bodies as schema v3's tether did: versions with their leading zeros."""

    _COMPACT_VERSIONS = False


def _turns(saver: PostgresSaver, thread: str, first: int, count: int) -> None:
    run_turns(saver, thread, first, count, ask_filler="", reply_filler="x" * 150)


def _catalog(url: str, namespace: str) -> tuple[str, dict[str, bool], dict[str, Any]]:
    """The schema version, whether each checkpoint's stored body is compact (by id), and the
    indexes' definitions and storage options."""
    with psycopg.connect(url) as conn:
        (version,) = conn.execute(
            f"SELECT value FROM \"{namespace}\".tether_meta WHERE key = 'schema_version'"  # noqa: S608
        ).fetchone()
        compact = {
            checkpoint_id: "z" in ormsgpack.unpackb(body)
            for checkpoint_id, body in conn.execute(
                f'SELECT checkpoint_id, body FROM "{namespace}".checkpoints'  # noqa: S608
            )
        }
        indexes = {
            name: (definition, options or [])
            for name, definition, options in conn.execute(
                "SELECT c.relname, pg_get_indexdef(c.oid), c.reloptions FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = 'i'",
                (namespace,),
            )
        }
    return version, compact, indexes


def test_bodies_store_versions_without_their_leading_zeros() -> None:
    with pg_service.fresh_saver() as saver:
        _turns(saver, "short", 0, 2)
        config = {"configurable": {"thread_id": "short"}}
        head = saver.get_tuple(config)
        with psycopg.connect(pg_service.database_url()) as conn:
            (body,) = conn.execute(
                f"SELECT body FROM {pg_service.SHARED}.checkpoints "  # noqa: S608
                "WHERE thread_id = 'short' ORDER BY checkpoint_id DESC LIMIT 1"
            ).fetchone()
        stored = ormsgpack.unpackb(body)
        versions = head.checkpoint["channel_versions"]
        assert stored["z"] == rows.STRIPPED_ZEROS
        assert stored["channel_versions"] == {
            c: v[rows.STRIPPED_ZEROS :] for c, v in versions.items()
        }
        assert all(v.startswith("0" * rows.STRIPPED_ZEROS) for v in versions.values())


def test_a_v3_schema_is_upgraded_and_its_rows_still_read_back_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = pg_service.database_url()
    namespace = pg_service.new_namespace()
    chat = {"configurable": {"thread_id": "chat"}}
    with monkeypatch.context() as v3:  # this tether as it was at schema v3
        v3.setattr(schema, "SCHEMA_VERSION", 3)
        running = _V3Saver.from_conn_string(url, namespace=namespace)  # stays open: see below
        _turns(running, "chat", 0, 6)
        _turns(running, "other", 0, 1)
        before = history(running, chat)
        across = history(running, None)
    version, compact, indexes = _catalog(url, namespace)
    assert version == "3" and not any(compact.values())
    assert "(checkpoint_id, thread_id, ns)" in indexes["checkpoints_by_id"][0]

    with running, PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        assert history(saver, chat) == before
        assert history(saver, None) == across
        _turns(saver, "chat", 6, 2)  # deltas on top of the v3 rows
        after = history(saver, chat)
        assert after[len(after) - len(before) :] == before
        # The saver opened before the upgrade reads the new rows and goes on.
        assert history(running, chat) == after
        _turns(running, "chat", 8, 1)
        assert len(saver.get_tuple(chat).checkpoint["channel_values"]["messages"]) == 18
        by_v3 = {t[1]["id"] for t in history(saver, chat)[:3]}
        saver.copy_thread("chat", "copy")  # same checkpoint ids in two threads
        listed = [
            (t.config["configurable"]["thread_id"], t.checkpoint["id"]) for t in saver.list(None)
        ]
        assert listed == sorted(listed, key=lambda k: (k[1], k[0]), reverse=True)
        page = list(saver.list(None, before=after[2][0], limit=3))
        assert [t.checkpoint["id"] for t in page] == [
            i for _, i in listed if i < after[2][1]["id"]
        ][:3]

    version, compact, indexes = _catalog(url, namespace)
    with psycopg.connect(url) as conn:
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert version == str(schema.SCHEMA_VERSION) == "8"
    full = {t[1]["id"] for t in across} | by_v3
    assert len(compact) == len(full) + 6
    assert all(is_compact == (i not in full) for i, is_compact in compact.items())
    assert indexes["checkpoints_by_id"][0].endswith("(checkpoint_id) WITH (fillfactor='100')")
    for name in ("checkpoints_pkey", "blobs_pkey"):
        assert indexes[name][1] == ["fillfactor=100"]
    assert indexes["writes_pkey"][1] == []
