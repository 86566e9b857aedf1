"""Seed: "langgraph-persistence" — a memory store shared across threads.

The checkpointer keeps each thread's state; the store keeps data any thread can read, here
user preferences keyed by ``user_id``. Nodes receive the store as a keyword-only ``store``
argument.

Mappings from the seed to the real API:
- ``store.list(namespace)`` does not exist: ``store.search(namespace)`` lists the items under
  a namespace (``query=`` needs a store configured with an embedding index).
- ``from langgraph.types import RunnableConfig``: the config is a plain dict here.

Run: python examples/cross_thread_store.py
"""

from typing import Any

from tether.checkpoint.memory import MemorySaver
from tether.graph import START, MessagesState, StateGraph
from tether.store.base import BaseStore
from tether.store.memory import InMemoryStore


def content(message: Any) -> str:
    return message["content"] if isinstance(message, dict) else message.content


def save_preferences(state: MessagesState, config, *, store: BaseStore) -> dict[str, Any]:
    text = content(state["messages"][-1])
    if text.startswith("Set theme to "):
        namespace = (config["configurable"]["user_id"], "prefs")
        store.put(namespace, "settings", {"theme": text.removeprefix("Set theme to ")})
    return {}


def load_preferences(state: MessagesState, config, *, store: BaseStore) -> dict[str, Any]:
    namespace = (config["configurable"]["user_id"], "prefs")
    item = store.get(namespace, "settings")
    prefs = item.value if item else {}
    return {"messages": [("assistant", f"Theme: {prefs.get('theme', 'default')}")]}


def manage_memories(store: BaseStore, user_id: str) -> list[str]:
    """Put, get, list (via search) and delete items in a namespace."""
    namespace = (user_id, "memories")
    store.put(namespace, "mem-1", {"content": "User likes Python"})
    store.put(namespace, "mem-2", {"content": "User works at night"})
    assert store.get(namespace, "mem-1").value == {"content": "User likes Python"}
    listed = [item.key for item in store.search(namespace)]
    store.delete(namespace, "mem-1")
    assert store.get(namespace, "mem-1") is None
    return listed


def main() -> None:
    store = InMemoryStore()
    builder = StateGraph(MessagesState)
    builder.add_node("save", save_preferences)
    builder.add_node("load", load_preferences)
    builder.add_edge(START, "save")
    builder.add_edge("save", "load")
    graph = builder.compile(checkpointer=MemorySaver(), store=store)

    config1 = {"configurable": {"thread_id": "t1", "user_id": "user-1"}}
    config2 = {"configurable": {"thread_id": "t2", "user_id": "user-1"}}
    config3 = {"configurable": {"thread_id": "t3", "user_id": "user-2"}}

    graph.invoke({"messages": [("user", "Set theme to dark")]}, config=config1)
    reply2 = content(
        graph.invoke({"messages": [("user", "What's my theme?")]}, config2)["messages"][-1]
    )
    reply3 = content(
        graph.invoke({"messages": [("user", "What's my theme?")]}, config3)["messages"][-1]
    )
    print(f"user-1 in another thread: {reply2}")
    print(f"user-2: {reply3}")
    print(f"memories listed: {manage_memories(store, 'user-1')}")
    assert reply2 == "Theme: dark" and reply3 == "Theme: default"
    print("OK: the store is shared across threads")


if __name__ == "__main__":
    main()
