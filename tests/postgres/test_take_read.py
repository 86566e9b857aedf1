"""Schema v8's ``tether_take_read`` (``postgres.start``): a run's lease taken and its thread
read in one call, the head or a named checkpoint, its pending writes flagged; a tether at
schema v7 takes the lease with its two statements."""

from __future__ import annotations

from typing import Any

import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.postgres import PostgresSaver, schema
from tether.errors import ThreadBusy

from .old_layout import PerWriteSaver

pytestmark = pytest.mark.services


def _cfg(thread: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def _put(saver: PostgresSaver, config: Any, n: int) -> Any:
    checkpoint = empty_checkpoint()
    checkpoint["id"] = new_checkpoint_id()
    checkpoint["channel_values"] = {"n": n}
    checkpoint["channel_versions"] = {"n": n}
    return saver.put(config, checkpoint, {"source": "loop", "step": n}, {"n": n})


def test_the_head_or_a_named_checkpoint_is_read_with_the_lease() -> None:
    with pg_service.fresh_saver() as s:
        first = _put(s, _cfg("named"), 1)
        second = _put(s, first, 2)
        s.put_writes(second, [("n", 3)], "task-a")
        lease, head = s.acquire_and_load("named", _cfg("named"))
        assert lease is not None and head is not None
        assert head.config == second and head.pending_writes == [("task-a", "n", 3)]
        s.release_lease(lease)
        named = _cfg("named", first["configurable"]["checkpoint_id"])
        lease, found = s.acquire_and_load("named", named)
        assert lease is not None and found is not None
        assert found.checkpoint["channel_values"] == {"n": 1} and found.pending_writes == []
        with pytest.raises(ThreadBusy):  # held by that run: the long way refuses at once
            s.acquire_and_load("named", _cfg("named"), wait=0)
        s.release_lease(lease)
        lease, missing = s.acquire_and_load("named", _cfg("named", "no-such-checkpoint"))
        assert lease is not None and missing is None  # the lease taken all the same
        s.release_lease(lease)
        lease, none = s.acquire_and_load("new-thread", _cfg("new-thread"))
        assert lease is not None and lease.epoch == 1 and none is None


def test_a_v7_tether_takes_the_lease_with_its_own_statements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, namespace = pg_service.database_url(), pg_service.new_namespace()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 7)
    with PerWriteSaver.from_conn_string(url, namespace=namespace) as old:
        config = _put(old, _cfg("v7"), 1)
        lease, head = old.acquire_and_load("v7", _cfg("v7"))
        assert lease is not None and head is not None and head.config == config
        with old._pg.read() as conn:
            functions = conn.execute(
                "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = ? AND p.proname = 'tether_take_read'",
                (namespace,),
            ).fetchone()
            conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert functions == (0,)
