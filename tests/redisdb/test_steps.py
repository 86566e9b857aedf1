"""Two steps sent in one round trip (``put_steps``): stored in order, the second only after the
first, also when the first finds a row it reads gone and has to be sent again."""

from __future__ import annotations

from typing import Any

import pytest

import redis_service
from redisdb.helpers import put_step
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.redis.keys import ThreadKeys, field

pytestmark = pytest.mark.services


def _next(saver: Any, parent_config: Any, parent: Any, values: dict[str, Any]) -> Any:
    """``put_step`` arguments for a checkpoint after ``parent`` that changes ``values``."""
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {**parent["channel_values"], **values}
    versions = dict(parent["channel_versions"])
    for channel in values:
        versions[channel] = saver.get_next_version(versions.get(channel))
    checkpoint["channel_versions"] = versions
    new_versions = {c: versions[c] for c in values}
    return ([], parent_config, checkpoint, {"source": "loop", "step": 1}, new_versions)


def test_the_second_step_waits_for_the_first_when_the_first_finds_a_row_gone() -> None:
    with redis_service.fresh_saver() as saver:
        saver.setup()
        a_config = put_step(saver, "gone", {"kept": "old", "n": 0})
        a = saver.get_tuple(a_config).checkpoint
        b = _next(saver, a_config, a, {"n": 1})  # reads the row of "kept" stored with a
        b_config = {"configurable": {**a_config["configurable"], "checkpoint_id": b[2]["id"]}}
        c = _next(saver, b_config, b[2], {"kept": "new", "n": 2})  # reads no old row
        keys = ThreadKeys(saver.prefix, "gone").ns("")
        assert saver.client.hdel(keys[4], field("kept", a["channel_versions"]["kept"])) == 1

        stored = saver.put_steps([b, c])

        history = list(saver.list({"configurable": {"thread_id": "gone"}}))
        ids = [a_config["configurable"]["checkpoint_id"], b[2]["id"], c[2]["id"]]
        assert [t.checkpoint["id"] for t in history] == ids[::-1]
        assert stored["configurable"]["checkpoint_id"] == c[2]["id"]
        values = [t.checkpoint["channel_values"] for t in history]
        assert values == [{"kept": "new", "n": 2}, {"kept": "old", "n": 1}, {"kept": "old", "n": 0}]


def test_the_second_step_is_not_stored_while_the_first_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with redis_service.fresh_saver() as saver:
        saver.setup()
        a_config = put_step(saver, "hole", {"kept": "old", "n": 0})
        a = saver.get_tuple(a_config).checkpoint
        b = _next(saver, a_config, a, {"n": 1})
        b_config = {"configurable": {**a_config["configurable"], "checkpoint_id": b[2]["id"]}}
        c = _next(saver, b_config, b[2], {"kept": "new", "n": 2})
        keys = ThreadKeys(saver.prefix, "hole").ns("")
        saver.client.hdel(keys[4], field("kept", a["channel_versions"]["kept"]))

        def crash(*args: Any) -> None:  # the process dies before it sends the first again
            raise RuntimeError("crashed")

        monkeypatch.setattr(saver, "_commit", crash)
        with pytest.raises(RuntimeError):
            saver.put_steps([b, c])

        ids = [t.checkpoint["id"] for t in saver.list({"configurable": {"thread_id": "hole"}})]
        assert ids == [a_config["configurable"]["checkpoint_id"]]


def test_a_channel_without_a_value_stores_no_row_and_reads_back_without_one() -> None:
    with redis_service.fresh_saver() as saver:
        saver.setup()
        a_config = put_step(saver, "emptied", {"kept": "old", "gone": "soon"})
        a = saver.get_tuple(a_config).checkpoint
        b = _next(saver, a_config, a, {"kept": "new"})
        b[2]["channel_values"].pop("gone")  # emptied at this step: a new version, no value
        b[2]["channel_versions"]["gone"] = saver.get_next_version(a["channel_versions"]["gone"])
        b[4]["gone"] = b[2]["channel_versions"]["gone"]

        b_config = saver.put_step(*b)

        keys = ThreadKeys(saver.prefix, "emptied").ns("")
        version = b[2]["channel_versions"]["gone"]
        assert not saver.client.hexists(keys[4], field("gone", version))
        need = saver.client.hget(keys[3], b[2]["id"]).decode()
        assert field("gone", version) not in need.split("\n")
        saver._forget(["emptied"])  # read it back from Redis, not from what the saver holds
        assert saver.get_tuple(b_config).checkpoint["channel_values"] == {"kept": "new"}
        assert saver.get_tuple(a_config).checkpoint["channel_values"] == {
            "kept": "old",
            "gone": "soon",
        }
