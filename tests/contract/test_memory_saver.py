"""What ``InMemorySaver`` offers beyond the shared contract: thread records, thread safety,
LangGraph's aliases and context-manager use, memory that grows linearly with a conversation."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import tracemalloc

from saver_kit import cfg, next_checkpoint

from tether.checkpoint.memory import InMemorySaver, MemorySaver


def put_one(
    saver: InMemorySaver, thread_id: str, metadata: dict, config: dict | None = None
) -> dict:
    checkpoint, versions = next_checkpoint(saver, None, {"a": thread_id})
    return saver.put(config or cfg(thread_id), checkpoint, metadata, versions)


def test_thread_info_records_the_thread() -> None:
    saver = InMemorySaver()
    assert saver.thread_info("t1") is None
    config = cfg("t1")
    config["metadata"] = {"user_id": "u1"}
    put_one(saver, "t1", {"source": "input", "step": -1, "run_id": "r1"}, config)
    put_one(saver, "t1", {"source": "loop", "step": 0}, cfg("t1", "child:1"))
    info = saver.thread_info("t1")
    assert info is not None
    assert info.thread_id == "t1"
    assert info.metadata == {"user_id": "u1"}  # per-checkpoint keys stay on checkpoints
    assert info.namespaces == ("", "child:1")
    assert info.checkpoint_count == 2
    assert info.created_at <= info.updated_at


def test_thread_info_goes_with_the_thread() -> None:
    saver = InMemorySaver()
    put_one(saver, "t1", {})
    saver.delete_thread("t1")
    assert saver.thread_info("t1") is None


def test_concurrent_puts_from_many_threads() -> None:
    saver = InMemorySaver()
    start = threading.Barrier(8)

    def work(index: int) -> None:
        start.wait()
        config = cfg(f"t{index % 4}")
        for step in range(200):
            checkpoint, versions = next_checkpoint(saver, None, {"a": (index, step)})
            stored = saver.put(config, checkpoint, {"step": step}, versions)
            saver.put_writes(stored, [("a", step)], f"task-{index}")

    workers = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    listed = list(saver.list(None))
    assert len(listed) == 8 * 200
    assert all(t.pending_writes and len(t.pending_writes) == 1 for t in listed)
    ids = [t.checkpoint["id"] for t in listed]
    assert ids == sorted(ids, reverse=True)


def test_aliases_and_context_managers() -> None:
    assert MemorySaver is InMemorySaver
    with InMemorySaver() as saver:
        put_one(saver, "t1", {})
        assert saver.get(cfg("t1")) is not None

    async def use_async() -> None:
        async with InMemorySaver() as saver:
            checkpoint, versions = next_checkpoint(saver, None, {"a": 1})
            await saver.aput(cfg("t1"), checkpoint, {}, versions)
            assert [t.checkpoint async for t in saver.alist(None)] == [checkpoint]

    asyncio.run(use_async())


@dataclasses.dataclass
class Point:
    x: int


def test_allowlisted_copy_shares_storage_and_lock() -> None:
    saver = InMemorySaver()
    clone = saver.with_allowlist([Point])
    put_one(clone, "t1", {})
    assert saver.get(cfg("t1")) is not None
    assert clone.serde is not saver.serde


def test_memory_grows_linearly_when_each_turn_appends_nothing_then_two_items() -> None:
    """Each turn writes the list twice (an append of nothing, then two ~200-byte items): a full
    copy per version would add ~100 kB a turn by turn 150; deltas and references ~1 kB."""
    saver = InMemorySaver()
    config = cfg("log")
    checkpoint = None
    items: list[str] = []
    used = []
    tracemalloc.start()
    try:
        for turn in range(1, 151):
            for update in ([], [f"user {turn} " + "u" * 190, f"assistant {turn} " + "a" * 190]):
                items = items + update
                checkpoint, versions = next_checkpoint(saver, checkpoint, {"items": items})
                config = saver.put(config, checkpoint, {"source": "loop"}, versions)
            if turn in (100, 150):
                used.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    head = saver.get_tuple(cfg("log"))
    assert head is not None and len(head.checkpoint["channel_values"]["items"]) == 300
    assert (used[1] - used[0]) / 50 < 20_000
