"""A super-step on PostgreSQL is one statement (``tether_step``): what it stores, what it
refuses, when it hands the step to the transaction path, and the upgrade of a v1 schema."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.lease import LEASE_KEY, new_owner
from tether.checkpoint.postgres import PostgresSaver, schema
from tether.errors import ConflictError, ThreadBusy

from .old_layout import PerWriteSaver

pytestmark = pytest.mark.services


def _cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


def _step(saver: PostgresSaver, config: dict[str, Any], values: dict[str, Any], writes: Any = ()):
    """Store ``values`` (all channels changed) after ``config``, with ``writes`` on it."""
    before = saver.get_tuple(config) if config["configurable"].get("checkpoint_id") else None
    versions = dict(before.checkpoint["channel_versions"]) if before else {}
    for channel in values:
        versions[channel] = saver.get_next_version(versions.get(channel))
    checkpoint = empty_checkpoint()
    checkpoint["id"] = new_checkpoint_id()
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = versions
    metadata = {"source": "loop", "step": 0}
    return saver.put_step(list(writes), config, checkpoint, metadata, dict(versions))


class _Counting(PostgresSaver):
    """Counts the statements its commit seam sees (one per one-statement write)."""

    seen = 0

    def _before_commit(self, conn: Any) -> None:
        self.seen += 1


def test_a_step_with_writes_and_blobs_is_one_statement_and_reads_back() -> None:
    pg_service.fresh_saver().close()
    with _Counting.from_conn_string(pg_service.database_url(), namespace=pg_service.SHARED) as s:
        big = ["m" * 300] * 5
        config = _step(s, _cfg("one"), {"big": big, "n": 1})
        writes = [(config, [("n", 2), ("big", [*big, "x"])], "task-a", "")]
        writes.append((config, [("n", 3)], "task-b", ""))
        seen = s.seen
        config = _step(s, config, {"big": [*big, "x"], "n": 3}, writes)
        assert s.seen == seen + 1  # no BEGIN/COMMIT transaction around it
        head = s.get_tuple(_cfg("one"))
        assert head is not None
        assert head.checkpoint["channel_values"] == {"big": [*big, "x"], "n": 3}
        parent = s.get_tuple(head.parent_config)
        assert parent is not None
        assert sorted((t, c, v) for t, c, v in parent.pending_writes) == [
            ("task-a", "big", [*big, "x"]),
            ("task-a", "n", 2),
            ("task-b", "n", 3),
        ]


def test_a_value_whose_base_another_saver_deleted_is_stored_in_full() -> None:
    """The grown list would be a delta on the row this saver wrote last, but another process
    deleted the thread meanwhile: the function stores nothing and the transaction path stores
    the value whole."""
    pg_service.fresh_saver().close()
    url = pg_service.database_url()
    with (
        PostgresSaver.from_conn_string(url, namespace=pg_service.SHARED) as mine,
        PostgresSaver.from_conn_string(url, namespace=pg_service.SHARED) as other,
    ):
        big = ["m" * 300] * 5
        _step(mine, _cfg("gone"), {"big": big})
        other.delete_thread("gone")
        config = _step(mine, _cfg("gone"), {"big": [*big, "more"]})
        found = other.get_tuple(config)
        assert found is not None
        assert found.checkpoint["channel_values"] == {"big": [*big, "more"]}


def test_a_write_the_lease_refuses_stores_nothing() -> None:
    with pg_service.fresh_saver() as saver:
        lease = saver.acquire_lease("held")
        assert lease is not None
        with pytest.raises(ThreadBusy):  # no token: another run holds the thread
            _step(saver, _cfg("held"), {"n": 1})
        saver.release_lease(lease)
        newer = saver.acquire_lease("held")
        assert newer is not None and newer.epoch == lease.epoch + 1
        stale = _cfg("held")
        stale["configurable"][LEASE_KEY] = lease.token
        with pytest.raises(ConflictError, match="lost its lease"):  # the fenced-off older run
            _step(saver, stale, {"n": 2})
        assert list(saver.list(_cfg("held"))) == []


def test_a_v1_schema_is_upgraded_in_place() -> None:
    namespace = pg_service.new_namespace()
    url = pg_service.database_url()
    with psycopg.connect(url) as conn:
        conn.execute(f'CREATE SCHEMA "{namespace}"')
        for statement in schema.MIGRATIONS[0]:
            if statement.strip():
                sql = statement.replace("{schema}", namespace)
                conn.execute(schema.qualify(sql, namespace))
        conn.execute(
            f"INSERT INTO \"{namespace}\".tether_meta VALUES ('schema_version', '1')"  # noqa: S608
        )
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        config = _step(saver, _cfg("up"), {"n": 1})
        assert saver.get_tuple(_cfg("up")).config == config
    with psycopg.connect(url) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (namespace,)
            )
        }
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'threads'",
                (namespace,),
            )
        }
        version = conn.execute(
            f"SELECT value FROM \"{namespace}\".tether_meta WHERE key = 'schema_version'"  # noqa: S608
        ).fetchone()
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert "heads" not in tables and "checkpoints" in tables
    assert not {"checkpoint_count", "bytes"} & columns
    assert version == (str(schema.SCHEMA_VERSION),)


def test_a_tasks_writes_alone_are_one_statement_and_the_lease_still_guards_them() -> None:
    pg_service.fresh_saver().close()
    with _Counting.from_conn_string(pg_service.database_url(), namespace=pg_service.SHARED) as s:
        config = _step(s, _cfg("w"), {"n": 1})
        seen = s.seen
        s.put_writes(config, [("n", 5)], "task-a")
        assert s.seen == seen + 1
        lease = s.acquire_lease("w")
        assert lease is not None
        with pytest.raises(ThreadBusy):  # no token: the run holding the lease excludes it
            s.put_writes(config, [("n", 6)], "task-b")
        found = s.get_tuple(config)
        assert found is not None
        assert found.pending_writes == [("task-a", "n", 5)]
        assert found.checkpoint["channel_values"] == {"n": 1}  # no checkpoint row was added
        assert len(list(s.list(_cfg("w")))) == 1


def test_a_task_id_given_as_a_uuid_is_stored_as_its_text() -> None:
    task = uuid.UUID("12345678-1234-5678-1234-567812345678")
    with pg_service.fresh_saver() as saver:
        checkpoint = empty_checkpoint()
        checkpoint["id"] = new_checkpoint_id()
        config = saver.put(_cfg("uuid"), checkpoint, {"source": "input", "step": -1}, {})
        saver.put_writes(config, [("n", 1)], task)  # type: ignore[arg-type]
        found = saver.get_tuple(config)
        assert found is not None
        assert found.pending_writes == [(str(task), "n", 1)]


def _thread_rows(namespace: str) -> list[str]:
    with psycopg.connect(pg_service.database_url()) as conn:
        rows = conn.execute(
            f'SELECT thread_id FROM "{namespace}".threads ORDER BY thread_id'  # noqa: S608
        ).fetchall()
    return [r[0] for r in rows]


def _triggers(namespace: str) -> list[str]:
    with psycopg.connect(pg_service.database_url()) as conn:
        rows = conn.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT t.tgisinternal",
            (namespace,),
        ).fetchall()
    return [r[0] for r in rows]


def test_a_threads_first_checkpoint_creates_its_row_without_a_trigger() -> None:
    """Schema v4 has no insert trigger: the step function, the transaction path (a write of
    another thread sends the step there) and ``copy_thread`` each create the thread's row."""
    with pg_service.fresh_saver() as saver:
        assert _triggers(saver.namespace) == []
        first = _step(saver, _cfg("by-function"), {"n": 1})
        other = [(first, [("n", 2)], "task-a", "")]  # a write of thread "by-function"
        _step(saver, _cfg("by-transaction"), {"n": 1}, other)
        saver.copy_thread("by-function", "by-copy")
        assert _thread_rows(saver.namespace) == ["by-copy", "by-function", "by-transaction"]
        found = saver.get_tuple(_cfg("by-transaction"))
        assert found is not None and found.checkpoint["channel_values"] == {"n": 1}


