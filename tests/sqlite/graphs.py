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


def corrupt_inline_value(path: Any, thread_id: str, channel: str) -> int:
    """Replace ``channel``'s bytes in every checkpoint row of the thread that holds it inline
    (small values live in the row, not in ``blobs``) with bytes no decoder accepts; returns
    how many rows were damaged."""
    import sqlite3

    import ormsgpack

    from tether.checkpoint.sqlite import inline

    damaged = 0
    with sqlite3.connect(path) as conn:
        found = conn.execute(
            "SELECT checkpoint_id, body FROM checkpoints WHERE thread_id = ?", (thread_id,)
        ).fetchall()
        for checkpoint_id, raw in found:
            body = ormsgpack.unpackb(raw)
            small = inline.unpack(body)
            if small.get(channel) is None:
                continue
            small[channel] = ("msgpack", b"\xc1\xc1\xc1")
            for key in ("values", "ends", "inline"):
                body.pop(key, None)
            body.update(inline.pack(small))
            conn.execute(
                "UPDATE checkpoints SET body = ? WHERE thread_id = ? AND checkpoint_id = ?",
                (ormsgpack.packb(body), thread_id, checkpoint_id),
            )
            damaged += 1
    return damaged
