"""Hooks that let an integration watch a run: the graph's start and end, and every node call.

The engine imports no tracing library. An integration (``tether.integrations.langchain``)
registers a factory here; a run asks it for an observer, and with no factory registered, or
none wanted for this run, the run carries ``None`` and pays nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from tether.engine.effects import Emit


class RunObserver(Protocol):
    """Watches one graph run. The engine calls these from the thread running the node."""

    def task_started(self, task: Any, step: int) -> tuple[Any, dict[str, Any]]:
        """A node call begins: returns a handle for ``task_finished`` and the node's config."""
        ...

    def call_started(
        self, name: str, input: Any, path: tuple[Any, ...], ns: str, step: int, config: Any
    ) -> tuple[Any, dict[str, Any]]:
        """A ``@task`` call begins inside a node whose config is ``config``; as ``task_started``."""
        ...

    def task_finished(self, handle: Any, result: Any, error: BaseException | None) -> None:
        """The call ``task_started``/``call_started`` began returned ``result`` or raised."""
        ...

    def finished(self, output: Any, error: BaseException | None) -> None:
        """The graph run ended with ``output`` (what it returns) or ``error``."""
        ...


ObserverFactory = Callable[..., "RunObserver | None"]
ChildRunner = Callable[[str, Callable[[Any, Any], Any], Any, Any, int], Any]
_factory: ObserverFactory | None = None
_child_runner: ChildRunner | None = None


def register(factory: ObserverFactory, child_runner: ChildRunner) -> None:
    """Install the factory runs ask for an observer, and the runner of traced calls inside a
    node (one integration per process: the last one registered wins)."""
    global _factory, _child_runner  # noqa: PLW0603 - process-wide hooks, set on import
    _factory = factory
    _child_runner = child_runner


def traced_call(
    name: str, fn: Callable[[Any, Any], Any], arg: Any, config: Any, position: int
) -> Any:
    """``fn(arg, config)``, reported as a child run ``name`` of the running node if it is
    observed (a conditional edge's path function, as LangGraph reports it); ``position`` is
    its place in the node's sequence (LangGraph's ``seq:step:N`` tag)."""
    if _child_runner is None:
        return fn(arg, config)
    return _child_runner(name, fn, arg, config, position)


def observe(
    name: str, config: dict[str, Any], input: Any, modes: frozenset[str], live: LiveChunks | None
) -> RunObserver | None:
    """An observer for a run of the graph ``name``, or None when nothing wants to watch it."""
    if _factory is None:
        return None
    return _factory(name, config, input, modes, live)


class LiveChunks:
    """Stream chunks a node produces while it runs (LLM tokens), handed to the run's driver.

    Until a driver attaches (``target``), or when its step runs inline, chunks wait in
    ``buffer`` and go out when the task finishes.
    """

    __slots__ = ("buffer", "lock", "target")

    def __init__(self) -> None:
        self.target: Callable[[Emit], None] | None = None
        self.buffer: list[Emit] = []
        self.lock = threading.Lock()

    def push(self, emit: Emit) -> None:
        target = self.target
        if target is not None:
            target(emit)
            return
        with self.lock:
            self.buffer.append(emit)

    def drain(self) -> list[Emit]:
        with self.lock:
            chunks, self.buffer = self.buffer, []
        return chunks