def test_a_v3_schema_is_upgraded_and_keeps_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema written at v3 (insert trigger, v3's step functions, a row per write) is
    upgraded in place: its rows read back, the trigger is gone, and v8's step functions
    replace the old ones (which inserted a row per write)."""
    namespace = pg_service.new_namespace()
    url = pg_service.database_url()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)
    with PerWriteSaver.from_conn_string(url, namespace=namespace) as old:
        config = _step(old, _cfg("before"), {"n": 1})
        config = _step(old, config, {"n": 2}, [(config, [("n", 2)], "task-a", "")])
    assert _triggers(namespace) == ["tether_checkpoint_stored"]
    monkeypatch.undo()
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        head = saver.get_tuple(_cfg("before"))
        assert head is not None and head.config == config
        assert head.checkpoint["channel_values"] == {"n": 2}
        parent = saver.get_tuple(head.parent_config)
        assert parent is not None and parent.pending_writes == [("task-a", "n", 2)]
        _step(saver, _cfg("after"), {"n": 1})
        assert _thread_rows(namespace) == ["after", "before"]
    with psycopg.connect(url) as conn:
        version = conn.execute(
            f"SELECT value FROM \"{namespace}\".tether_meta WHERE key = 'schema_version'"  # noqa: S608
        ).fetchone()
        functions = {
            r[0]
            for r in conn.execute(
                "SELECT p.proname || '/' || p.pronargs FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s",
                (namespace,),
            )
        }
    triggers = _triggers(namespace)
    with psycopg.connect(url) as conn:
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert version == (str(schema.SCHEMA_VERSION),) and triggers == []
    assert functions == {"tether_step8/1", "tether_step8_plain/1", "tether_take_read/7"}


def _wait_for_a_lock_wait(url: str) -> None:
    """Until a backend of the test database waits on a lock (at most 10 s)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(1000):
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.01)
    raise AssertionError("no backend waited on the lease taker's row")


