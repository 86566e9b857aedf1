"""Context variables that tie a running node to its task: config, scratchpad, store, writer.

A leaf module. The engine sets these around every node call; ``interrupt()``, ``get_config()``,
``get_store()``, ``get_stream_writer()`` and ``get_runtime()`` read them.
"""

from __future__ import annotations

import contextvars
from typing import Any, Protocol


class ResumeSource(Protocol):
    """What ``interrupt()`` needs from the running task."""

    durable: bool

    @property
    def interrupt_id(self) -> str:
        """The id of the task's next unanswered interrupt."""
        ...

    def next_resume_value(self) -> tuple[bool, Any]:
        """Return ``(True, value)`` for the next resume value of this task, or ``(False, None)``."""
        ...


class TaskContext:
    """Per-task values visible to code running inside a node."""

    __slots__ = ("calls", "config", "runtime", "scratchpad", "store", "writer")

    def __init__(
        self,
        config: dict[str, Any],
        scratchpad: ResumeSource | None,
        store: Any,
        writer: Any,
        runtime: Any,
    ) -> None:
        self.config = config
        self.scratchpad = scratchpad
        self.store = store
        self.writer = writer
        self.runtime = runtime
        self.calls: Any = None
        """Where ``@task`` calls made here go (``tether.engine.calls.Frame``)."""


_current: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar(
    "tether_task", default=None
)


def current() -> TaskContext | None:
    """The context of the node running in this thread or asyncio task, if any."""
    return _current.get()


def current_scratchpad() -> ResumeSource | None:
    ctx = _current.get()
    return ctx.scratchpad if ctx is not None else None


def enter(ctx: TaskContext) -> contextvars.Token[TaskContext | None]:
    return _current.set(ctx)


def leave(token: contextvars.Token[TaskContext | None]) -> None:
    _current.reset(token)
