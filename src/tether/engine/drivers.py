"""The two drivers of the sans-I/O core: each carries out effects, one with blocking calls, one
with awaits. They hold no graph logic; that lives in ``loop`` and ``state_ops``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

from tether.engine.calls import Persist
from tether.engine.effects import (
    AcquireLease,
    Effect,
    Emit,
    Load,
    Put,
    PutWrites,
    RunTasks,
)
from tether.engine.execute import TaskCall, run_task_async, run_task_sync
from tether.engine.loop import RunLoop
from tether.engine.observe import LiveChunks
from tether.engine.persist import AsyncPersister, SyncPersister

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_worker = threading.local()


def _task_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool  # noqa: PLW0603 - one pool per process, created on first parallel step
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                workers = min(64, (os.cpu_count() or 1) + 16)
                _pool = concurrent.futures.ThreadPoolExecutor(
                    workers, "tether-task", initializer=_mark_worker
                )
    return _pool


def _mark_worker() -> None:
    _worker.active = True


class SyncDriver:
    """Runs a ``RunLoop`` with blocking I/O; nodes of a step in parallel threads.

    ``quiet``: no one sees the chunks before the run ends (``invoke``), so a chunk need not
    wait for the commit before it; the run's last commit then also gives the lease back.
    """

    def __init__(self, loop: RunLoop, *, quiet: bool = False) -> None:
        self.loop = loop
        self.quiet = quiet
        self.persister = SyncPersister(loop.ctx.saver, loop.ctx.durability)
        self.side_chunks: list[Emit] = []
        self.lock = threading.Lock()
        """Held around the persister: ``@task`` calls store their results from other threads."""
        self.persist = Persist(sync=self._submit_locked)

    def _submit_locked(self, effect: PutWrites) -> None:
        with self.lock:
            self.persister.submit(effect)

    def events(self) -> Iterator[Emit]:
        gen = self.loop.run()
        ok = released = False
        try:
            try:
                yield from self._drive(gen)
                ok = True
            finally:
                if ok:
                    released = self.persister.flush(*_lease_back(self.loop))
                else:
                    _flush_quietly(self.persister)
        finally:
            lease = self.loop.ctx.lease
            if lease is not None and self.loop.ctx.is_root and not released:
                self.loop.ctx.saver.release_lease(lease, _thread_status(self.loop))

    def _drive(self, gen: Generator[Effect, Any, None]) -> Iterator[Emit]:
        saver = self.loop.ctx.saver
        send: Any = None
        while True:
            try:
                effect = gen.send(send)
            except StopIteration:
                return
            send = None
            kind = type(effect)
            if kind is Put or kind is PutWrites:
                self.persister.submit(effect)  # type: ignore[arg-type]
                continue
            if kind is RunTasks and _pure(effect.tasks):  # type: ignore[union-attr]
                self.persister.carry()
            elif kind is not Emit or not self.quiet:
                self.persister.release_held()
            if kind is Emit:
                yield effect  # type: ignore[misc]
            elif kind is RunTasks:
                yield from self._run(effect.tasks)  # type: ignore[union-attr]
            elif kind is Load:
                send = saver.get_tuple(effect.config)  # type: ignore[union-attr]
            elif kind is AcquireLease:
                a: AcquireLease = effect  # type: ignore[assignment]
                send = saver.acquire_and_load(a.thread_id, a.load, wait=a.wait)

    def _run(self, tasks: list[Any]) -> Iterator[Emit]:
        calls = [TaskCall(self.loop, task, self.persist) for task in tasks]
        live = self.loop.ctx.live
        if getattr(_worker, "active", False) or (len(calls) == 1 and live is None):
            for i, call in enumerate(calls):
                yield from self._finish([(call, run_task_sync(call))], last=i == len(calls) - 1)
            return
        yield from self._run_pooled(calls, live)

    def _run_pooled(self, calls: list[TaskCall], live: LiveChunks | None) -> Iterator[Emit]:
        """Run the step's tasks in the pool: this thread stores each task's writes the moment it
        finishes, even while a sibling still runs (tasks that finished together in one saver
        call), and hands on the chunks they stream (LLM tokens) as they come."""
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        if live is not None:
            live.target = inbox.put
        pool = _task_pool()
        futures: dict[Any, TaskCall] = {}
        for call in calls:
            future = pool.submit(contextvars.copy_context().run, run_task_sync, call)
            futures[future] = call
            future.add_done_callback(inbox.put)
        left = len(futures)
        while left:
            done, item = _finished_together(inbox.get(), inbox, left)
            if done:
                left -= len(done)
                yield from self._finish([(futures[f], f.result()) for f in done], last=left == 0)
            if item is not None:
                yield item

    def _finish(
        self, finished: list[tuple[TaskCall, BaseException | None]], *, last: bool
    ) -> Iterator[Emit]:
        """Record tasks that finished together and store their writes in one commit; the
        step's last task's writes may wait for its checkpoint's commit (the others do not)."""
        records = [(call, self.loop.finish_task(call.task, outcome)) for call, outcome in finished]
        chunks: list[Emit] = []
        with self.lock:
            for i, (call, record) in enumerate(records):
                if record is not None:
                    if last and i == len(records) - 1 and self.persister.held:
                        self.persister.release_held()
                    self.persister.submit(record, hold=True)
                chunks.extend(_side_chunks(self.loop, call))
            if chunks or not last:
                self.persister.release_held()
        yield from chunks


