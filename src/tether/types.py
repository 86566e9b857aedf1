"""Public value types shared by the graph, the engine and the savers.

A leaf module: it imports nothing from tether but ``errors`` and ``_runtime_context``, so every
layer (including the serializer) can use these types. When langchain-core is installed,
``Command`` is a LangChain tool output (LangGraph's contract), so importing this module imports
``langchain_core.messages.tool``.
"""

from __future__ import annotations

import dataclasses
import random
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar

from tether import _runtime_context
from tether.errors import ConfigurationError, GraphInterrupt, InvalidContextError

Durability = Literal["sync", "async", "exit"]
"""When checkpoints are written: every step before the next starts (sync), overlapped with the
next step (async, the default), or once when the run ends (exit)."""

StreamMode = Literal["values", "updates", "debug", "custom", "checkpoints", "tasks", "messages"]

All = Literal["*"]

N = TypeVar("N")


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Run ``node`` with ``arg`` as its input, as a task of the next super-step (map-reduce)."""

    node: str
    arg: Any

    def __repr__(self) -> str:
        return f"Send(node={self.node!r}, arg={self.arg!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class Interrupt:
    """A pause requested by ``interrupt(value)``; ``id`` is what a resume map is keyed by.

    ``response_schema`` is LangGraph's optional description of the expected resume value.
    """

    value: Any
    id: str = ""
    response_schema: Any = dataclasses.field(default=None, kw_only=True)

    def __repr__(self) -> str:
        return (
            f"Interrupt(value={self.value!r}, id={self.id!r}, "
            f"response_schema={self.response_schema!r})"
        )

    @property
    def interrupt_id(self) -> str:
        """Deprecated alias of ``id`` (LangGraph keeps it until 2.0); warns when read."""
        warnings.warn(
            "Interrupt.interrupt_id is deprecated; use Interrupt.id instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.id


@dataclasses.dataclass(frozen=True, slots=True)
class Overwrite:
    """Wraps a value written to a reducer channel so it replaces the value instead of reducing."""

    value: Any


def _tool_output_base() -> type:
    """LangChain's ``ToolOutputMixin`` when langchain-core is installed, so a tool may return a
    ``Command`` (``tool.invoke(tool_call)`` then returns it instead of a ToolMessage)."""
    try:
        from langchain_core.messages.tool import ToolOutputMixin
    except ImportError:
        return object
    return ToolOutputMixin


_ToolOutput: Any = _tool_output_base()


@dataclasses.dataclass(slots=True)
class Command(Generic[N], _ToolOutput):
    """Input to resume or steer a run, or a node's return value to update state and jump.

    - ``update``: state updates, as a node would return them.
    - ``goto``: node name(s) or ``Send`` object(s) to run next.
    - ``resume``: a value for the pending ``interrupt()``, or ``{interrupt_id: value}``.
    - ``graph``: ``None`` for the current graph, ``Command.PARENT`` for the closest parent.
    """

    graph: str | None = None
    update: Any | None = None
    resume: Any | None = None
    goto: Send | Sequence[Send | N] | N | tuple[()] = ()

    PARENT: ClassVar[Literal["__parent__"]] = "__parent__"

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in ("graph", "update", "resume", "goto")
            if getattr(self, name) not in (None, ())
        )
        return f"Command({fields})"


def default_retry_on(exc: Exception) -> bool:
    """Retry on everything but programming errors (the same classes LangGraph leaves alone)."""
    return not isinstance(
        exc,
        ValueError
        | TypeError
        | ArithmeticError
        | ImportError
        | LookupError
        | NameError
        | SyntaxError
        | RuntimeError
        | ReferenceError
        | StopIteration
        | StopAsyncIteration
        | OSError,
    ) or isinstance(exc, ConnectionError)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failing node is retried inside a run (attempts are not persisted)."""

    initial_interval: float = 0.5
    backoff_factor: float = 2.0
    max_interval: float = 128.0
    max_attempts: int = 3
    jitter: bool = True
    retry_on: type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool] = (
        default_retry_on
    )

    def should_retry(self, exc: Exception) -> bool:
        """Whether ``exc`` is one this policy retries."""
        retry_on = self.retry_on
        if isinstance(retry_on, type) and issubclass(retry_on, BaseException):
            return isinstance(exc, retry_on)
        if isinstance(retry_on, Sequence):
            return isinstance(exc, tuple(retry_on))
        predicate: Callable[[Exception], bool] = retry_on  # type: ignore[assignment]
        return bool(predicate(exc))

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        interval = min(
            self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1)
        )
        return interval + (random.uniform(0, 1) if self.jitter else 0.0)


