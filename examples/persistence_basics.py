"""Seed: "Chapter 7: Persistence and Checkpoints" — basic setup and a two-turn thread.

A one-node graph compiled with an in-memory saver; two invocations on the same thread; the
second one continues from the checkpoint the first one left.

Run: python examples/persistence_basics.py
"""

from typing import Any, TypedDict

from tether.checkpoint.memory import MemorySaver
from tether.graph import END, StateGraph


class PersistentState(TypedDict):
    messages: list
    current_step: str
    user_data: dict
    thread_id: str


def process_step(state: PersistentState) -> dict[str, Any]:
    """A node that processes data."""
    return {
        **state,
        "current_step": "processed",
        "user_data": {**state.get("user_data", {}), "processed_at": "now"},
    }


def build() -> Any:
    graph = StateGraph(PersistentState)
    graph.add_node("process", process_step)
    graph.set_entry_point("process")
    graph.add_edge("process", END)
    return graph.compile(checkpointer=MemorySaver())


def create_user_thread(user_id: str) -> dict[str, Any]:
    """Create a new conversation thread for a user."""
    return {"configurable": {"thread_id": f"user_{user_id}"}}


def get_thread_history(graph: Any, thread_config: dict[str, Any]) -> list[dict[str, Any]]:
    """Execution history of a thread, newest first.

    The seed read ``state.metadata["timestamp"]``; the checkpoint's time is ``created_at``.
    """
    return [
        {
            "step": state.metadata["step"],
            "source": state.metadata["source"],
            "current_step": state.values.get("current_step"),
            "timestamp": state.created_at,
            "messages": len(state.values.get("messages", [])),
        }
        for state in graph.get_state_history(thread_config)
    ]


def main() -> None:
    persistent_graph = build()
    config = create_user_thread("123")

    initial_state = {
        "messages": [{"role": "user", "content": "Hello!"}],
        "current_step": "start",
        "user_data": {},
        "thread_id": "user_123",
    }
    result1 = persistent_graph.invoke(initial_state, config=config)
    print(f"Step 1 result: {result1['current_step']}")

    # Second execution (continues from checkpoint): only the keys we pass are replaced.
    additional_state = {
        "messages": [*result1["messages"], {"role": "user", "content": "Continue processing"}]
    }
    result2 = persistent_graph.invoke(additional_state, config=config)
    print(f"Step 2 result: {result2['current_step']}, messages: {len(result2['messages'])}")
    print(f"user_data kept from the first run: {result2['user_data']}")

    print("History (newest first):")
    for row in get_thread_history(persistent_graph, config):
        print(
            f"  step={row['step']:>2} source={row['source']:<5} current_step={row['current_step']}"
        )

    other = persistent_graph.get_state(create_user_thread("john_doe"))
    print(f"A thread never used has empty state: {other.values == {}}")
    assert result2["messages"] == additional_state["messages"]
    print("OK: the second invoke continued the thread")


if __name__ == "__main__":
    main()
