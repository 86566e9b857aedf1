"""Contract: put_writes stores a task's writes on one checkpoint, idempotently and in order."""

from __future__ import annotations

import datetime as dt

import pytest
from saver_kit import Driver, cfg, put_chain

from tether.constants import ERROR, INTERRUPT, NULL_TASK_ID, RESUME, SCHEDULED
from tether.errors import ConfigurationError


async def pending(saver: Driver, config: dict) -> list[tuple[str, str, object]]:
    found = await saver.get_tuple(config)
    assert found is not None
    assert found.pending_writes is not None
    return found.pending_writes


async def test_writes_show_on_their_checkpoint(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [("a", 2), ("b", "x")], "task-1")
    assert await pending(saver, config) == [("task-1", "a", 2), ("task-1", "b", "x")]
    assert await pending(saver, cfg("t1")) == [("task-1", "a", 2), ("task-1", "b", "x")]


async def test_checkpoint_without_writes_has_empty_pending_writes(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    assert await pending(saver, config) == []


async def test_writes_of_several_tasks(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [("a", "from-2")], "task-2")
    await saver.put_writes(config, [("a", "from-1")], "task-1")
    assert await pending(saver, config) == [("task-1", "a", "from-1"), ("task-2", "a", "from-2")]


async def test_rich_write_values_roundtrip(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    value = {"when": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc), "pair": (1, 2), "raw": b"x"}
    await saver.put_writes(config, [("a", value), ("b", None)], "task")
    assert await pending(saver, config) == [("task", "a", value), ("task", "b", None)]


async def test_pending_writes_ordered_by_task_path_then_task_then_index(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [("x", "c0"), ("y", "c1")], "task-c", "~__pregel_pull, n1")
    await saver.put_writes(config, [("x", "b0")], "task-b", "~__pregel_pull, n2")
    await saver.put_writes(config, [("x", "a0"), (ERROR, "a-err")], "task-a", "~__pregel_pull, n2")
    await saver.put_writes(config, [("x", "d0")], "task-d", "~__pregel_push, 0")
    assert await pending(saver, config) == [
        ("task-c", "x", "c0"),
        ("task-c", "y", "c1"),
        ("task-a", ERROR, "a-err"),  # special writes have negative indexes
        ("task-a", "x", "a0"),
        ("task-b", "x", "b0"),
        ("task-d", "x", "d0"),
    ]


async def test_task_path_defaults_to_empty(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [("x", 1)], "task-z")
    await saver.put_writes(config, [("x", 2)], "task-a", "path")
    assert await pending(saver, config) == [("task-z", "x", 1), ("task-a", "x", 2)]


async def test_repeated_writes_are_idempotent_first_wins(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [("a", "first"), (ERROR, "e1")], "task")
    await saver.put_writes(config, [("a", "second"), (ERROR, "e2")], "task")
    assert await pending(saver, config) == [("task", ERROR, "e1"), ("task", "a", "first")]


@pytest.mark.parametrize("channel", [ERROR, INTERRUPT, RESUME, SCHEDULED])
async def test_special_only_writes_are_upserted(saver: Driver, channel: str) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [(channel, "old")], "task")
    await saver.put_writes(config, [(channel, "new")], "task")
    assert await pending(saver, config) == [("task", channel, "new")]


async def test_null_task_writes_are_kept_like_any_task(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [(RESUME, "yes")], NULL_TASK_ID)
    assert await pending(saver, config) == [(NULL_TASK_ID, RESUME, "yes")]


async def test_writes_belong_to_one_namespace(saver: Driver) -> None:
    (root,) = await put_chain(saver, "t1", [{"a": 1}])
    (child,) = await put_chain(saver, "t1", [{"a": 1}], ns="child:1")
    await saver.put_writes(child, [("a", "child")], "task")
    assert await pending(saver, child) == [("task", "a", "child")]
    assert await pending(saver, root) == []


async def test_writes_do_not_carry_to_the_next_checkpoint(saver: Driver) -> None:
    first, second = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}])
    await saver.put_writes(first, [("a", "w")], "task")
    assert await pending(saver, second) == []
    assert await pending(saver, first) == [("task", "a", "w")]


async def test_writes_are_isolated_from_later_mutation(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    value = {"list": [1]}
    await saver.put_writes(config, [("a", value)], "task")
    value["list"].append(2)
    assert await pending(saver, config) == [("task", "a", {"list": [1]})]


async def test_put_writes_without_checkpoint_id_is_a_clear_error(saver: Driver) -> None:
    with pytest.raises(ConfigurationError, match="checkpoint_id"):
        await saver.put_writes(cfg("t1"), [("a", 1)], "task")


async def test_a_task_interrupted_resumed_and_finished_keeps_every_write(saver: Driver) -> None:
    """An interrupt, the resume value, the task's writes when it runs again, then a second
    interrupt of the same task: each call merges into what the task has stored."""
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [(INTERRUPT, "ask")], "task", "path")
    await saver.put_writes(config, [(RESUME, "yes")], "task", "path")
    await saver.put_writes(config, [("a", 2), ("b", 3)], "task", "path")
    await saver.put_writes(config, [(INTERRUPT, "ask again")], "task", "path")
    assert await pending(saver, config) == [
        ("task", RESUME, "yes"),
        ("task", INTERRUPT, "ask again"),
        ("task", "a", 2),
        ("task", "b", 3),
    ]


async def test_a_later_call_adds_only_the_indexes_a_task_lacks(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [("a", "first")], "task")
    await saver.put_writes(config, [("a", "second"), ("b", "new"), (ERROR, "e")], "task")
    await saver.put_writes(config, [("c", "other task")], "task-2")
    assert await pending(saver, config) == [
        ("task", ERROR, "e"),
        ("task", "a", "first"),
        ("task", "b", "new"),
        ("task-2", "c", "other task"),
    ]


async def test_a_mixed_call_does_not_replace_a_special_write(saver: Driver) -> None:
    (config,) = await put_chain(saver, "t1", [{"a": 1}])
    await saver.put_writes(config, [(ERROR, "e1"), (INTERRUPT, "i1")], "task")
    await saver.put_writes(config, [(ERROR, "e2"), ("a", 1)], "task")
    await saver.put_writes(config, [(INTERRUPT, "i2")], "task")
    assert await pending(saver, config) == [
        ("task", INTERRUPT, "i2"),
        ("task", ERROR, "e1"),
        ("task", "a", 1),
    ]


async def test_a_special_channel_twice_in_one_call(saver: Driver) -> None:
    """Within one call the merge rule applies in order: an all-special call keeps the last
    write of a channel, a mixed call the first."""
    first, second = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}])
    await saver.put_writes(first, [(INTERRUPT, "x"), (INTERRUPT, "y")], "task")
    assert await pending(saver, first) == [("task", INTERRUPT, "y")]
    await saver.put_writes(second, [("a", 1), (INTERRUPT, "x"), (INTERRUPT, "y")], "t")
    assert await pending(saver, second) == [("t", INTERRUPT, "x"), ("t", "a", 1)]