class AsyncDriver:
    """Runs a ``RunLoop`` on an event loop; async nodes as tasks, sync nodes in threads."""

    def __init__(self, loop: RunLoop, *, quiet: bool = False) -> None:
        self.loop = loop
        self.quiet = quiet
        self.persister = AsyncPersister(loop.ctx.saver, loop.ctx.durability)
        self.persist = Persist(sync=self._submit_from_thread, aio=self.persister.submit)
        self.event_loop: asyncio.AbstractEventLoop | None = None

    def _submit_from_thread(self, effect: PutWrites) -> None:
        """Store a ``@task`` call's writes from a worker thread, on the run's event loop."""
        assert self.event_loop is not None
        asyncio.run_coroutine_threadsafe(self.persister.submit(effect), self.event_loop).result()

    async def events(self) -> AsyncIterator[Emit]:
        self.event_loop = asyncio.get_running_loop()
        released = False
        try:
            ok = False
            try:
                async for chunk in self._drive(self.loop.run()):
                    yield chunk
                ok = True
            finally:
                if ok:
                    released = await self.persister.flush(*_lease_back(self.loop))
                else:
                    with contextlib.suppress(Exception):  # the run's own error is reported
                        await self.persister.flush()
        finally:
            lease = self.loop.ctx.lease
            if lease is not None and self.loop.ctx.is_root and not released:
                await self.loop.ctx.saver.arelease_lease(lease, _thread_status(self.loop))

    async def _drive(self, gen: Generator[Effect, Any, None]) -> AsyncIterator[Emit]:
        saver = self.loop.ctx.saver
        send: Any = None
        while True:
            try:
                effect = gen.send(send)
            except StopIteration:
                return
            send = None
            kind = type(effect)
            if kind is Put or kind is PutWrites:
                await self.persister.submit(effect)  # type: ignore[arg-type]
                continue
            if kind is RunTasks and _pure(effect.tasks):  # type: ignore[union-attr]
                await self.persister.carry()
            elif kind is not Emit or not self.quiet:
                await self.persister.release_held()
            if kind is Emit:
                yield effect  # type: ignore[misc]
            elif kind is RunTasks:
                async for chunk in self._run(effect.tasks):  # type: ignore[union-attr]
                    yield chunk
            elif kind is Load:
                send = await saver.aget_tuple(effect.config)  # type: ignore[union-attr]
            elif kind is AcquireLease:
                a: AcquireLease = effect  # type: ignore[assignment]
                send = await saver.aacquire_and_load(a.thread_id, a.load, wait=a.wait)

    async def _run(self, tasks: list[Any]) -> AsyncIterator[Emit]:
        calls = [TaskCall(self.loop, task, self.persist) for task in tasks]
        live = self.loop.ctx.live
        if len(calls) == 1 and live is None:
            outcome = await run_task_async(calls[0])
            for chunk in await self._finish([(calls[0], outcome)], last=True):
                yield chunk
            return
        async for chunk in self._run_concurrently(calls, live):
            yield chunk

    async def _run_concurrently(
        self, calls: list[TaskCall], live: LiveChunks | None
    ) -> AsyncIterator[Emit]:
        """Run the step's tasks as asyncio tasks, finishing each as it ends and handing on the
        chunks they stream (from any thread) as they come."""
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        event_loop = asyncio.get_running_loop()

        def push(emit: Emit) -> None:  # called from worker threads too
            event_loop.call_soon_threadsafe(inbox.put_nowait, emit)

        if live is not None:
            live.target = push
        pending = {asyncio.ensure_future(run_task_async(call)): call for call in calls}
        for future in pending:
            future.add_done_callback(inbox.put_nowait)
        try:
            while pending:
                done, item = _finished_together(await inbox.get(), inbox, len(pending))
                if done:
                    finished = [(pending.pop(f), f.result()) for f in done]
                    for chunk in await self._finish(finished, last=not pending):
                        yield chunk
                if item is not None:
                    yield item
        finally:
            for future in pending:
                future.cancel()

    async def _finish(
        self, finished: list[tuple[TaskCall, BaseException | None]], *, last: bool
    ) -> list[Emit]:
        """As ``SyncDriver._finish``."""
        records = [(call, self.loop.finish_task(call.task, outcome)) for call, outcome in finished]
        chunks: list[Emit] = []
        for i, (call, record) in enumerate(records):
            if record is not None:
                if last and i == len(records) - 1 and self.persister.held:
                    await self.persister.release_held()
                await self.persister.submit(record, hold=True)
            chunks.extend(_side_chunks(self.loop, call))
        if chunks or not last:
            await self.persister.release_held()
        return chunks


