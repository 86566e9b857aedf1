"""A chat whose message list outgrows the checkpoint row (blobs and deltas), for the storage
format tests: run turns on a thread, read a thread's history back."""

from __future__ import annotations

from typing import Any

from tether.checkpoint.postgres import PostgresSaver
from tether.graph import END, START, MessagesState, StateGraph


def chat_graph(saver: PostgresSaver, reply_filler: str) -> Any:
    """``START -> chat -> END``; each reply is ``reply <turn> `` followed by ``reply_filler``."""

    def reply(state: MessagesState) -> dict[str, Any]:
        turn = len(state["messages"]) // 2
        return {"messages": [{"role": "assistant", "content": f"reply {turn} " + reply_filler}]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", reply)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=saver)


def run_turns(
    saver: PostgresSaver,
    thread: str,
    first: int,
    count: int,
    *,
    ask_filler: str = "",
    reply_filler: str = "",
) -> None:
    """Turns ``first`` to ``first + count - 1`` of ``thread``, each checked for its messages."""
    graph = chat_graph(saver, reply_filler)
    config = {"configurable": {"thread_id": thread}}
    for turn in range(first, first + count):
        text = f"ask {turn}" + ask_filler
        out = graph.invoke({"messages": [{"role": "user", "content": text}]}, config)
        assert len(out["messages"]) == 2 * (turn + 1)


def history(saver: PostgresSaver, config: Any) -> list[Any]:
    """Everything ``list(config)`` returns, as comparable tuples."""
    return [
        (t.config, t.checkpoint, t.metadata, t.parent_config, t.pending_writes)
        for t in saver.list(config)
    ]
