"""The functional API: ``@entrypoint`` workflows made of ``@task`` calls (LangGraph's
``langgraph.func``).

An entrypoint is a one-node graph: the function runs on the input and its return value is the
run's output, kept for the next run of the thread as ``previous``. Each ``@task`` call inside it
returns a future, runs in parallel with the others, and its result is stored as soon as it
finishes, so after a crash or an interrupt the entrypoint runs again and every call that had
finished returns its stored result instead of running again.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from tether.constants import END, START, TASKS
from tether.engine.caching import cache_namespace
from tether.engine.calls import CallSpec, current_frame
from tether.engine.channels import EphemeralValue, LastValue, Topic
from tether.engine.pregel import CompiledGraph
from tether.engine.spec import GraphSpec, NodeSpec, Writes
from tether.engine.task import Task
from tether.errors import ConfigurationError, InvalidUpdateError
from tether.graph.node import _injected, is_async_callable
from tether.types import CachePolicy, Command, RetryPolicy

PREVIOUS = "__previous__"
"""The channel keeping what the last run of a thread saved (``previous``)."""

R = TypeVar("R")
V = TypeVar("V")
SaveT = TypeVar("SaveT")

_INJECTABLE = ("config", "previous", "runtime", "store", "writer")


class _TaskFunction(Generic[R]):
    """A ``@task`` function: calling it inside a running workflow returns a future."""

    def __init__(
        self,
        func: Callable[..., R],
        *,
        name: str | None,
        retry_policy: Sequence[RetryPolicy],
        cache_policy: CachePolicy | None,
    ) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name = str(name or getattr(func, "__name__", "task"))
        self.cache_policy = cache_policy
        self.spec = CallSpec(
            self.name,
            func,
            is_async_callable(func),
            tuple(retry_policy),
            cache_policy,
            cache_namespace(func, self.name) if cache_policy is not None else (),
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        frame = current_frame(f"task {self.name!r}")
        return frame.submit(self.spec, args, kwargs)


def task(
    __func_or_none__: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
    cache_policy: CachePolicy | None = None,
) -> Any:
    """Mark a function as a durable task: ``@task`` or ``@task(name=..., retry_policy=...)``.

    Called inside an ``@entrypoint`` (or a graph node, or another task) it returns a future:
    ``.result()`` in sync code, ``await`` in async code. Its result is stored when it finishes.
    """
    policies: tuple[RetryPolicy, ...] = (
        (retry_policy,) if isinstance(retry_policy, RetryPolicy) else tuple(retry_policy or ())
    )

    def decorate(func: Callable[..., Any]) -> _TaskFunction[Any]:
        if not callable(func):
            raise TypeError(f"@task decorates a function, not {func!r}")
        return _TaskFunction(func, name=name, retry_policy=policies, cache_policy=cache_policy)

    return decorate(__func_or_none__) if __func_or_none__ is not None else decorate


class entrypoint(Generic[R]):
    """Turn a function of one input into a durable workflow: ``@entrypoint(checkpointer=...)``.

    The decorated name is a compiled graph (``invoke``, ``stream``, ``get_state``, ... and their
    async twins). The function may also take keyword arguments ``previous`` (what the thread's
    last run returned or saved), ``config``, ``store``, ``writer`` and ``runtime``.
    """

    @dataclasses.dataclass(slots=True)
    class final(Generic[V, SaveT]):
        """Return ``value`` to the caller but keep ``save`` as the next run's ``previous``."""

        value: V
        save: SaveT

    def __init__(
        self,
        checkpointer: Any = None,
        store: Any = None,
        cache: Any = None,
        context_schema: Any = None,
        cache_policy: CachePolicy | None = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        **kwargs: Any,
    ) -> None:
        context_schema = context_schema or kwargs.pop("config_schema", None)
        if kwargs:
            raise TypeError(f"entrypoint() got unexpected arguments {sorted(kwargs)}")
        self.checkpointer = checkpointer
        self.store = store
        self.cache = cache
        self.context_schema = context_schema
        self.cache_policy = cache_policy
        self.retry_policy: tuple[RetryPolicy, ...] = (
            (retry_policy,) if isinstance(retry_policy, RetryPolicy) else tuple(retry_policy or ())
        )

    def __call__(self, func: Callable[..., Any]) -> CompiledGraph:
        if not callable(func):
            raise TypeError(f"@entrypoint(...) decorates a function, not {func!r}")
        name = getattr(func, "__name__", "entrypoint")
        from tether.graph.runnable import runnable_class

        graph = runnable_class(CompiledGraph)(
            _spec(name, func, self.retry_policy, self.cache_policy),
            checkpointer=self.checkpointer,
            cache=self.cache,
            store=self.store,
            context_schema=self.context_schema,
        )
        graph.func = func  # its annotations type the Runnable's input and output
        return graph


