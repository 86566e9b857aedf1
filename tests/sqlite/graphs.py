"""Small graphs the SQLite tests run."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from tether.graph import END, START, MessagesState, StateGraph


class Count(TypedDict):
    n: int


def counter_graph(saver: Any) -> Any:
    """START -> add -> bump -> END, each adding 1: input n=1 ends as 3."""
    builder = StateGraph(Count)
    builder.add_node("add", lambda s: {"n": s["n"] + 1})
    builder.add_node("bump", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "add")
    builder.add_edge("add", "bump")
    builder.add_edge("bump", END)
    return builder.compile(checkpointer=saver)


def chat_graph(saver: Any) -> Any:
    """A one-node chat that answers every user message (two ~200-byte messages a turn)."""

    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("assistant", "a" * 190 + str(len(state["messages"])))]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=saver)


class Log(TypedDict):
    items: Annotated[list[str], operator.add]


def log_graph(saver: Any) -> Any:
    """Each turn is invoked with ``{"items": []}`` (an append of nothing through ``operator.add``);
    the node then appends two ~200-byte items."""

    def talk(state: Log) -> dict[str, Any]:
        n = len(state["items"])
        return {"items": [f"user {n} " + "u" * 190, f"assistant {n} " + "a" * 190]}

    builder = StateGraph(Log)
    builder.add_node("talk", talk)
    builder.add_edge(START, "talk")
    builder.add_edge("talk", END)
    return builder.compile(checkpointer=saver)


class Steps(TypedDict):
    document: list[str]
    current_step: int


def whole_state_graph(saver: Any) -> Any:
    """Three nodes that each return the whole state with one key changed (as seed 000's do)."""

    def step(state: Steps) -> dict[str, Any]:
        return {**state, "current_step": state["current_step"] + 1}

    builder = StateGraph(Steps)
    for name in ("a", "b", "c"):
        builder.add_node(name, step)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=saver)