StreamWriter = Callable[[Any], None]
"""What a node's ``writer`` argument is: send one chunk to ``stream_mode="custom"`` (a no-op
when the run does not stream that mode)."""


@dataclasses.dataclass(frozen=True, slots=True)
class CachePolicy:
    """How a node's (or task's) result is cached: ``key_func(input)`` names the entry (default: a
    hash of the input's serialized bytes), ``ttl`` is its lifetime in seconds (None: forever)."""

    key_func: Callable[..., str | bytes] | None = None
    ttl: int | None = None


class PregelTask(NamedTuple):
    """A task of a checkpoint's next super-step, as ``StateSnapshot.tasks`` shows it."""

    id: str
    name: str
    path: tuple[str | int | tuple[Any, ...], ...]
    error: Exception | str | None = None
    """A failed task's error: read back from a checkpoint, its repr (``"ValueError('x')"``)."""
    interrupts: tuple[Interrupt, ...] = ()
    state: Any = None
    result: Any | None = None


class StateSnapshot(NamedTuple):
    """The state of a thread at one checkpoint, as ``get_state`` returns it."""

    values: dict[str, Any] | Any
    next: tuple[str, ...]
    config: dict[str, Any]
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: dict[str, Any] | None
    tasks: tuple[PregelTask, ...]
    interrupts: tuple[Interrupt, ...] = ()


class StateUpdate(NamedTuple):
    """One update of ``bulk_update_state``: values written as if ``as_node`` produced them."""

    values: dict[str, Any] | Any | None
    as_node: str | None = None
    task_id: str | None = None


class StreamPart(NamedTuple):
    """One chunk of a multi-mode stream: (namespace, mode, data)."""

    ns: tuple[str, ...]
    mode: str
    data: Any


def interrupt(value: Any) -> Any:
    """Pause the run and surface ``value`` to the caller; return the value it is resumed with.

    The first call in a node raises; ``invoke(Command(resume=x), config)`` then re-runs the node
    from its start and this call returns ``x``. Several calls in one node are matched to resume
    values in order. Needs a checkpointer, since the pause is stored in the thread.
    """
    scratchpad = _runtime_context.current_scratchpad()
    if scratchpad is None:
        raise InvalidContextError(
            "interrupt() was called outside a running graph node; call it inside a node of a "
            "graph compiled with a checkpointer"
        )
    if not scratchpad.durable:
        raise ConfigurationError(
            "interrupt() needs a checkpointer to store the paused run: compile the graph with "
            "checkpointer=InMemorySaver() (or another saver) and run it with a thread_id"
        )
    found, resumed = scratchpad.next_resume_value()
    if found:
        return resumed
    raise GraphInterrupt((Interrupt(value=value, id=scratchpad.interrupt_id),))


__all__ = [
    "All",
    "CachePolicy",
    "Command",
    "Durability",
    "Interrupt",
    "Overwrite",
    "PregelTask",
    "RetryPolicy",
    "Send",
    "StateSnapshot",
    "StateUpdate",
    "StreamMode",
    "StreamPart",
    "StreamWriter",
    "default_retry_on",
    "interrupt",
]
