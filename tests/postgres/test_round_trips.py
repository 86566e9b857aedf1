"""Round trips a run pays on PostgreSQL: taking the lease and reading the thread go together,
and two steps stored at once (``put_steps``) go together, counted as the server's
ReadyForQuery messages in a libpq trace of the saver's one connection."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.lease import LEASE_KEY
from tether.checkpoint.postgres import PostgresSaver, connection
from tether.checkpoint.serde import UnstorableValue
from tether.checkpoint.serde.jsonplus import JsonPlusSerializer
from tether.errors import ConflictError, ThreadBusy

pytestmark = pytest.mark.services


class _Traced:
    """A saver on one traced connection; ``trips()`` counts the round trips so far."""

    def __init__(self, conn: psycopg.Connection[Any], trace: Path) -> None:
        self.conn = conn
        self.saver = PostgresSaver(conn, namespace=pg_service.SHARED)
        self._trace = trace

    def trips(self) -> int:
        return self._trace.read_text().count("ReadyForQuery")


@contextlib.contextmanager
def _traced() -> Iterator[_Traced]:
    pg_service.fresh_saver().close()  # the shared namespace exists
    with (
        tempfile.TemporaryDirectory() as tmp,
        psycopg.connect(pg_service.database_url(), autocommit=True) as conn,
        open(Path(tmp, "trace"), "w") as sink,
    ):
        conn.pgconn.trace(sink.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        traced = _Traced(conn, Path(tmp, "trace"))
        traced.saver.setup()
        yield traced
        conn.pgconn.untrace()


def _cfg(thread: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def _args(config: dict[str, Any], values: dict[str, Any], step: int, writes: Any = ()) -> Any:
    """``put_step``'s arguments: ``values`` (all changed) after ``config``."""
    checkpoint = empty_checkpoint()
    checkpoint["id"] = new_checkpoint_id()
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = {c: f"{step + 2:032}.0" for c in values}
    versions = dict(checkpoint["channel_versions"])
    return (list(writes), config, checkpoint, {"source": "loop", "step": step}, versions)


def test_two_steps_stored_together_are_one_round_trip_and_read_back() -> None:
    with _traced() as t:
        s = t.saver
        lease = s.acquire_lease("two")
        assert lease is not None
        mine = _cfg("two")
        mine["configurable"][LEASE_KEY] = lease.token
        first = _args(mine, {"n": 1}, -1)
        own = _cfg("two", first[2]["id"])
        own["configurable"][LEASE_KEY] = lease.token
        second = _args(own, {"n": 2, "m": "x"}, 0, [(own, [("n", 2)], "task-a", "")])
        before = t.trips()
        config = s.put_steps([first, second], lease=lease, status="idle")
        assert t.trips() == before + 1
        assert config["configurable"]["checkpoint_id"] == second[2]["id"]
        head = s.get_tuple(_cfg("two"))
        assert head is not None and head.checkpoint["channel_values"] == {"n": 2, "m": "x"}
        parent = s.get_tuple(head.parent_config)
        assert parent is not None and parent.pending_writes == [("task-a", "n", 2)]
        again = s.acquire_lease("two")  # the last step gave the lease back
        assert again is not None and again.epoch == lease.epoch + 1


def test_two_steps_the_lease_refuses_store_nothing() -> None:
    with _traced() as t:
        s = t.saver
        lease = s.acquire_lease("taken")
        assert lease is not None
        first = _args(_cfg("taken"), {"n": 1}, -1)
        second = _args(_cfg("taken", first[2]["id"]), {"n": 2}, 0)
        with pytest.raises(ThreadBusy):  # no token: another run holds the thread
            s.put_steps([first, second])
        s.release_lease(lease)
        newer = s.acquire_lease("taken")
        assert newer is not None
        stale = _cfg("taken")
        stale["configurable"][LEASE_KEY] = lease.token
        first = _args(stale, {"n": 1}, -1)
        second = _args(_cfg("taken", first[2]["id"]), {"n": 2}, 0)
        second[1]["configurable"][LEASE_KEY] = lease.token
        with pytest.raises(ConflictError, match="lost its lease"):
            s.put_steps([first, second])
        assert list(s.list(_cfg("taken"))) == []


def test_a_step_that_cannot_be_stored_keeps_the_steps_before_it() -> None:
    """As ``put_steps`` promises on every saver: the earlier steps stay stored, its error is
    raised (here the second step holds a value no serializer accepts)."""
    with _traced() as t:
        s = t.saver
        first = _args(_cfg("half"), {"n": 1}, -1)
        second = _args(_cfg("half", first[2]["id"]), {"n": object()}, 0)
        with pytest.raises(UnstorableValue):
            s.put_steps([first, second])
        assert [c.checkpoint["id"] for c in s.list(_cfg("half"))] == [first[2]["id"]]


def test_steps_with_large_values_still_store_in_order() -> None:
    """Blob rows make the steps go one call each (the second plans on the first's rows)."""
    with _traced() as t:
        s = t.saver
        big = ["m" * 300] * 8
        first = _args(_cfg("big"), {"big": big}, -1)
        second = _args(_cfg("big", first[2]["id"]), {"big": [*big, "x"]}, 0)
        s.put_steps([first, second])
        head = s.get_tuple(_cfg("big"))
        assert head is not None and head.checkpoint["channel_values"] == {"big": [*big, "x"]}
        assert len(list(s.list(_cfg("big")))) == 2


