"""Seed: "langgraph-persistence" — a memory store shared across threads.

The checkpointer keeps each thread's state; the store keeps data any thread can read, here
user preferences keyed by ``user_id``. Nodes receive the store as a keyword-only ``store``
argument. The scenario runs on InMemoryStore, then on SqliteStore, where the preferences
also survive reopening the file.

Mappings from the seed to the real API:
- ``store.list(namespace)`` is a tether convenience (every item, no ``limit``); in LangGraph
  write ``store.search(namespace, limit=...)``. ``query=`` needs a store created with an
  embedding index (docs/store.md), otherwise it is ignored.
- ``from langgraph.types import RunnableConfig``: the config is a plain dict here.

Run: python examples/cross_thread_store.py
"""

import os
import tempfile
from typing import Any

from tether.checkpoint.memory import MemorySaver
from tether.graph import START, MessagesState, StateGraph
from tether.store.base import BaseStore
from tether.store.memory import InMemoryStore
from tether.store.sqlite import SqliteStore


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
    listed = [item.key for item in store.list(namespace)]
    store.delete(namespace, "mem-1")
    assert store.get(namespace, "mem-1") is None
    return listed


def build(store: BaseStore):
    builder = StateGraph(MessagesState)
    builder.add_node("save", save_preferences)
    builder.add_node("load", load_preferences)
    builder.add_edge(START, "save")
    builder.add_edge("save", "load")
    return builder.compile(checkpointer=MemorySaver(), store=store)


def ask_theme(graph, thread_id: str, user_id: str) -> str:
    config = {"configurable": {"thread_id": thread_id, "user_id": user_id}}
    result = graph.invoke({"messages": [("user", "What's my theme?")]}, config)
    return content(result["messages"][-1])


def scenario(store: BaseStore, name: str) -> None:
    graph = build(store)
    config1 = {"configurable": {"thread_id": "t1", "user_id": "user-1"}}
    graph.invoke({"messages": [("user", "Set theme to dark")]}, config=config1)
    reply2 = ask_theme(graph, "t2", "user-1")
    reply3 = ask_theme(graph, "t3", "user-2")
    print(f"[{name}] user-1 in another thread: {reply2}")
    print(f"[{name}] user-2: {reply3}")
    print(f"[{name}] memories listed: {manage_memories(store, 'user-1')}")
    assert reply2 == "Theme: dark" and reply3 == "Theme: default"


def main() -> None:
    scenario(InMemoryStore(), "InMemoryStore")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "memory.db")
        with SqliteStore.from_conn_string(path) as store:
            scenario(store, "SqliteStore")
        with SqliteStore.from_conn_string(path) as reopened:  # a later process, same file
            reply = ask_theme(build(reopened), "t4", "user-1")
            print(f"[SqliteStore] after reopening the file: {reply}")
            assert reply == "Theme: dark"
    print("OK: the store is shared across threads")


if __name__ == "__main__":
    main()
