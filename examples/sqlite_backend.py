"""Seeds: "Persistence Backends", "Chapter 7" — SQLite checkpoints that survive a restart.

A production-style handler (seed "Building a Production-Ready Persistent Application") runs on a
SQLite file; the saver is then closed and a new one opened on the same file, as after a process
restart, and the conversation continues. The async saver does the same with ``ainvoke``.

Mappings from the seeds to the real API:
- ``SqliteSaver.from_conn_string(path)`` is a context manager: ``with ... as checkpointer:``.
- ``save_checkpoint_with_validation`` (an ``update_state`` after every run) is not needed: every
  super-step is already checkpointed; calling it would only add an extra ``update`` checkpoint.
- ``existing_state = graph.get_state(config)`` is never falsy; test ``existing_state.values``.

Run: python examples/sqlite_backend.py [path/to/checkpoints.db]   (default: a temporary file)
"""

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any, TypedDict

from tether.checkpoint.sqlite import SqliteSaver
from tether.checkpoint.sqlite.aio import AsyncSqliteSaver
from tether.graph import END, StateGraph


class ProductionState(TypedDict, total=False):
    messages: list
    current_step: str
    user_id: str
    session_data: dict
    error_count: int
    last_checkpoint: str | None


def process_with_persistence(state: ProductionState) -> dict[str, Any]:
    if "messages" not in state or "user_id" not in state:
        raise ValueError("Invalid state structure: messages and user_id are required")
    seen = state.get("session_data", {}).get("messages_seen", 0)
    return {
        "current_step": "processed",
        "session_data": {"messages_seen": seen + 1},
        "last_checkpoint": "process_completed",
    }


def build_graph() -> StateGraph:
    builder = StateGraph(ProductionState)
    builder.add_node("process", process_with_persistence)
    builder.set_entry_point("process")
    builder.add_edge("process", END)
    return builder


def handle_user_request(graph: Any, user_id: str, message: str) -> dict[str, Any]:
    """Handle one user request; the thread keeps the whole conversation."""
    config = {"configurable": {"thread_id": f"user_{user_id}"}}
    existing = graph.get_state(config)
    if existing.values:
        state = {"messages": [*existing.values["messages"], {"role": "user", "content": message}]}
    else:
        state = {
            "messages": [{"role": "user", "content": message}],
            "current_step": "start",
            "user_id": user_id,
            "session_data": {},
            "error_count": 0,
            "last_checkpoint": None,
        }
    return graph.invoke(state, config)


async def async_turn(path: str) -> dict[str, Any]:
    async with AsyncSqliteSaver.from_conn_string(path) as checkpointer:
        graph = build_graph().compile(checkpointer=checkpointer)
        config = {"configurable": {"thread_id": "user_async"}}
        await graph.ainvoke({"messages": ["hi"], "user_id": "async"}, config)
        return (await graph.aget_state(config)).values


def run(path: str) -> None:
    with SqliteSaver.from_conn_string(path) as checkpointer:
        graph = build_graph().compile(checkpointer=checkpointer)
        first = handle_user_request(graph, "alice", "Hello")
        print(
            f"First request: {first['current_step']}, seen={first['session_data']['messages_seen']}"
        )

    # A new saver on the same file: what a restarted process sees.
    with SqliteSaver.from_conn_string(path) as checkpointer:
        graph = build_graph().compile(checkpointer=checkpointer)
        second = handle_user_request(graph, "alice", "Still there?")
        history = list(graph.get_state_history({"configurable": {"thread_id": "user_alice"}}))
        print(
            f"After restart: {len(second['messages'])} messages, seen={second['session_data']['messages_seen']}"
        )
        print(f"Thread user_alice has {len(history)} checkpoints in {path}")

    async_values = asyncio.run(async_turn(path))
    print(f"Async saver: {async_values['current_step']}")
    assert second["session_data"]["messages_seen"] == 2 and len(history) == 6
    print("OK: the SQLite thread survived a restart")


def main() -> None:
    if len(sys.argv) > 1:
        run(sys.argv[1])
        return
    with tempfile.TemporaryDirectory() as directory:
        run(str(Path(directory) / "checkpoints.db"))


if __name__ == "__main__":
    main()