def _finished_together(item: Any, inbox: Any, running: int) -> tuple[list[Any], Emit | None]:
    """The tasks (futures) that finished meanwhile, from ``item`` on, so their writes go in one
    commit: taken from ``inbox`` (a ``queue.SimpleQueue`` or ``asyncio.Queue``) while it holds
    more and fewer than ``running`` were taken; and the chunk that stopped the taking, if any
    (it streamed after the tasks before it finished)."""
    done: list[Any] = []
    while not isinstance(item, Emit):
        done.append(item)
        if len(done) == running or inbox.empty():
            return done, None
        item = inbox.get_nowait()
    return done, item


def _side_chunks(loop: RunLoop, call: TaskCall) -> Iterator[Emit]:
    """Chunks a finished task produced besides its writes: custom stream data, subgraph chunks."""
    ns = loop.ctx.stream_ns
    if loop.ctx.live is not None:
        yield from loop.ctx.live.drain()  # streamed while the step ran inline
    for chunk in call.custom:
        yield Emit("custom", chunk, ns)
    sub = getattr(call.task, "sub_chunks", None)
    if sub:
        yield from sub


def _pure(tasks: list[Any]) -> bool:
    """Whether every task of a step runs no user code (``NodeSpec.pure``): the step's held
    checkpoint may then be committed with the next one, as nothing can tell them apart."""
    return bool(tasks) and all(task.node.pure for task in tasks)


def _lease_back(loop: RunLoop) -> tuple[Any, str | None]:
    """The lease the run's last commit may give back (a root run's), and the status to record."""
    lease = loop.ctx.lease if loop.ctx.is_root else None
    return lease, _thread_status(loop)


def _thread_status(loop: RunLoop) -> str:
    """What a released lease records as the thread's status."""
    return {"done": "idle", "interrupted": "interrupted"}.get(loop.status, "error")


def _flush_quietly(persister: SyncPersister) -> None:
    with contextlib.suppress(Exception):  # the run's own error is reported
        persister.flush()
