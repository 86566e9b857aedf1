"""Contract: get_tuple / get address one checkpoint, or the latest of (thread, namespace)."""

from __future__ import annotations

from saver_kit import Driver, cfg, next_checkpoint, put_chain

from tether.checkpoint.ids import new_checkpoint_id


async def test_unknown_thread_is_none(saver: Driver) -> None:
    assert await saver.get_tuple(cfg("nobody")) is None
    assert await saver.get(cfg("nobody")) is None


async def test_unknown_checkpoint_id_is_none(saver: Driver) -> None:
    await put_chain(saver, "t1", [{"a": 1}])
    assert await saver.get_tuple(cfg("t1", checkpoint_id=new_checkpoint_id())) is None


async def test_without_id_returns_latest(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}, {"a": 3}])
    found = await saver.get_tuple(cfg("t1"))
    assert found is not None
    assert found.config == configs[-1]
    assert found.checkpoint["channel_values"] == {"a": 3}


async def test_with_id_returns_that_checkpoint(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}, {"a": 3}])
    middle = configs[1]["configurable"]["checkpoint_id"]
    found = await saver.get_tuple(cfg("t1", checkpoint_id=middle))
    assert found is not None
    assert found.checkpoint["id"] == middle
    assert found.checkpoint["channel_values"] == {"a": 2}
    assert found.parent_config == configs[0]


async def test_tuple_shape(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}], ns="sub:1", metadata={"k": "v"})
    found = await saver.get_tuple(cfg("t1", "sub:1"))
    assert found is not None
    assert found.config == config
    assert set(found.config["configurable"]) == {"thread_id", "checkpoint_ns", "checkpoint_id"}
    assert set(found.checkpoint) >= {
        "v",
        "id",
        "ts",
        "channel_values",
        "channel_versions",
        "versions_seen",
        "updated_channels",
    }
    assert found.metadata == {"source": "input", "step": -1, "k": "v"}
    assert found.parent_config is None
    assert found.pending_writes == []


async def test_latest_is_per_namespace(saver: Driver) -> None:
    await put_chain(saver, "t1", [{"a": "root"}])
    await put_chain(saver, "t1", [{"a": "child"}], ns="child:1")
    await put_chain(saver, "t1", [{"a": "root-2"}], parent=cfg("t1"))
    assert await saver.values(cfg("t1")) == {"a": "root-2"}
    assert await saver.values(cfg("t1", "child:1")) == {"a": "child"}


async def test_latest_is_the_greatest_id_not_the_last_put(saver: Driver) -> None:
    old, versions_old = next_checkpoint(saver, None, {"a": "old"})
    new, versions_new = next_checkpoint(saver, None, {"a": "new"})
    await saver.put(cfg("t1"), new, {}, versions_new)
    await saver.put(cfg("t1"), old, {}, versions_old)  # e.g. an import of older history
    assert await saver.values(cfg("t1")) == {"a": "new"}
