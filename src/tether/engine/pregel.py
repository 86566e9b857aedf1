"""``CompiledGraph``: the runnable object ``StateGraph.compile()`` returns.

Public methods mirror LangGraph's compiled graph. Each builds a ``RunContext`` and hands a
sans-I/O generator to the sync or async driver.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from typing import Any

from tether import _runtime_context
from tether.checkpoint.base import BaseCheckpointSaver
from tether.constants import CHECKPOINT_ID, CHECKPOINT_MAP, CHECKPOINT_NS, CONF, NS_SEP, THREAD_ID
from tether.engine import observe, state_ops
from tether.engine.drivers import AsyncDriver, SyncDriver
from tether.engine.effects import Effect, Emit, Load, Put, PutWrites
from tether.engine.loop import RunLoop
from tether.engine.runtime import PARENT_KEY, ParentLink, RunContext, metadata_from_config
from tether.engine.spec import GraphSpec
from tether.errors import (
    ConfigurationError,
    GraphInterrupt,
    InvalidContextError,
    InvalidUpdateError,
    MissingConfigKey,
)
from tether.types import StateSnapshot, StateUpdate

DEFAULT_RECURSION_LIMIT = 25
_STREAM_MODES = frozenset(
    {"values", "updates", "debug", "custom", "checkpoints", "tasks", "messages"}
)


class CompiledGraph:
    """A graph ready to run. Use ``invoke``/``stream`` (or their async twins) with a config."""

    def __init__(
        self,
        spec: GraphSpec,
        *,
        checkpointer: Any = None,
        store: Any = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        debug: bool = False,
        name: str | None = None,
        context_schema: Any = None,
        busy_policy: str = "reject",
        busy_timeout: float = 60.0,
        cache: Any = None,
    ) -> None:
        self.spec = spec
        self.cache = cache
        self.busy_policy = busy_policy
        self.busy_timeout = busy_timeout
        self.checkpointer = checkpointer
        self.store = store
        self.interrupt_before_nodes = interrupt_before
        self.interrupt_after_nodes = interrupt_after
        self.debug = debug
        self.name = name or "LangGraph"
        self.context_schema = context_schema

    # -- running ---------------------------------------------------------------------------

    def invoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: str = "values",
        **options: Any,
    ) -> Any:
        """Run the graph to its end (or to an interrupt) and return the final state.

        Options: ``context``, ``interrupt_before``, ``interrupt_after``, ``durability``
        ("sync", "async", "exit"), ``busy_policy`` ("reject", "wait") and ``busy_timeout``.
        """
        run = _Invocation(self._loop(input, config, {stream_mode}, False, options), stream_mode)
        for emit in _sync_events(run.loop, quiet=run.loop.ctx.sink is None):
            run.take(emit)
        return run.result()

    async def ainvoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: str = "values",
        **options: Any,
    ) -> Any:
        """Async twin of ``invoke``."""
        run = _Invocation(self._loop(input, config, {stream_mode}, False, options), stream_mode)
        async for emit in _async_events(run.loop, quiet=run.loop.ctx.sink is None):
            run.take(emit)
        return run.result()

    def stream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] | None = None,
        subgraphs: bool = False,
        **options: Any,
    ) -> Iterator[Any]:
        """Run the graph, yielding chunks of the requested stream mode(s) as steps finish.

        Takes the options ``invoke`` takes.
        """
        modes, single = _modes(stream_mode, self.debug)
        loop = self._loop(input, config, modes, subgraphs, options)
        for emit in _sync_events(loop):
            yield from _shape(emit, modes, single, subgraphs)

    async def astream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] | None = None,
        subgraphs: bool = False,
        **options: Any,
    ) -> AsyncIterator[Any]:
        """Async twin of ``stream``."""
        modes, single = _modes(stream_mode, self.debug)
        loop = self._loop(input, config, modes, subgraphs, options)
        async for emit in _async_events(loop):
            for chunk in _shape(emit, modes, single, subgraphs):
                yield chunk

    def batch(
        self,
        inputs: Sequence[Any],
        config: Any = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """``invoke`` each input (configs: one for all, or one per input); with
        ``return_exceptions=True`` an input's error is its result instead of being raised."""
        configs = _configs(config, len(inputs))
        results: list[Any] = []
        for i, c in zip(inputs, configs, strict=True):
            try:
                results.append(self.invoke(i, c, **kwargs))
            except Exception as exc:
                if not return_exceptions:
                    raise
                results.append(exc)
        return results

    async def abatch(
        self,
        inputs: Sequence[Any],
        config: Any = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Async twin of ``batch``; runs the inputs concurrently."""
        configs = _configs(config, len(inputs))
        runs = (self.ainvoke(i, c, **kwargs) for i, c in zip(inputs, configs, strict=True))
        return list(await asyncio.gather(*runs, return_exceptions=return_exceptions))

    def _loop(
        self,
        input: Any,
        config: dict[str, Any] | None,
        modes: set[str] | frozenset[str],
        subgraphs: bool,
        options: dict[str, Any],
    ) -> RunLoop:
        unknown = set(options) - _RUN_OPTIONS
        if unknown:
            raise TypeError(
                f"unknown run option(s) {sorted(unknown)}; tether takes {sorted(_RUN_OPTIONS)}"
            )
        context = options.get("context")
        interrupt_before = options.get("interrupt_before")
        interrupt_after = options.get("interrupt_after")
        durability = options.get("durability")
        config = _inherit_task_config(config)
        given = dict(config)  # as the caller gave it (the loop adds its namespace below)
        conf = dict(config.get(CONF, {}))
        link: ParentLink | None = conf.pop(PARENT_KEY, None)
        saver = self._saver_for(link)
        thread_id = conf.get(THREAD_ID)
        if saver is not None and thread_id is None:
            raise MissingConfigKey(
                "this graph has a checkpointer, so every run needs a thread: pass "
                "config={'configurable': {'thread_id': '<id>'}}; the thread_id is missing"
            )
        ns = self._namespace(conf, link)
        checkpoint_id = conf.get(CHECKPOINT_ID) if link is None else None
        config[CONF] = {**conf, CHECKPOINT_NS: ns}
        durability = durability or config.get("durability") or (link.durability if link else "sync")
        if durability not in ("sync", "async", "exit"):
            raise ConfigurationError(
                f"durability must be 'sync', 'async' or 'exit', not {durability!r}"
            )
        self._check_interrupts_allowed(saver, interrupt_before, interrupt_after)
        ctx = RunContext(
            saver=saver,
            store=self.store if self.store is not None else (link.store if link else None),
            config=config,
            thread_id=None if thread_id is None else str(thread_id),
            ns=ns,
            checkpoint_id=checkpoint_id,
            recursion_limit=_recursion_limit(config),
            interrupt_before=interrupt_before or self.interrupt_before_nodes,
            interrupt_after=interrupt_after or self.interrupt_after_nodes,
            stream_modes=frozenset(modes) | (link.stream_modes if link else frozenset()),
            durability=durability,
            run_id=str(config["run_id"]) if config.get("run_id") else _link_run_id(link),
            user_metadata=metadata_from_config(config),
            checkpoint_map=dict(link.checkpoint_map) if link else {},
            context=context,
            resume_input=link.resume_input if link else None,
            parent_resuming=link.resuming if link else False,
            stream_ns=link.stream_ns if link else (),
            new_id=_id_factory(saver),
            version_fn=_version_fn(saver),
            sink=link.sink if link else None,
            stream_subgraphs=subgraphs or bool(link and link.sink),
            lease=link.lease if link else None,
            busy_wait=self._busy_wait(options),
            is_root=link is None,
            cache=self.cache if self.cache is not None else (link.cache if link else None),
        )
        self._observe(ctx, given, input)
        return RunLoop(self.spec, ctx, input)

    def _observe(self, ctx: RunContext, config: dict[str, Any], input: Any) -> None:
        """Let an integration watch the run (LangChain callbacks; the ``messages`` stream)."""
        if ctx.is_root and "messages" in ctx.stream_modes:
            ctx.live = observe.LiveChunks()
        ctx.observer = observe.observe(self.name, config, input, ctx.stream_modes, ctx.live)
        if ctx.live is not None and ctx.observer is None:
            raise ConfigurationError(
                "stream_mode='messages' streams LangChain chat model tokens and needs "
                "langchain-core: pip install 'tether[langchain]'"
            )

    def _busy_wait(self, options: dict[str, Any]) -> float | None:
        """Seconds a run waits for another run's lease on its thread (None: refuse at once)."""
        policy = options.get("busy_policy", self.busy_policy)
        timeout = options.get("busy_timeout", self.busy_timeout)
        if policy == "reject":
            return None
        if policy == "wait":
            return float(timeout)
        raise ConfigurationError(
            f"busy_policy must be 'reject' (raise ThreadBusy) or 'wait', not {policy!r}"
        )

    def _saver_for(self, link: ParentLink | None) -> Any:
        own = self.checkpointer
        if link is None:
            if own is True:
                raise InvalidContextError(
                    "checkpointer=True only makes sense for a subgraph; pass a saver such as "
                    "InMemorySaver() to the root graph's compile()"
                )
            return own if own not in (None, False) else None
        if own is False:
            return None
        if own is None or own is True:
            return link.saver
        return own

    def _namespace(self, conf: dict[str, Any], link: ParentLink | None) -> str:
        if link is None:
            return ""
        ns = str(conf.get(CHECKPOINT_NS, ""))
        if self.checkpointer is True:
            ns = NS_SEP.join(part.split(":", 1)[0] for part in ns.split(NS_SEP))
        return ns

    def _check_interrupts_allowed(self, saver: Any, before: Any, after: Any) -> None:
        if saver is None and (
            before or after or self.interrupt_before_nodes or self.interrupt_after_nodes
        ):
            raise ConfigurationError(
                "interrupt_before/interrupt_after need a checkpointer to store the paused run: "
                "compile(checkpointer=InMemorySaver()) or another saver"
            )

    # -- state -----------------------------------------------------------------------------

    def get_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state at its latest checkpoint (or at ``checkpoint_id``)."""
        saver, config = self._state_config(config)
        spec = self._spec_for(config)
        return _run_sync(saver, state_ops.get_state(spec, config, subgraphs=subgraphs))

    async def aget_state(self, config: dict[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        saver, config = self._state_config(config)
        spec = self._spec_for(config)
        return await _run_async(saver, state_ops.get_state(spec, config, subgraphs=subgraphs))

    def get_state_history(
        self,
        config: dict[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints as snapshots, newest first, read as you iterate."""
        saver, config = self._state_config(config)
        spec = self._spec_for(config)
        query = state_ops.history_query(config)
        for saved in saver.list(query, filter=filter, before=before, limit=limit):
            yield _run_sync(saver, state_ops.snapshot(spec, saved, apply_pending=False))

    async def aget_state_history(
        self,
        config: dict[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        saver, config = self._state_config(config)
        spec = self._spec_for(config)
        query = state_ops.history_query(config)
        async for saved in saver.alist(query, filter=filter, before=before, limit=limit):
            yield await _run_async(saver, state_ops.snapshot(spec, saved, apply_pending=False))

    def update_state(
        self,
        config: dict[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        """Write ``values`` as if ``as_node`` returned them; returns the new checkpoint's config."""
        return self.bulk_update_state(config, [[StateUpdate(values, as_node, task_id)]])

    async def aupdate_state(
        self,
        config: dict[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        return await self.abulk_update_state(config, [[StateUpdate(values, as_node, task_id)]])

    def bulk_update_state(
        self, config: dict[str, Any], supersteps: Sequence[Sequence[StateUpdate]]
    ) -> dict[str, Any]:
        """Apply several supersteps of updates, one checkpoint each (holding the thread's lease)."""
        saver, config = self._state_config(config)
        thread_id = config[CONF][THREAD_ID]
        lease = saver.acquire_lease(thread_id, wait=self._busy_wait({}))
        try:
            return _run_sync(saver, self._bulk(saver, config, supersteps, lease))
        finally:
            if lease is not None:
                saver.release_lease(lease, None)

    async def abulk_update_state(
        self, config: dict[str, Any], supersteps: Sequence[Sequence[StateUpdate]]
    ) -> dict[str, Any]:
        saver, config = self._state_config(config)
        thread_id = config[CONF][THREAD_ID]
        lease = await saver.aacquire_lease(thread_id, wait=self._busy_wait({}))
        try:
            return await _run_async(saver, self._bulk(saver, config, supersteps, lease))
        finally:
            if lease is not None:
                await saver.arelease_lease(lease, None)

    def _bulk(
        self, saver: Any, config: dict[str, Any], supersteps: Any, lease: Any
    ) -> Generator[Effect, Any, Any]:
        updates = [
            [StateUpdate(*u) if isinstance(u, tuple) else u for u in step] for step in supersteps
        ]
        token = lease.token if lease is not None else None
        return state_ops.bulk_update_state(
            self._spec_for(config, for_update=True),
            config,
            updates,
            version_fn=_version_fn(saver),
            new_id=_id_factory(saver),
            user_metadata=metadata_from_config(config),
            lease_token=token,
        )

    def _state_config(self, config: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        saver = self.checkpointer if self.checkpointer not in (None, True, False) else None
        if saver is None:
            raise ConfigurationError(
                "this graph has no checkpointer, so it keeps no state between runs: compile it "
                "with checkpointer=InMemorySaver() (or another saver)"
            )
        conf = dict((config or {}).get(CONF, {}))
        if conf.get(THREAD_ID) is None:
            raise MissingConfigKey(
                "reading or updating state needs a thread: pass config={'configurable': "
                "{'thread_id': '<id>'}}; the thread_id is missing"
            )
        conf[THREAD_ID] = str(conf[THREAD_ID])
        conf.setdefault(CHECKPOINT_NS, "")
        conf.pop(CHECKPOINT_MAP, None)
        return saver, {**config, CONF: conf}

    def _spec_for(self, config: dict[str, Any], *, for_update: bool = False) -> GraphSpec:
        """The graph whose state a config addresses: a subgraph's when it names its namespace."""
        ns = config[CONF].get(CHECKPOINT_NS, "")
        spec = state_ops.spec_for_namespace(self.spec, ns) if ns else self.spec
        if spec is not None:
            return spec
        if for_update:
            raise InvalidUpdateError(
                f"checkpoint_ns {ns!r} names no subgraph of this graph, so its state cannot be "
                f"updated through it; pass the config of a subgraph snapshot "
                f"(get_state(config).tasks[i].state)"
            )
        return self.spec

    # -- cache -----------------------------------------------------------------------------

    def clear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Drop the cached results of ``nodes`` (every node when None)."""
        self._cache_or_fail().clear(self._cache_namespaces(nodes))

    async def aclear_cache(self, nodes: Sequence[str] | None = None) -> None:
        await self._cache_or_fail().aclear(self._cache_namespaces(nodes))

    def _cache_or_fail(self) -> Any:
        if self.cache is None:
            raise ConfigurationError(
                "this graph has no cache to clear: compile it with cache=InMemoryCache()"
            )
        return self.cache

    def _cache_namespaces(self, nodes: Sequence[str] | None) -> list[tuple[str, ...]]:
        names = list(nodes) if nodes is not None else list(self.spec.nodes)
        specs = [self.spec.nodes[n] for n in names if n in self.spec.nodes]
        return [spec.cache_ns for spec in specs if spec.cache_ns]

    # -- introspection ---------------------------------------------------------------------

    @property
    def nodes(self) -> dict[str, Any]:
        return dict(self.spec.nodes)

    def get_graph(self) -> Any:
        raise NotImplementedError("drawing graphs is not part of tether yet")


_RUN_OPTIONS = frozenset(
    {"context", "interrupt_before", "interrupt_after", "durability", "busy_policy", "busy_timeout"}
)


class _Invocation:
    """Collects what ``invoke`` returns from a run's stream of chunks."""

    def __init__(self, loop: RunLoop, stream_mode: str) -> None:
        self.loop = loop
        self.stream_mode = stream_mode
        self.chunks: list[Any] | None = [] if stream_mode != "values" else None

    def take(self, emit: Emit) -> None:
        sink = self.loop.ctx.sink
        if sink is not None:
            sink(emit)
        if self.chunks is not None and emit.mode == self.stream_mode and not emit.ns:
            self.chunks.append(emit.data)

    def result(self) -> Any:
        loop = self.loop
        if loop.status == "interrupted" and loop.ctx.ns:
            raise GraphInterrupt(loop.interrupts)
        if self.chunks is not None:
            return self.chunks
        output = loop.output
        if loop.status == "interrupted" and loop.interrupts:
            pending = {"__interrupt__": list(loop.interrupts)}
            # LangGraph: a dict output gains the interrupts; any other output is replaced by them
            output = {**output, **pending} if isinstance(output, dict) else pending
        return output


def _sync_events(loop: RunLoop, *, quiet: bool = False) -> Iterator[Emit]:
    """The run's chunks (``quiet``: seen only when it ends); its observer, if any, hears how
    the run ended."""
    observer = loop.ctx.observer
    if observer is None:
        yield from SyncDriver(loop, quiet=quiet).events()
        return
    try:
        yield from SyncDriver(loop, quiet=quiet).events()
    except BaseException as exc:
        observer.finished(None, exc)
        raise
    _report_end(observer, loop)


async def _async_events(loop: RunLoop, *, quiet: bool = False) -> AsyncIterator[Emit]:
    """Async twin of ``_sync_events``."""
    observer = loop.ctx.observer
    try:
        async for emit in AsyncDriver(loop, quiet=quiet).events():
            yield emit
    except BaseException as exc:
        if observer is not None:
            observer.finished(None, exc)
        raise
    if observer is not None:
        _report_end(observer, loop)


def _report_end(observer: observe.RunObserver, loop: RunLoop) -> None:
    """A paused subgraph ends in the ``GraphInterrupt`` its caller gets; any other run in its
    output."""
    if loop.status == "interrupted" and loop.ctx.ns:
        observer.finished(None, GraphInterrupt(loop.interrupts))
    else:
        observer.finished(loop.output, None)


def _inherit_task_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """A graph invoked inside a running node runs as that node's subgraph."""
    config = dict(config or {})
    if PARENT_KEY in config.get(CONF, {}):
        return config
    task = _runtime_context.current()
    if task is None or PARENT_KEY not in task.config.get(CONF, {}):
        return config
    merged = {**task.config, **config}
    merged[CONF] = {**task.config[CONF], **config.get(CONF, {})}
    return merged


def _recursion_limit(config: dict[str, Any]) -> int:
    limit = config.get("recursion_limit", DEFAULT_RECURSION_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ConfigurationError(
            f"recursion_limit must be an int of at least 1, got {limit!r}: pass "
            f"config={{'recursion_limit': 50}} (the default is {DEFAULT_RECURSION_LIMIT})"
        )
    return limit


def _modes(stream_mode: str | Sequence[str] | None, debug: bool) -> tuple[set[str], bool]:
    if stream_mode is None:
        stream_mode = "updates"
    single = isinstance(stream_mode, str)
    modes = {stream_mode} if isinstance(stream_mode, str) else set(stream_mode)
    unknown = modes - _STREAM_MODES
    if unknown:
        raise ConfigurationError(
            f"unknown stream_mode {sorted(unknown)}; tether supports {sorted(_STREAM_MODES)}"
        )
    if debug:
        modes.add("debug")
    return modes, single


def _shape(emit: Emit, modes: set[str], single: bool, subgraphs: bool) -> Iterator[Any]:
    if emit.ns and not subgraphs:
        return
    shaped: list[tuple[str, Any]]
    if emit.mode == "tasks":
        shaped = []
        if "tasks" in modes:
            shaped.append(("tasks", emit.data["payload"]))
        if "debug" in modes:
            kind = "task" if emit.data["start"] else "task_result"
            shaped.append(("debug", _debug(kind, emit.data["step"], emit.data["payload"])))
    elif emit.mode == "checkpoints":
        shaped = []
        if "checkpoints" in modes:
            shaped.append(("checkpoints", emit.data))
        if "debug" in modes:
            shaped.append(
                ("debug", _debug("checkpoint", emit.data["metadata"].get("step"), emit.data))
            )
    elif emit.mode in modes:
        shaped = [(emit.mode, emit.data)]
    else:
        shaped = []
    for mode, data in shaped:
        if single:
            yield (emit.ns, data) if subgraphs else data
        else:
            yield (emit.ns, mode, data) if subgraphs else (mode, data)


def _debug(kind: str, step: Any, payload: Any) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    return {"type": kind, "timestamp": now, "step": step, "payload": payload}


def _configs(config: Any, n: int) -> list[Any]:
    if isinstance(config, list | tuple):
        if len(config) != n:
            raise ConfigurationError(f"batch got {n} inputs but {len(config)} configs")
        return list(config)
    return [config] * n


def _id_factory(saver: Any) -> Any:
    from tether.checkpoint.ids import new_checkpoint_id_after

    return new_checkpoint_id_after


def _version_fn(saver: Any) -> Any:
    if saver is None:
        return None
    if type(saver).get_next_version is BaseCheckpointSaver.get_next_version:
        return saver.get_next_version  # its ``channel`` is optional: no wrapper call per step
    return lambda current: saver.get_next_version(current, None)


def _run_sync(saver: Any, gen: Generator[Effect, Any, Any]) -> Any:
    send: Any = None
    while True:
        try:
            effect = gen.send(send)
        except StopIteration as stop:
            return stop.value
        send = None
        if isinstance(effect, Load):
            send = saver.get_tuple(effect.config)
        elif isinstance(effect, Put):
            send = saver.put(effect.config, effect.checkpoint, effect.metadata, effect.new_versions)
        elif isinstance(effect, PutWrites):
            saver.put_writes(effect.config, effect.writes, effect.task_id, effect.task_path)


async def _run_async(saver: Any, gen: Generator[Effect, Any, Any]) -> Any:
    send: Any = None
    while True:
        try:
            effect = gen.send(send)
        except StopIteration as stop:
            return stop.value
        send = None
        if isinstance(effect, Load):
            send = await saver.aget_tuple(effect.config)
        elif isinstance(effect, Put):
            send = await saver.aput(
                effect.config, effect.checkpoint, effect.metadata, effect.new_versions
            )
        elif isinstance(effect, PutWrites):
            await saver.aput_writes(effect.config, effect.writes, effect.task_id, effect.task_path)


def _link_run_id(link: ParentLink | None) -> str | None:
    """The run id a subgraph inherits when its config carries none (a traced node's does not)."""
    return link.run_id if link is not None else None
