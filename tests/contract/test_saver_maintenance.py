"""Contract: delete_thread, delete_for_runs, copy_thread and prune remove or copy whole
checkpoints (with their writes and values) and never leave a kept checkpoint unloadable."""

from __future__ import annotations

import pytest
from saver_kit import Driver, cfg, next_checkpoint, put_chain

from tether.errors import ConfigurationError


async def snapshot(saver: Driver, thread_id: str) -> list[tuple]:
    """Everything list shows for a thread, with addresses made thread-independent."""
    return [
        (
            t.config["configurable"]["checkpoint_ns"],
            t.checkpoint,
            t.metadata,
            t.parent_config and t.parent_config["configurable"]["checkpoint_id"],
            t.pending_writes,
        )
        for t in await saver.list(cfg(thread_id, ns=None))
    ]


async def build_thread(saver: Driver, thread_id: str, run_id: str = "run-1") -> list[dict]:
    """Three root checkpoints (a then b then a changes), writes on two, one child namespace."""
    configs = await put_chain(
        saver, thread_id, [{"a": 1, "b": "b1"}, {"b": "b2"}, {"a": 3}], metadata={"run_id": run_id}
    )
    await saver.put_writes(configs[0], [("a", "w0")], "task-0")
    await saver.put_writes(configs[2], [("b", "w2")], "task-2", "path")
    await put_chain(saver, thread_id, [{"c": "child"}], ns="child:1", metadata={"run_id": run_id})
    return configs


# --- delete_thread ----------------------------------------------------------------------------


async def test_delete_thread_removes_everything_of_it(saver: Driver) -> None:
    await build_thread(saver, "t1")
    await saver.delete_thread("t1")
    assert await saver.list(cfg("t1", ns=None)) == []
    assert await saver.get_tuple(cfg("t1")) is None
    assert await saver.get_tuple(cfg("t1", "child:1")) is None


async def test_delete_thread_keeps_other_threads(saver: Driver) -> None:
    await build_thread(saver, "t1")
    await build_thread(saver, "t2")
    before = await snapshot(saver, "t2")
    await saver.delete_thread("t1")
    assert await snapshot(saver, "t2") == before


async def test_delete_unknown_thread_is_a_no_op(saver: Driver) -> None:
    await saver.delete_thread("nobody")


async def test_thread_can_be_reused_after_delete(saver: Driver) -> None:
    await build_thread(saver, "t1")
    await saver.delete_thread("t1")
    await put_chain(saver, "t1", [{"z": 1}])
    found = await saver.get_tuple(cfg("t1"))
    assert found is not None
    assert found.checkpoint["channel_values"] == {"z": 1}
    assert found.pending_writes == []


# --- delete_for_runs --------------------------------------------------------------------------


async def test_delete_for_runs_removes_that_runs_checkpoints(saver: Driver) -> None:
    run1 = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}], metadata={"run_id": "r1"})
    run2 = await put_chain(saver, "t1", [{"a": 3}], metadata={"run_id": "r2"}, parent=run1[-1])
    await saver.put_writes(run1[0], [("a", "w")], "task")
    await saver.delete_for_runs(["r1"])
    assert await saver.ids(cfg("t1")) == [run2[0]["configurable"]["checkpoint_id"]]
    assert await saver.get_tuple(run1[0]) is None


async def test_delete_for_runs_keeps_values_survivors_point_at(saver: Driver) -> None:
    run1 = await put_chain(saver, "t1", [{"a": "a1", "b": "b1"}], metadata={"run_id": "r1"})
    run2 = await put_chain(saver, "t1", [{"b": "b2"}], metadata={"run_id": "r2"}, parent=run1[-1])
    await saver.delete_for_runs(["r1"])
    assert await saver.values(run2[0]) == {"a": "a1", "b": "b2"}


async def test_delete_for_several_runs_across_threads_and_namespaces(saver: Driver) -> None:
    await build_thread(saver, "t1", run_id="r1")
    await build_thread(saver, "t2", run_id="r2")
    kept = await build_thread(saver, "t3", run_id="r3")
    await saver.delete_for_runs(["r1", "r2", "unknown"])
    assert await saver.list(None, filter={"run_id": "r1"}) == []
    assert await saver.list(None, filter={"run_id": "r2"}) == []
    assert await saver.get_tuple(cfg("t1", "child:1")) is None
    assert len(await saver.list(cfg("t3", ns=None))) == 4
    found = await saver.get_tuple(kept[0])
    assert found is not None
    assert found.pending_writes == [("task-0", "a", "w0")]


async def test_delete_for_no_runs_is_a_no_op(saver: Driver) -> None:
    await build_thread(saver, "t1")
    before = await snapshot(saver, "t1")
    await saver.delete_for_runs([])
    await saver.delete_for_runs(["nobody"])
    assert await snapshot(saver, "t1") == before


# --- copy_thread ------------------------------------------------------------------------------


async def test_copy_thread_copies_everything(saver: Driver) -> None:
    await build_thread(saver, "src")
    await saver.copy_thread("src", "dst")
    assert await snapshot(saver, "dst") == await snapshot(saver, "src")
    copied = await saver.get_tuple(cfg("dst", "child:1"))
    assert copied is not None
    assert copied.config["configurable"]["thread_id"] == "dst"
    assert copied.checkpoint["channel_values"] == {"c": "child"}


