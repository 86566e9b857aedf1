"""Contract: put stores a checkpoint exactly, per thread and namespace, isolated from callers."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from saver_kit import Driver, cfg, next_checkpoint, put_chain

from tether.errors import ConfigurationError, SerializationError

MISSING_THREAD = (
    "config['configurable']['thread_id'] is missing: "
    "pass config={'configurable': {'thread_id': ...}}"
)


async def test_harness_runs_sync_without_a_loop_and_async_inside_one(saver: Driver) -> None:
    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    assert in_loop is (saver.mode == "async")


async def test_put_returns_config_of_the_stored_checkpoint(saver: Driver) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"a": 1})
    returned = await saver.put(cfg("t1"), checkpoint, {"source": "input", "step": -1}, versions)
    assert returned == {
        "configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": checkpoint["id"]}
    }


async def test_checkpoint_fields_roundtrip(saver: Driver) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"a": 1, "b": "x"})
    checkpoint["versions_seen"] = {"node": {"a": versions["a"]}, "__input__": {}}
    config = await saver.put(cfg("t1"), checkpoint, {"source": "input", "step": -1}, versions)
    loaded = await saver.get(config)
    assert loaded == checkpoint


RICH_VALUES = {
    "str": "héllo ✓",
    "empty-str": "",
    "int": -(2**40),
    "float": 1.5,
    "bool": True,
    "none": None,
    "bytes": b"\x00\xffraw",
    "list": [1, "two", [3]],
    "tuple": (1, (2, "three")),
    "set": {1, 2, 3},
    "frozenset": frozenset({"a"}),
    "nested-dict": {"a": {"b": {"c": [1, {"d": None}]}}, "e": (b"x",)},
    "datetime-aware": dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc),
    "datetime-naive": dt.datetime(2024, 5, 6, 7, 8, 9),
    "date": dt.date(2024, 2, 29),
    "timedelta": dt.timedelta(days=1, microseconds=5),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": Decimal("3.14159"),
}


@pytest.mark.parametrize("value", list(RICH_VALUES.values()), ids=list(RICH_VALUES))
async def test_channel_value_roundtrips_with_its_type(saver: Driver, value: object) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"v": value})
    config = await saver.put(cfg("t1"), checkpoint, {"source": "input", "step": -1}, versions)
    loaded = (await saver.values(config))["v"]
    assert loaded == value
    assert type(loaded) is type(value)


async def test_metadata_roundtrips(saver: Driver) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"a": 1})
    metadata = {
        "source": "loop",
        "step": 3,
        "parents": {"": "parent-id"},
        "run_id": "run-1",
        "custom": {"nested": [1, 2]},
    }
    config = await saver.put(cfg("t1"), checkpoint, metadata, versions)
    found = await saver.get_tuple(config)
    assert found is not None
    assert found.metadata == metadata


async def test_put_copies_scalar_config_keys_into_metadata(saver: Driver) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"a": 1})
    config = cfg("t1")
    config["configurable"].update({"user_id": "u1", "__hidden": "x", "limit": 5})
    config["metadata"] = {"team": "blue", "obj": {"no": "dicts"}, "source": "ignored"}
    stored = await saver.put(config, checkpoint, {"source": "input", "step": -1}, versions)
    found = await saver.get_tuple(stored)
    assert found is not None
    assert found.metadata == {
        "source": "input",
        "step": -1,
        "user_id": "u1",
        "limit": 5,
        "team": "blue",
    }


@pytest.mark.parametrize("ns", ["", "child:abc", "outer:1|inner:2"], ids=["root", "child", "deep"])
async def test_namespace_is_part_of_the_address(saver: Driver, ns: str) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": ns}], ns=ns)
    assert config["configurable"]["checkpoint_ns"] == ns
    assert (await saver.values(cfg("t1", ns)))["a"] == ns
    other = "elsewhere" if ns else "child:x"
    assert await saver.get_tuple(cfg("t1", other)) is None


async def test_omitted_namespace_means_root(saver: Driver) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"a": 1})
    config = await saver.put(cfg("t1", ns=None), checkpoint, {"source": "input"}, versions)
    assert config["configurable"]["checkpoint_ns"] == ""
    assert await saver.get(cfg("t1", "")) == checkpoint


async def test_many_checkpoints_in_one_thread(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": i} for i in range(5)])
    latest = await saver.get_tuple(cfg("t1"))
    assert latest is not None
    assert latest.config == configs[-1]
    assert latest.checkpoint["channel_values"] == {"a": 4}
    for i, config in enumerate(configs):
        assert await saver.values(config) == {"a": i}


async def test_threads_are_isolated(saver: Driver) -> None:
    await put_chain(saver, "t1", [{"a": "one"}])
    await put_chain(saver, "t2", [{"a": "two"}, {"a": "two-b"}])
    assert await saver.values(cfg("t1")) == {"a": "one"}
    assert await saver.values(cfg("t2")) == {"a": "two-b"}
    assert len(await saver.list(cfg("t1"))) == 1


async def test_parent_is_the_config_checkpoint_id(saver: Driver) -> None:
    first, second = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}])
    found = await saver.get_tuple(second)
    assert found is not None
    assert found.parent_config == first
    root = await saver.get_tuple(first)
    assert root is not None
    assert root.parent_config is None


async def test_only_new_versions_are_written_and_unchanged_channels_load(saver: Driver) -> None:
    first, versions = next_checkpoint(saver, None, {"a": "a1", "b": "b1"})
    c1 = await saver.put(cfg("t1"), first, {"source": "input"}, versions)
    second, versions = next_checkpoint(saver, first, {"b": "b2"})
    assert set(versions) == {"b"}
    c2 = await saver.put(c1, second, {"source": "loop"}, versions)
    assert await saver.values(c2) == {"a": "a1", "b": "b2"}
    assert await saver.values(c1) == {"a": "a1", "b": "b1"}


async def test_new_channel_added(saver: Driver) -> None:
    first, versions = next_checkpoint(saver, None, {"a": 1})
    c1 = await saver.put(cfg("t1"), first, {}, versions)
    second, versions = next_checkpoint(saver, first, {"b": 2})
    c2 = await saver.put(c1, second, {}, versions)
    assert await saver.values(c2) == {"a": 1, "b": 2}
    assert await saver.values(c1) == {"a": 1}


async def test_channel_absent_from_versions_is_absent_from_values(saver: Driver) -> None:
    first, versions = next_checkpoint(saver, None, {"a": 1, "b": 2})
    c1 = await saver.put(cfg("t1"), first, {}, versions)
    second, versions = next_checkpoint(saver, first, {"a": 3}, removed=["b"])
    c2 = await saver.put(c1, second, {}, versions)
    assert await saver.values(c2) == {"a": 3}
    assert await saver.values(c1) == {"a": 1, "b": 2}


async def test_channel_emptied_at_a_new_version_is_absent(saver: Driver) -> None:
    first, versions = next_checkpoint(saver, None, {"a": 1, "b": 2})
    c1 = await saver.put(cfg("t1"), first, {}, versions)
    second, versions = next_checkpoint(saver, first, {"b": None})
    del second["channel_values"]["b"]  # b has a new version but no value (an emptied channel)
    c2 = await saver.put(c1, second, {}, versions)
    loaded = await saver.get(c2)
    assert loaded is not None
    assert loaded["channel_values"] == {"a": 1}
    assert loaded["channel_versions"] == second["channel_versions"]


async def test_stored_values_are_isolated_from_later_mutation(saver: Driver) -> None:
    items: list[object] = [1]
    nested = {"k": [1]}
    checkpoint, versions = next_checkpoint(saver, None, {"items": items, "nested": nested})
    metadata = {"source": "input", "step": -1, "tags": ["x"]}
    config = await saver.put(cfg("t1"), checkpoint, metadata, versions)
    items.append(2)
    nested["k"].append(2)
    metadata["tags"].append("y")  # type: ignore[attr-defined]
    checkpoint["versions_seen"]["late"] = {}
    checkpoint["channel_versions"]["ghost"] = "1"
    found = await saver.get_tuple(config)
    assert found is not None
    assert found.checkpoint["channel_values"] == {"items": [1], "nested": {"k": [1]}}
    assert found.metadata["tags"] == ["x"]  # type: ignore[typeddict-item]
    assert "late" not in found.checkpoint["versions_seen"]
    assert "ghost" not in found.checkpoint["channel_versions"]
    found.checkpoint["channel_values"]["items"].append(99)
    assert await saver.values(config) == {"items": [1], "nested": {"k": [1]}}


async def test_unstorable_value_names_the_channel(saver: Driver) -> None:
    @dataclasses.dataclass
    class NotAllowed:
        x: int

    checkpoint, versions = next_checkpoint(saver, None, {"secret": {"inner": [NotAllowed(1)]}})
    with pytest.raises(SerializationError, match=r"state\.secret"):
        await saver.put(cfg("t1"), checkpoint, {}, versions)


@pytest.mark.parametrize(
    "config",
    [{}, {"configurable": {}}, {"configurable": {"checkpoint_ns": ""}}],
    ids=["empty", "no-thread-id", "ns-only"],
)
async def test_missing_thread_id_is_a_clear_error(saver: Driver, config: dict) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"a": 1})
    with pytest.raises(ConfigurationError) as put_err:
        await saver.put(config, checkpoint, {}, versions)
    assert str(put_err.value) == MISSING_THREAD
    with pytest.raises(ConfigurationError) as writes_err:
        await saver.put_writes(config, [("a", 1)], "task")
    assert str(writes_err.value) == MISSING_THREAD
    with pytest.raises(ConfigurationError) as get_err:
        await saver.get_tuple(config)
    assert str(get_err.value) == MISSING_THREAD


async def test_non_string_thread_id_addresses_its_string(saver: Driver) -> None:
    checkpoint, versions = next_checkpoint(saver, None, {"a": 1})
    config = await saver.put({"configurable": {"thread_id": 7}}, checkpoint, {}, versions)
    assert config["configurable"]["thread_id"] == "7"
    assert await saver.get(cfg("7")) == checkpoint
