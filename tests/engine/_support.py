"""Small helpers shared by the engine-semantics tests (graphs used in many modules)."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from tether.graph import END, START, StateGraph
from tether.types import interrupt


class LogState(TypedDict, total=False):
    """A state whose ``log`` list grows through ``operator.add``; ``n`` is a last-value int."""

    log: Annotated[list[str], operator.add]
    n: int


def appender(name: str, calls: Counter[str] | None = None) -> Callable[[Any], dict[str, Any]]:
    """A node that appends its name to ``log`` and counts its runs in ``calls``."""

    def node(state: Any) -> dict[str, Any]:
        if calls is not None:
            calls[name] += 1
        return {"log": [name]}

    node.__name__ = name
    return node


def chain(*names: str, calls: Counter[str] | None = None) -> StateGraph:
    """START -> names[0] -> ... -> names[-1] -> END over ``LogState``."""
    builder = StateGraph(LogState)
    for name in names:
        builder.add_node(name, appender(name, calls))
    builder.add_edge(START, names[0])
    for left, right in zip(names, names[1:]):
        builder.add_edge(left, right)
    builder.add_edge(names[-1], END)
    return builder


def with_checkpoint(config: dict[str, Any], checkpoint_id: str) -> dict[str, Any]:
    """``config`` pointed at one checkpoint of its thread."""
    return {"configurable": {**config["configurable"], "checkpoint_id": checkpoint_id}}


def checkpoint_id(config: dict[str, Any]) -> str:
    return str(config["configurable"]["checkpoint_id"])


def history(graph: Any, config: dict[str, Any], **kwargs: Any) -> list[Any]:
    return list(graph.get_state_history(config, **kwargs))


def steps(graph: Any, config: dict[str, Any]) -> list[tuple[str, int]]:
    """(source, step) of every checkpoint of the thread, newest first."""
    return [(s.metadata["source"], s.metadata["step"]) for s in history(graph, config)]


def field(message: Any, name: str) -> Any:
    """A message attribute, whether messages are objects or dicts."""
    if isinstance(message, dict):
        return message.get(name)
    return getattr(message, name)


def asking_chain(*after: str) -> StateGraph:
    """START -> a -> ask (-> after...) over ``LogState``; ``ask`` appends its answer to
    ``interrupt("q?")``, so a run pauses there until ``Command(resume=...)``."""

    def ask(state: LogState) -> dict[str, Any]:
        return {"log": [interrupt("q?")]}

    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    builder.add_node("ask", ask)
    builder.add_edge(START, "a")
    builder.add_edge("a", "ask")
    previous = "ask"
    for name in after:
        builder.add_node(name, appender(name))
        builder.add_edge(previous, name)
        previous = name
    return builder
