"""Schema v6: blob values and write values compressed (``packing``; bodies are not); rows a
v5 schema holds (written as this tether wrote them before v6: nothing compressed) read back
exactly after the upgrade, and a conversation goes on on top of them."""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Any

import psycopg
import pytest

import pg_service
from tether.checkpoint.postgres import PostgresSaver, packing, schema, step
from tether.errors import CorruptDataError

from .chats import history, run_turns

pytestmark = pytest.mark.services


def _turns(saver: PostgresSaver, thread: str, first: int, count: int) -> None:
    run_turns(saver, thread, first, count, ask_filler=" " + "why " * 50, reply_filler="ok " * 60)


def _stored(url: str, namespace: str) -> dict[str, Any]:
    """How many rows of each table hold compressed values, and how many in all."""
    with psycopg.connect(url) as conn:
        blobs, writes = (
            conn.execute(
                f"SELECT count(*) FILTER (WHERE type LIKE 'z+%%'), count(*) "  # noqa: S608
                f'FROM "{namespace}".{table}'
            ).fetchone()
            for table in ("blobs", "writes")
        )
    return {"blobs": blobs, "writes": writes}


def test_values_are_stored_compressed_and_read_back_as_given() -> None:
    url, namespace = pg_service.database_url(), pg_service.new_namespace()
    chat = {"configurable": {"thread_id": "chat"}}
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        _turns(saver, "chat", 0, 8)
        packed = history(saver, chat)
    counts = _stored(url, namespace)
    _unpack_in_place(url, namespace)  # the same rows as schema v5 stored them
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        expected = history(saver, chat)
    unpacked = _stored(url, namespace)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert packed == expected and len(packed) == 24
    for table in ("blobs", "writes"):
        assert 0 < counts[table][0] <= counts[table][1], table
        assert unpacked[table][0] == 0, table


def _unpack_in_place(url: str, namespace: str) -> None:
    """Rewrite every compressed value of ``namespace`` uncompressed."""
    with psycopg.connect(url) as conn:
        for table, key in (
            ("blobs", "channel, version"),
            ("writes", "checkpoint_id, task_id, idx"),
        ):
            for *keys, stored_tag, stored in conn.execute(
                f'SELECT {key}, type, data FROM "{namespace}".{table} WHERE type LIKE %s',  # noqa: S608
                (packing.TAG + "%",),
            ).fetchall():
                tag, data = packing.unsqueeze(stored_tag, stored, "test")
                match = " AND ".join(f"{k.strip()} = %s" for k in key.split(","))
                conn.execute(
                    f'UPDATE "{namespace}".{table} SET type = %s, data = %s WHERE {match}',  # noqa: S608
                    (tag, data, *keys),
                )


def test_a_v5_schema_is_upgraded_and_its_rows_still_read_back_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, namespace = pg_service.database_url(), pg_service.new_namespace()
    chat = {"configurable": {"thread_id": "chat"}}
    with monkeypatch.context() as v5:  # this tether as it wrote at schema v5
        v5.setattr(schema, "SCHEMA_VERSION", 5)
        v5.setattr(step, "packing", _Plain)
        with PostgresSaver.from_conn_string(url, namespace=namespace) as old:
            _turns(old, "chat", 0, 6)
            _turns(old, "other", 0, 1)
            before = history(old, chat)
            across = history(old, None)
    assert _stored(url, namespace)["blobs"][0] == 0

    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        assert history(saver, chat) == before
        assert history(saver, None) == across
        _turns(saver, "chat", 6, 3)  # compressed deltas on top of the v5 rows
        after = history(saver, chat)
        assert after[len(after) - len(before) :] == before
        saver.copy_thread("chat", "copy")
        copied = history(saver, {"configurable": {"thread_id": "copy"}})
        assert [t[1] for t in copied] == [t[1] for t in after]
        saver.prune(["chat"], strategy="keep_latest")
        head = saver.get_tuple(chat)
        assert head is not None and len(head.checkpoint["channel_values"]["messages"]) == 18
        _turns(saver, "chat", 9, 1)
    counts = _stored(url, namespace)
    with psycopg.connect(url, autocommit=True) as conn:
        (version,) = conn.execute(
            f"SELECT value FROM \"{namespace}\".tether_meta WHERE key = 'schema_version'"  # noqa: S608
        ).fetchone()
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert version == str(schema.SCHEMA_VERSION) == "8"
    assert 0 < counts["blobs"][0] < counts["blobs"][1]


def test_a_damaged_compressed_value_fails_its_thread_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, namespace = pg_service.database_url(), pg_service.new_namespace()
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        for thread in ("bad", "good"):
            _turns(saver, thread, 0, 2)
        with psycopg.connect(url, autocommit=True) as conn:
            changed = sum(
                conn.execute(
                    f'UPDATE "{namespace}".{table} SET data = %s '  # noqa: S608
                    "WHERE thread_id = 'bad' AND type LIKE 'z+%%'",
                    (b"\x00\x01",),
                ).rowcount
                for table in ("blobs", "writes")
            )
            assert changed >= 1
    with PostgresSaver.from_conn_string(url, namespace=namespace) as fresh:  # nothing cached
        with pytest.raises(CorruptDataError, match="'bad'"):
            fresh.get_tuple({"configurable": {"thread_id": "bad"}})
        good = history(fresh, {"configurable": {"thread_id": "good"}})
        assert len(good) == 6
        with caplog.at_level(logging.WARNING):
            listed = {t.config["configurable"]["thread_id"] for t in fresh.list(None)}
        assert "good" in listed
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')


def test_values_that_do_not_shrink_are_stored_as_they_are() -> None:
    noise = os.urandom(300)
    assert packing.squeeze("bytes", noise) == ("bytes", noise)
    assert packing.squeeze("msgpack", b"\x01" * 20) == ("msgpack", b"\x01" * 20)
    assert packing.squeeze("pieces+msgpack", b"\x00" * 400) == ("pieces+msgpack", b"\x00" * 400)
    tag, data = packing.squeeze("msgpack", b"\x00" * 400)
    assert tag == "z+msgpack" and len(data) < 40
    assert packing.unsqueeze(tag, data, "here") == ("msgpack", b"\x00" * 400)


def test_the_preset_dictionary_is_frozen() -> None:
    """Compressed rows need the exact dictionary they were written with: changing it would make
    them unreadable (a new dictionary needs a new tag and mark, and a schema version)."""
    assert hashlib.sha256(packing.ZDICT).hexdigest() == _ZDICT_SHA256


_ZDICT_SHA256 = "a9b3f4679903c9e3856fe1b7338769214e5a1e4e3c1eb719afa7717aa366eaf3"


class _Plain:
    """``packing`` as schema v5 wrote: nothing compressed."""

    @staticmethod
    def squeeze_rows(found: Any, tag_at: int, data_at: int) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in found]
