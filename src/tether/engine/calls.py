"""Durable task calls: ``@task`` functions called inside a running node (the functional API).

Each call gets an id derived from its caller's id and how many calls the caller made before it,
so a node that re-runs (after a crash or an interrupt) makes the same calls with the same ids.
A call that finished before is not run again: its result comes back from the pending writes of
the checkpoint the node runs against. A call that finishes now stores its result there at once,
through the run's persister, before its caller even reads it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

from tether import _runtime_context
from tether.constants import INTERRUPT, RESUME, RETURN
from tether.engine.caching import CacheEntry, cache_entry
from tether.engine.effects import Emit, PutWrites
from tether.engine.task import (
    PUSH,
    Scratchpad,
    Task,
    pending_write_groups,
    task_id,
    task_namespace,
)
from tether.errors import ConfigurationError, GraphInterrupt
from tether.types import RetryPolicy

if TYPE_CHECKING:
    from tether.engine.loop import RunLoop

MAX_CALL_THREADS = 16
"""Threads one node may use for the sync ``@task`` calls it has in flight."""


@dataclasses.dataclass(frozen=True, slots=True)
class Persist:
    """How a call's writes reach the run's persister: from a thread, or on the event loop."""

    sync: Callable[[PutWrites], None]
    aio: Callable[[PutWrites], Awaitable[None]] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CallSpec:
    """A ``@task`` function as the engine calls it."""

    name: str
    func: Callable[..., Any]
    is_async: bool
    retry_policy: Sequence[RetryPolicy] = ()
    cache_policy: Any = None
    cache_ns: tuple[str, ...] = ()


class CallSite:
    """What every call made under one node task shares: the run, the saved results, threads."""

    def __init__(self, loop: RunLoop, task: Task, persist: Persist | None) -> None:
        self.loop = loop
        self.task = task
        self.persist = persist
        self.lock = threading.Lock()
        self._saved: dict[str, list[tuple[str, Any]]] | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.outstanding: list[Any] = []

    def saved(self, call_id: str) -> list[tuple[str, Any]]:
        with self.lock:
            if self._saved is None:
                self._saved = pending_write_groups(self.loop.pending_writes)
            return self._saved.get(call_id, [])

    def state_value(self, key: str) -> Any:
        """A state channel's value as the node's step started (None when it has none)."""
        channel = self.loop.channels.get(key)
        return channel.value if channel is not None and channel.is_available() else None

    def pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self.lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(MAX_CALL_THREADS, "tether-call")
            return self._pool

    def record(self, call_id: str, name: str, writes: list[tuple[str, Any]]) -> PutWrites | None:
        """The effect storing a call's writes (None when the run has no saver)."""
        if self.loop.ctx.saver is None or self.persist is None:
            return None
        config = self.loop.fenced_config()
        return PutWrites(config, writes, call_id, f"{self.task.path_key}~{name}")

    def emit_update(self, name: str, value: Any, *, cached: bool = False) -> None:
        """Show the call's result in the ``updates`` stream, as LangGraph does."""
        if "updates" in self.loop.ctx.stream_modes:
            update = {name: value}
            if cached:
                update["__metadata__"] = {"cached": True}
            self._emit("updates", update)

    def emit_task(self, payload: dict[str, Any], *, start: bool) -> None:
        """A ``tasks``/``debug`` stream event of a call (its start, or how it ended)."""
        modes = self.loop.ctx.stream_modes
        if "tasks" in modes or "debug" in modes:
            self._emit("tasks", {"step": self.loop.step, "start": start, "payload": payload})

    def _emit(self, mode: str, data: Any) -> None:
        with self.lock:
            self.task.sub_chunks.append(Emit(mode, data, self.loop.ctx.stream_ns))

    def wait_sync(self) -> None:
        """Wait for calls still running (their results must be stored before the node ends),
        then let the call threads go."""
        pending, self.outstanding = self.outstanding, []
        concurrent.futures.wait([f for f in pending if isinstance(f, concurrent.futures.Future)])
        with self.lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    async def wait_async(self) -> None:
        """``wait_sync`` for a node on the event loop."""
        waitable = [f for f in self.outstanding if isinstance(f, asyncio.Future)]
        if waitable:
            await asyncio.gather(*waitable, return_exceptions=True)
        self.wait_sync()