async def test_copy_thread_leaves_source_unchanged(saver: Driver) -> None:
    await build_thread(saver, "src")
    before = await snapshot(saver, "src")
    await saver.copy_thread("src", "dst")
    latest = await saver.get_tuple(cfg("dst"))
    assert latest is not None
    await put_chain(saver, "dst", [{"a": "dst-only"}], parent=latest.config)
    await saver.put_writes(latest.config, [("b", "dst-write")], "task-9")
    assert await snapshot(saver, "src") == before


async def test_copy_thread_keeps_ids_order_and_lineage(saver: Driver) -> None:
    configs = await build_thread(saver, "src")
    await saver.copy_thread("src", "dst")
    ids = [c["configurable"]["checkpoint_id"] for c in configs]
    assert await saver.ids(cfg("dst")) == ids[::-1]
    found = await saver.get_tuple(cfg("dst", checkpoint_id=ids[2]))
    assert found is not None
    assert found.parent_config == cfg("dst", "", ids[1])


async def test_copy_of_unknown_thread_copies_nothing(saver: Driver) -> None:
    await saver.copy_thread("nobody", "dst")
    assert await saver.list(cfg("dst", ns=None)) == []


async def test_copy_onto_itself_is_refused(saver: Driver) -> None:
    await build_thread(saver, "t1")
    with pytest.raises(ConfigurationError, match="t1"):
        await saver.copy_thread("t1", "t1")


# --- prune ------------------------------------------------------------------------------------


async def test_prune_keep_latest_keeps_a_loadable_head_with_its_writes(saver: Driver) -> None:
    configs = await build_thread(saver, "t1")
    head = await saver.get_tuple(cfg("t1"))
    await saver.prune(["t1"])
    assert await saver.ids(cfg("t1")) == [configs[-1]["configurable"]["checkpoint_id"]]
    after = await saver.get_tuple(cfg("t1"))
    assert after is not None and head is not None
    assert after.checkpoint == head.checkpoint  # b was last written two checkpoints earlier
    assert after.pending_writes == [("task-2", "b", "w2")]
    assert after.metadata == head.metadata


async def test_prune_keeps_latest_per_namespace(saver: Driver) -> None:
    await build_thread(saver, "t1")
    await put_chain(saver, "t1", [{"c": "child-2"}], ns="child:1", parent=cfg("t1", "child:1"))
    await saver.prune(["t1"])
    assert len(await saver.list(cfg("t1", ""))) == 1
    assert len(await saver.list(cfg("t1", "child:1"))) == 1
    assert await saver.values(cfg("t1", "child:1")) == {"c": "child-2"}


async def test_prune_keep_last_n(saver: Driver) -> None:
    configs = await build_thread(saver, "t1")
    await saver.prune(["t1"], keep_last=2)
    ids = [c["configurable"]["checkpoint_id"] for c in configs]
    assert await saver.ids(cfg("t1")) == ids[:0:-1]
    assert await saver.values(configs[1]) == {"a": 1, "b": "b2"}


async def test_prune_several_threads_keeps_others(saver: Driver) -> None:
    for thread_id in ("t1", "t2", "t3"):
        await build_thread(saver, thread_id)
    before = await snapshot(saver, "t3")
    await saver.prune(["t1", "t2"])
    assert len(await saver.list(cfg("t1", ns=None))) == 2
    assert len(await saver.list(cfg("t2", ns=None))) == 2
    assert await snapshot(saver, "t3") == before


async def test_prune_delete_removes_the_threads(saver: Driver) -> None:
    await build_thread(saver, "t1")
    await build_thread(saver, "t2")
    await saver.prune(["t1"], strategy="delete")
    assert await saver.list(cfg("t1", ns=None)) == []
    assert len(await saver.list(cfg("t2", ns=None))) == 4


async def test_prune_of_nothing_is_a_no_op(saver: Driver) -> None:
    await build_thread(saver, "t1")
    before = await snapshot(saver, "t1")
    await saver.prune([])
    await saver.prune(["nobody"])
    assert await snapshot(saver, "t1") == before


async def test_thread_continues_after_prune(saver: Driver) -> None:
    await build_thread(saver, "t1")
    await saver.prune(["t1"])
    head = await saver.get_tuple(cfg("t1"))
    assert head is not None
    checkpoint, versions = next_checkpoint(saver, head.checkpoint, {"b": "b4"})
    config = await saver.put(head.config, checkpoint, {"source": "loop"}, versions)
    assert await saver.values(config) == {"a": 3, "b": "b4"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "bogus"}, "unknown prune strategy"),
        ({"keep_last": 0}, "keep_last"),
        ({"strategy": "delete", "keep_last": 2}, "keep_last"),
    ],
    ids=["unknown-strategy", "keep-zero", "delete-with-keep"],
)
async def test_prune_rejects_bad_arguments(saver: Driver, kwargs: dict, match: str) -> None:
    await build_thread(saver, "t1")
    with pytest.raises(ConfigurationError, match=match):
        await saver.prune(["t1"], **kwargs)
    assert len(await saver.list(cfg("t1", ns=None))) == 4