def test_taking_a_free_lease_and_reading_the_thread_is_one_round_trip() -> None:
    with _traced() as t:
        s = t.saver
        before = t.trips()
        lease, found = s.acquire_and_load("new", _cfg("new"))
        assert t.trips() == before + 1
        assert lease is not None and found is None
        big = ["m" * 300] * 8
        mine = _cfg("new")
        mine["configurable"][LEASE_KEY] = lease.token
        first = _args(mine, {"big": big, "n": 1}, -1)
        s.put_step(*first)
        own = _cfg("new", first[2]["id"])
        own["configurable"][LEASE_KEY] = lease.token
        second = _args(own, {"big": [*big, "x"], "n": 2}, 0)
        config = s.put_step_and_release(*second, lease=lease, status="idle")
        s.put_writes(config, [("n", 3)], "task-b")
        fresh = PostgresSaver(t.conn, namespace=pg_service.SHARED)  # knows nothing yet
        again, head = fresh.acquire_and_load("new", _cfg("new"))
        assert again is not None and again.epoch == lease.epoch + 1
        assert head is not None
        assert head.checkpoint["channel_values"] == {"big": [*big, "x"], "n": 2}
        assert head.pending_writes == [("task-b", "n", 3)]


def test_a_held_lease_is_not_taken_by_acquire_and_load() -> None:
    with _traced() as t:
        s = t.saver
        lease = s.acquire_lease("busy")
        assert lease is not None
        with pytest.raises(ThreadBusy):
            s.acquire_and_load("busy", _cfg("busy"))
        s.release_lease(lease)
        taken, _ = s.acquire_and_load("busy", _cfg("busy"))
        assert taken is not None and taken.epoch == lease.epoch + 1


def test_several_tasks_writes_are_one_round_trip_and_the_lease_guards_them() -> None:
    with _traced() as t:
        s = t.saver
        config = s.put_step(*_args(_cfg("fan"), {"n": 1}, -1))
        calls = [(config, [("n", i), ("m", "x" * 400)], f"task-{i}", "") for i in range(3)]
        before = t.trips()
        s.put_writes_many(calls)
        assert t.trips() == before + 1
        found = s.get_tuple(config)
        assert found is not None
        wanted = [(f"task-{i}", c, v) for i in range(3) for c, v in (("n", i), ("m", "x" * 400))]
        assert sorted(found.pending_writes) == sorted(wanted)
        lease = s.acquire_lease("fan")
        assert lease is not None
        later = [(config, [("n", 9)], f"task-{i}", "") for i in range(3, 5)]
        with pytest.raises(ThreadBusy):  # no token: the run holding the lease excludes them
            s.put_writes_many(later)
        found = s.get_tuple(config)
        assert found is not None and len(found.pending_writes) == 6


def test_without_pipeline_mode_the_statements_go_one_after_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An old libpq (before 14) has no pipeline mode: the same calls, one round trip each
    (taking the lease and reading the thread are one call of ``tether_take_read``)."""
    monkeypatch.setattr(connection, "PIPELINE", False)
    with _traced() as t:
        s = t.saver
        before = t.trips()
        lease, found = s.acquire_and_load("old", _cfg("old"))
        assert t.trips() == before + 1
        assert lease is not None and found is None
        mine = _cfg("old")
        mine["configurable"][LEASE_KEY] = lease.token
        first = _args(mine, {"n": 1}, -1)
        own = _cfg("old", first[2]["id"])
        own["configurable"][LEASE_KEY] = lease.token
        s.put_steps([first, _args(own, {"n": 2}, 0)], lease=lease, status="idle")
        head = s.get_tuple(_cfg("old"))
        assert head is not None and head.checkpoint["channel_values"] == {"n": 2}
        assert len(list(s.list(_cfg("old")))) == 2


def test_the_async_twin_also_takes_the_lease_and_reads_in_one_round_trip() -> None:
    with _traced() as t:
        s = t.saver
        before = t.trips()
        lease, found = asyncio.run(s.aacquire_and_load("aio", _cfg("aio")))
        assert t.trips() == before + 1
        assert lease is not None and found is None
        with pytest.raises(ThreadBusy):  # held: the long way, which refuses at once
            asyncio.run(s.aacquire_and_load("aio", _cfg("aio")))


class _CountingSerde(JsonPlusSerializer):
    """Counts how often each object (by identity) is serialized."""

    def __init__(self) -> None:
        super().__init__()
        self.dumped: list[int] = []

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        self.dumped.append(id(obj))
        return super().dumps_typed(obj)


def test_steps_that_go_one_by_one_do_not_serialize_unchanged_values_again() -> None:
    """Steps that cannot go together (blob rows) are planned on what the thread holds: a large
    value the first step leaves unchanged is not serialized again (W2's whole message list
    was, on every turn, once the values remembered of the thread were dropped)."""
    serde = _CountingSerde()
    with pg_service.fresh_saver(serde=serde) as s:
        big = ["m" * 300] * 8
        start = _args(_cfg("kept"), {"big": big, "n": 0}, -1)
        s.put_step(*start)
        first = _args(_cfg("kept", start[2]["id"]), {"big": big, "n": 1}, 0)
        del first[4]["big"]  # unchanged since the stored head
        first[2]["channel_versions"]["big"] = start[2]["channel_versions"]["big"]
        grown = [*big, "x"]
        second = _args(_cfg("kept", first[2]["id"]), {"big": grown, "n": 1}, 1)
        serde.dumped.clear()
        s.put_steps([first, second])
        assert serde.dumped.count(id(big)) == 0
        head = s.get_tuple(_cfg("kept"))
        assert head is not None and head.checkpoint["channel_values"] == {"big": grown, "n": 1}
        parent = s.get_tuple(head.parent_config)
        assert parent is not None and parent.checkpoint["channel_values"] == {"big": big, "n": 1}
