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
