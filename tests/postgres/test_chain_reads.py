"""Delta chains read on PostgreSQL (``postgres.chains``): a row many chains share travels once,
and every checkpoint of a long history still reads back whole."""

from __future__ import annotations

from typing import Any

import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.postgres import chains

pytestmark = pytest.mark.services


def _grow(saver: Any, turns: int) -> list[list[str]]:
    """``turns`` checkpoints of one list that grows by one ~300-byte item each (deltas)."""
    config: dict[str, Any] = {"configurable": {"thread_id": "grow", "checkpoint_ns": ""}}
    items: list[str] = []
    stored = []
    for turn in range(turns):
        items = [*items, f"{turn:04d}" + "m" * 300]
        checkpoint = empty_checkpoint()
        checkpoint["id"] = new_checkpoint_id()
        checkpoint["channel_values"] = {"log": items}
        checkpoint["channel_versions"] = {"log": turn + 1}
        config = saver.put(config, checkpoint, {"source": "loop", "step": turn}, {"log": turn + 1})
        stored.append(items)
    return stored


def test_every_checkpoint_of_a_long_delta_history_reads_back() -> None:
    with pg_service.fresh_saver() as saver:
        stored = _grow(saver, 40)
        listed = list(saver.list({"configurable": {"thread_id": "grow"}}))
        assert [t.checkpoint["channel_values"]["log"] for t in listed] == stored[::-1]


def test_a_row_shared_by_many_chains_is_sent_once() -> None:
    with pg_service.fresh_saver() as saver:
        _grow(saver, 12)
        with saver._pg.read() as conn:
            versions = [
                r[0] for r in conn.execute("SELECT version FROM blobs WHERE thread_id = 'grow'")
            ]
            sql, params = chains.chain_query([("log", v) for v in versions], "grow", "")
            found = conn.execute(sql, params).fetchall()
    assert len(found) > len(versions)  # chains overlap: rows repeat across roots
    with_data = [(r[0], r[3]) for r in found if r[6] is not None]
    assert sorted(with_data) == sorted(set(with_data))  # each row's data at most once
    assert set(with_data) == {(r[0], r[3]) for r in found}  # and at least once
