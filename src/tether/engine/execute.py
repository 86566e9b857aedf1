"""Running one task: set the node's context, call it, retry by policy, turn the result into writes.

The call itself is the only part that differs between sync and async; everything around it is
written once here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tether import _runtime_context
from tether.constants import START
from tether.engine.caching import CacheEntry, cache_entry
from tether.engine.calls import CallSite, Frame, Persist
from tether.engine.effects import Emit
from tether.engine.runtime import Runtime
from tether.engine.task import Task
from tether.errors import GraphInterrupt, ParentCommand
from tether.types import Command

if TYPE_CHECKING:
    from tether.engine.loop import RunLoop

_CONTROL_FLOW = (GraphInterrupt, ParentCommand)


class TaskCall:
    """Prepared call of one task: its context, its stream chunks, and its retry bookkeeping."""

    __slots__ = ("attempt", "config", "custom", "handle", "loop", "task", "task_ctx")

    def __init__(self, loop: RunLoop, task: Task, persist: Persist | None = None) -> None:
        self.loop = loop
        self.task = task
        self.attempt = 0
        self.config = task.config
        """The config the node gets (an observer adds its callbacks to the task's)."""
        self.handle: Any = None
        self.custom: list[Any] = []
        ctx = loop.ctx
        writer = _writer(ctx, self.custom)
        runtime = Runtime(context=ctx.context, store=ctx.store, stream_writer=writer)
        self.task_ctx = _runtime_context.TaskContext(
            config=task.config,
            scratchpad=None,
            store=ctx.store,
            writer=writer,
            runtime=runtime,
        )
        self.task_ctx.calls = Frame(CallSite(loop, task, persist), task.id, task.ns)

    def enter(self) -> Any:
        """Set the node's context; an observer of the run sees the node call begin."""
        self.task_ctx.scratchpad = self.loop.ctx.scratchpad(self.task, self.loop)
        observer = self.loop.ctx.observer
        if observer is not None and self.task.name != START:
            self.handle, self.config = observer.task_started(self.task, self.loop.step)
            self.task_ctx.config = self.config
        return _runtime_context.enter(self.task_ctx)

    def leave(self, token: Any, result: Any = None, error: BaseException | None = None) -> None:
        _runtime_context.leave(token)
        if self.handle is not None:
            handle, self.handle = self.handle, None
            self.loop.ctx.observer.task_finished(handle, result, error)

    def record(self, result: Any) -> None:
        self.task.writes = self.task.node.to_writes(result, self.task)

    def cache_entry(self) -> CacheEntry | None:
        """The cache entry of this task, when its node has a cache policy and the run a cache."""
        node = self.task.node
        if node.cache_policy is None or self.loop.ctx.cache is None:
            return None
        return cache_entry(node.cache_policy, node.cache_ns, node.name, (self.task.input,), None)

    def replay(self, hit: Any) -> None:
        """Take a cached result: the writes the node made the time it ran."""
        self.task.writes = [(chan, value) for chan, value in hit]
        self.task.cached = True

    def adopt_parent_command(self, exc: BaseException) -> bool:
        """A subgraph's ``Command(graph=Command.PARENT)`` becomes this task's own result."""
        if not isinstance(exc, ParentCommand) or self.task.node.subgraph is None:
            return False
        cmd = exc.command
        self.record(Command(update=cmd.update, goto=cmd.goto))
        return True

    def retry_delay(self, exc: BaseException) -> float | None:
        """Seconds to wait before another attempt, or None to give up."""
        if isinstance(exc, _CONTROL_FLOW) or not isinstance(exc, Exception):
            return None
        for policy in self.task.node.retry_policy:
            if policy.should_retry(exc):
                self.attempt += 1
                if self.attempt >= policy.max_attempts:
                    return None
                return policy.delay(self.attempt)
        return None


def _discard(_chunk: Any) -> None:
    return None


def _writer(ctx: Any, custom: list[Any]) -> Any:
    """Where a node's ``writer`` chunks go: out at once when the run streams live (a root run
    streaming LLM tokens), else to the ``custom`` stream when the task ends, or nowhere."""
    if "custom" not in ctx.stream_modes:
        return _discard
    live = ctx.live
    if live is None:
        return custom.append
    ns = ctx.stream_ns
    return lambda chunk: live.push(Emit("custom", chunk, ns))


def run_task_sync(call: TaskCall) -> BaseException | None:
    """Run a task to its outcome in this thread: None on success, else the exception."""
    task = call.task
    node = task.node
    entry = call.cache_entry()
    cache = call.loop.ctx.cache
    if entry is not None:
        hit = cache.get([entry.key]).get(entry.key)
        if hit is not None:
            call.replay(hit)
            return None
    while True:
        token = call.enter()
        result = error = None
        try:
            if node.is_async:
                raise TypeError(
                    f"node {task.name!r} is an async function; run the graph with "
                    f"ainvoke()/astream() instead of invoke()/stream()"
                )
            result = node.call(task.input, call.config)
            call.record(result)
            if entry is not None:
                cache.set({entry.key: (task.writes, entry.ttl)})
            return None
        except BaseException as exc:
            error = exc
            if call.adopt_parent_command(exc):
                return None
            delay = call.retry_delay(exc)
            if delay is None:
                return exc
        finally:
            call.leave(token, result, error)
        time.sleep(delay)


async def run_task_async(call: TaskCall) -> BaseException | None:
    """Run a task to its outcome on the event loop (sync nodes in a worker thread)."""
    task = call.task
    node = task.node
    entry = call.cache_entry()
    cache = call.loop.ctx.cache
    if entry is not None:
        hit = (await cache.aget([entry.key])).get(entry.key)
        if hit is not None:
            call.replay(hit)
            return None
    while True:
        try:
            if node.is_async or node.acall is not None:
                token = call.enter()
                result = error = None
                try:
                    fn: Callable[[Any, Any], Any] = node.acall or node.call
                    result = await fn(task.input, call.config)
                    call.record(result)  # in the node's context: edges are part of the node
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    call.leave(token, result, error)
            else:
                await asyncio.get_running_loop().run_in_executor(None, _call_in_context, call)
            if entry is not None:
                await cache.aset({entry.key: (task.writes, entry.ttl)})
            return None
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if call.adopt_parent_command(exc):
                return None
            delay = call.retry_delay(exc)
            if delay is None:
                return exc
        await asyncio.sleep(delay)


def _call_in_context(call: TaskCall) -> None:
    token = call.enter()
    result = error = None
    try:
        result = call.task.node.call(call.task.input, call.config)
        call.record(result)
    except BaseException as exc:
        error = exc
        raise
    finally:
        call.leave(token, result, error)