@pytest.mark.parametrize("path", ["function", "transaction"])
def test_a_first_write_racing_a_lease_taker_is_judged_by_the_takers_lease(path: str) -> None:
    """A thread without a row: a write with no lease finds none while a run taking the lease
    has inserted the row but not committed. The write waits for that run, then judges its
    lease and is refused (``ThreadBusy``) instead of landing beside the new holder's run;
    through the step function, and through the transaction path (a step with a write of
    another thread goes there)."""
    with pg_service.fresh_saver() as saver:
        url = pg_service.database_url()
        outcome: dict[str, Any] = {}
        writes = []
        if path == "transaction":
            other = _step(saver, _cfg("other"), {"n": 1})
            writes = [(other, [("n", 2)], "task-a", "")]

        def write() -> None:
            try:
                _step(saver, _cfg("raced"), {"n": 1}, writes)
                outcome["stored"] = True
            except Exception as exc:
                outcome["error"] = exc

        with psycopg.connect(url) as taker:  # a transaction, left open until the write waits
            taker.execute(
                f'INSERT INTO "{saver.namespace}".threads (thread_id, created_at, updated_at, '  # noqa: S608
                "status, lease_owner, lease_expires, lease_epoch) "
                "VALUES ('raced', '', '', 'busy', %s, %s, 1)",
                (new_owner(), time.time() + 60),
            )
            writer = threading.Thread(target=write)
            writer.start()
            _wait_for_a_lock_wait(url)
            taker.commit()
            writer.join(30)
        assert isinstance(outcome.get("error"), ThreadBusy), outcome
        assert list(saver.list(_cfg("raced"))) == []