def _spec(
    name: str,
    func: Callable[..., Any],
    retry_policy: Sequence[RetryPolicy],
    cache_policy: CachePolicy | None,
) -> GraphSpec:
    call, acall = _adapt(name, func)

    def to_writes(result: Any, task: Task) -> Writes:
        if isinstance(result, entrypoint.final):
            return [(END, result.value), (PREVIOUS, result.save)]
        return [(END, result), (PREVIOUS, result)]

    node = NodeSpec(
        name=name,
        triggers=(START,),
        read=lambda values: values.get(START),
        call=call,
        to_writes=to_writes,
        is_async=acall is not None,
        acall=acall,
        retry_policy=retry_policy,
        cache_policy=cache_policy,
        cache_ns=cache_namespace(func, name) if cache_policy is not None else (),
    )
    return GraphSpec(
        channels={
            END: LastValue(END),
            PREVIOUS: LastValue(PREVIOUS),
            START: EphemeralValue(START),
            TASKS: Topic(TASKS),
        },
        nodes={name: node},
        state_keys=(END, PREVIOUS),
        input_channel=START,
        output_keys=(END,),
        build_output=lambda values: values.get(END),
        build_values=lambda values: values.get(END),
        input_writes=lambda value: [(START, value)],
        command_writes=_no_command_writes,
        update_view=lambda writes: next((v for c, v in writes if c == END), None),
        trigger_to_nodes={START: (name,)},
    )


def _no_command_writes(cmd: Command[Any]) -> Writes:
    raise InvalidUpdateError(
        f"an @entrypoint workflow takes Command(resume=...) only, not {cmd!r}: it has no state "
        f"keys to update and no nodes to go to"
    )


def _adapt(name: str, func: Callable[..., Any]) -> tuple[Any, Any]:
    """``call(input, config)`` (or its async twin) passing what ``func`` asks for by name."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional:
        raise ConfigurationError(
            f"@entrypoint function {name!r} must take the workflow input as its first "
            f"parameter (one positional argument; use a dict for several values)"
        )
    wanted = {p.name for p in params[1:] if p.name in _INJECTABLE}

    def kwargs_for(previous: Any, config: dict[str, Any]) -> dict[str, Any]:
        kwargs = _injected(wanted - {"previous"}, config)
        if "previous" in wanted:
            kwargs["previous"] = previous
        if "runtime" in kwargs and kwargs["runtime"] is not None:
            kwargs["runtime"] = dataclasses.replace(kwargs["runtime"], previous=previous)
        return kwargs

    if is_async_callable(func):

        async def acall(inp: Any, config: dict[str, Any]) -> Any:
            frame = current_frame(f"entrypoint {name!r}")
            previous = frame.site.state_value(PREVIOUS)
            try:
                return await func(inp, **kwargs_for(previous, config))
            finally:
                await frame.site.wait_async()

        return acall, acall

    def call(inp: Any, config: dict[str, Any]) -> Any:
        frame = current_frame(f"entrypoint {name!r}")
        previous = frame.site.state_value(PREVIOUS)
        try:
            return func(inp, **kwargs_for(previous, config))
        finally:
            frame.site.wait_sync()

    return call, None


__all__ = ["entrypoint", "task"]
