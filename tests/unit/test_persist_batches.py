"""Tasks of one step that finished together: the persisters store their held writes in one
saver call (``put_writes_many``), the default of that call stores each as ``put_writes``, and
the driver holds only the step's last task's writes for the checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from tether.checkpoint.base import WriteCall, empty_checkpoint
from tether.checkpoint.memory import InMemorySaver
from tether.engine.drivers import SyncDriver
from tether.engine.effects import PutWrites
from tether.engine.persist import AsyncPersister, SyncPersister


class _Recording(InMemorySaver):
    """An in-memory saver that notes which write calls it got."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self.calls.append(("put_writes", 1))
        super().put_writes(config, writes, task_id, task_path)

    def put_writes_many(self, calls: Sequence[WriteCall]) -> None:
        self.calls.append(("put_writes_many", len(calls)))
        super().put_writes_many(calls)


def _stored(saver: _Recording) -> tuple[dict[str, Any], list[PutWrites]]:
    base = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    config = saver.put(base, empty_checkpoint(), {"source": "loop", "step": 0}, {})
    effects = [PutWrites(config, [("n", i)], f"task-{i}", "") for i in range(3)]
    saver.calls.clear()
    return config, effects


def _pending(saver: _Recording, config: dict[str, Any]) -> list[tuple[str, str, Any]]:
    found = saver.get_tuple(config)
    assert found is not None
    return sorted(found.pending_writes)


def test_held_writes_of_several_tasks_go_in_one_call() -> None:
    saver = _Recording()
    config, effects = _stored(saver)
    persister = SyncPersister(saver, "sync")
    for effect in effects:
        persister.submit(effect, hold=True)
    assert saver.calls == []
    persister.release_held()
    # the default put_writes_many stores each task's writes as put_writes
    assert saver.calls == [("put_writes_many", 3), *[("put_writes", 1)] * 3]
    assert _pending(saver, config) == [("task-0", "n", 0), ("task-1", "n", 1), ("task-2", "n", 2)]


def test_one_held_write_goes_as_put_writes() -> None:
    saver = _Recording()
    config, effects = _stored(saver)
    persister = SyncPersister(saver, "sync")
    persister.submit(effects[0], hold=True)
    persister.release_held()
    assert saver.calls == [("put_writes", 1)]
    assert _pending(saver, config) == [("task-0", "n", 0)]


def test_the_async_persister_also_stores_held_writes_in_one_call() -> None:
    saver = _Recording()
    config, effects = _stored(saver)
    persister = AsyncPersister(saver, "sync")

    async def run() -> None:
        for effect in effects:
            await persister.submit(effect, hold=True)
        await persister.release_held()

    asyncio.run(run())
    assert saver.calls[0] == ("put_writes_many", 3)
    assert _pending(saver, config) == [("task-0", "n", 0), ("task-1", "n", 1), ("task-2", "n", 2)]


class _Loop:
    """What ``SyncDriver._finish`` uses of a run loop: each task's outcome is its writes."""

    def __init__(self, saver: Any, config: dict[str, Any]) -> None:
        self.ctx = SimpleNamespace(saver=saver, durability="sync", stream_ns=(), live=None)
        self._config = config

    def finish_task(self, task: Any, outcome: Any) -> PutWrites:
        return PutWrites(self._config, [("n", task.n)], f"task-{task.n}", "")


def _calls(count: int) -> list[tuple[Any, None]]:
    return [(SimpleNamespace(task=SimpleNamespace(n=i), custom=[]), None) for i in range(count)]


def test_tasks_that_finished_together_store_their_writes_in_one_call() -> None:
    saver = _Recording()
    config, _ = _stored(saver)
    driver = SyncDriver(_Loop(saver, config))  # type: ignore[arg-type]
    assert list(driver._finish(_calls(3), last=False)) == []
    assert saver.calls[0] == ("put_writes_many", 3)
    assert driver.persister.held == []


def test_only_the_steps_last_task_waits_for_the_checkpoint() -> None:
    saver = _Recording()
    config, _ = _stored(saver)
    driver = SyncDriver(_Loop(saver, config))  # type: ignore[arg-type]
    list(driver._finish(_calls(3), last=True))
    assert saver.calls[0] == ("put_writes_many", 2)  # tasks 0 and 1, stored now
    assert [w.task_id for w in driver.persister.held] == ["task-2"]
    assert _pending(saver, config) == [("task-0", "n", 0), ("task-1", "n", 1)]