class Frame:
    """The caller of ``@task`` functions: a node task, or a call that makes calls of its own."""

    __slots__ = ("count", "id", "ns", "path", "site")

    def __init__(self, site: CallSite, id: str, ns: str, path: tuple[Any, ...] = ()) -> None:
        self.site = site
        self.id = id
        self.ns = ns
        self.path = path or site.task.path
        """The caller's task path; a call's is (PUSH, caller's path, index, True), LangGraph's."""
        self.count = 0

    def submit(self, spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Start a call; return a future of its result (an asyncio one on an event loop)."""
        with self.site.lock:
            idx = self.count
            self.count += 1
        call = _Call(self, spec, task_id(self.id, "call", idx, spec.name), args, kwargs)
        call.path = (PUSH, self.path, idx, True)
        on_loop = _running_loop()
        done, value = call.saved_result()
        if done:
            return _finished(value, on_loop)
        if on_loop is not None:
            future: Any = (
                asyncio.ensure_future(call.run_async())
                if spec.is_async
                else on_loop.run_in_executor(
                    self.site.pool(), contextvars.copy_context().run, call.run_sync
                )
            )
        elif spec.is_async:
            raise ConfigurationError(
                f"task {spec.name!r} is an async function; call it from an async entrypoint or "
                f"node (run the graph with ainvoke()/astream())"
            )
        else:
            future = self.site.pool().submit(contextvars.copy_context().run, call.run_sync)
        self.site.outstanding.append(future)
        return future


class _Call:
    """One call of a ``@task`` function: its id, its interrupt bookkeeping and its retries."""

    __slots__ = ("args", "frame", "id", "kwargs", "ns", "path", "spec")

    def __init__(
        self,
        frame: Frame,
        spec: CallSpec,
        call_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.frame = frame
        self.spec = spec
        self.id = call_id
        self.ns = task_namespace(frame.ns, spec.name, call_id)
        self.args = args
        self.kwargs = kwargs
        self.path: tuple[Any, ...] = ()

    def saved_result(self) -> tuple[bool, Any]:
        for chan, value in self.frame.site.saved(self.id):
            if chan == RETURN:
                return True, value
        return False, None

    def _enter(self) -> Any:
        site = self.frame.site
        outer = _runtime_context.current()
        resume = [v for chan, val in site.saved(self.id) if chan == RESUME for v in val]
        loop = site.loop
        scratchpad = Scratchpad(self.ns, resume, loop.resume_input, loop.ctx.saver is not None)
        ctx = _runtime_context.TaskContext(
            config=outer.config if outer is not None else site.task.config,
            scratchpad=scratchpad,
            store=loop.ctx.store,
            writer=outer.writer if outer is not None else _discard,
            runtime=outer.runtime if outer is not None else None,
        )
        ctx.calls = Frame(site, self.id, self.ns, self.path)
        traced = None
        observer = loop.ctx.observer
        if observer is not None:
            call_input = self.args[0] if len(self.args) == 1 and not self.kwargs else self.kwargs
            traced, ctx.config = observer.call_started(
                self.spec.name, call_input, self.path, self.ns, loop.step, ctx.config
            )
        return _runtime_context.enter(ctx), scratchpad, traced

    def _leave(self, token: Any, traced: Any, result: Any, error: BaseException | None) -> None:
        _runtime_context.leave(token)
        if traced is not None:
            self.frame.site.loop.ctx.observer.task_finished(traced, result, error)

    def _outcome(self, result: Any, *, cached: bool = False) -> PutWrites | None:
        self.frame.site.emit_update(self.spec.name, result, cached=cached)
        if not cached:  # LangGraph reports no result for a task replayed from the cache
            self._ended(result={RETURN: result})
        return self.frame.site.record(self.id, self.spec.name, [(RETURN, result)])

    def _ended(
        self, *, result: Any = None, error: BaseException | None = None, interrupts: Any = ()
    ) -> None:
        payload = {"id": self.id, "name": self.spec.name, "error": error, "result": result}
        self.frame.site.emit_task({**payload, "interrupts": list(interrupts)}, start=False)

    def _cache_entry(self) -> CacheEntry | None:
        cache = self.frame.site.loop.ctx.cache
        if cache is None or self.spec.cache_policy is None:
            return None
        spec = self.spec
        return cache_entry(spec.cache_policy, spec.cache_ns, spec.name, self.args, self.kwargs)

    def _paused(self, exc: GraphInterrupt, scratchpad: Scratchpad) -> PutWrites | None:
        self._ended(interrupts=exc.interrupts)
        writes: list[tuple[str, Any]] = [(INTERRUPT, exc.interrupts)]
        if scratchpad.resume:
            writes.append((RESUME, list(scratchpad.resume)))
        return self.frame.site.record(self.id, self.spec.name, writes)

    def _retry_delay(self, exc: BaseException, attempt: int) -> float | None:
        if isinstance(exc, GraphInterrupt) or not isinstance(exc, Exception):
            return None
        for policy in self.spec.retry_policy:
            if policy.should_retry(exc):
                return policy.delay(attempt) if attempt < policy.max_attempts else None
        return None

    def _steps(self) -> Generator[tuple[str, Any], Any, Any]:
        """The call, written once: yields ("call"|"cache_get"|"cache_set"|"store"|"sleep", arg)
        requests that ``run_sync`` and ``run_async`` carry out; returns the result."""
        entry = self._cache_entry()
        if entry is not None:
            found = yield ("cache_get", entry.key)
            if entry.key in found:
                yield ("store", self._outcome(found[entry.key], cached=True))
                return found[entry.key]
        start = {"id": self.id, "name": self.spec.name, "input": (self.args, self.kwargs)}
        self.frame.site.emit_task({**start, "triggers": (PUSH,)}, start=True)
        attempt = 0
        while True:
            attempt += 1
            token, scratchpad, traced = self._enter()
            result: Any = None
            error: BaseException | None = None
            try:
                result = yield ("call", None)
            except GraphInterrupt as exc:
                error = exc
                yield ("store", self._paused(exc, scratchpad))
                raise
            except BaseException as exc:
                error = exc
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    self._ended(error=exc)
                    raise
            else:
                if entry is not None:
                    yield ("cache_set", {entry.key: (result, entry.ttl)})
                yield ("store", self._outcome(result))
                return result
            finally:
                self._leave(token, traced, result, error)
            yield ("sleep", delay)

    def run_sync(self) -> Any:
        """Run the call in this thread."""
        gen = self._steps()
        reply: Reply = (None, None)
        while True:
            done, op = _advance(gen, reply)
            if done:
                return op
            reply = self._perform_sync(*op)

    async def run_async(self) -> Any:
        """Run the call (an async function) on the event loop."""
        gen = self._steps()
        reply: Reply = (None, None)
        while True:
            done, op = _advance(gen, reply)
            if done:
                return op
            reply = await self._perform_async(*op)

    def _perform_sync(self, kind: str, arg: Any) -> Reply:
        site = self.frame.site
        cache = site.loop.ctx.cache
        try:
            if kind == "call":
                return self.spec.func(*self.args, **self.kwargs), None
            if kind == "cache_get":
                return cache.get([arg]), None
            if kind == "cache_set":
                cache.set(arg)
            elif kind == "store" and arg is not None and site.persist is not None:
                site.persist.sync(arg)
            elif kind == "sleep":
                time.sleep(arg)
        except BaseException as exc:
            return None, exc
        return None, None

    async def _perform_async(self, kind: str, arg: Any) -> Reply:
        site = self.frame.site
        cache = site.loop.ctx.cache
        try:
            if kind == "call":
                return await self.spec.func(*self.args, **self.kwargs), None
            if kind == "cache_get":
                return await cache.aget([arg]), None
            if kind == "cache_set":
                await cache.aset(arg)
            elif kind == "store":
                await _store_async(site.persist, arg)
            elif kind == "sleep":
                await asyncio.sleep(arg)
        except BaseException as exc:
            return None, exc
        return None, None


Reply = tuple[Any, BaseException | None]
"""What a carried-out request sends back into ``_Call._steps``: (value, None) or (None, error)."""


def _advance(gen: Generator[tuple[str, Any], Any, Any], reply: Reply) -> tuple[bool, Any]:
    """Resume ``gen`` with a reply: (False, next request) or (True, its return value)."""
    value, error = reply
    try:
        return False, (gen.throw(error) if error is not None else gen.send(value))
    except StopIteration as stop:
        return True, stop.value


def current_frame(what: str) -> Frame:
    """The frame of the node or call running now; a clear error outside one."""
    ctx = _runtime_context.current()
    frame: Frame | None = ctx.calls if ctx is not None else None
    if frame is None:
        raise ConfigurationError(
            f"{what} was called outside a running graph: call @task functions inside an "
            f"@entrypoint function, another task, or a graph node"
        )
    return frame


async def _store_async(persist: Persist | None, effect: PutWrites | None) -> None:
    if effect is None or persist is None:
        return
    if persist.aio is not None:
        await persist.aio(effect)
    else:
        persist.sync(effect)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _finished(value: Any, on_loop: asyncio.AbstractEventLoop | None) -> Any:
    if on_loop is not None:
        done: asyncio.Future[Any] = on_loop.create_future()
        done.set_result(value)
        return done
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_result(value)
    return future


def _discard(_chunk: Any) -> None:
    return None
