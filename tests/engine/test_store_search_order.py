"""``InMemoryStore.search`` lists items in insertion order, as LangGraph's does (issue 6,
item 12).

LangGraph's persistence page: after storing memories, "the most recent memory is the last in
the list" that ``store.search(namespace)`` returns.
"""

from typing import Any

import pytest

from tether.graph import START, MessagesState, StateGraph
from tether.store.memory import InMemoryStore


def test_the_most_recent_memory_is_the_last_in_the_list(saver, thread):
    """The persistence page's memory flow, a graph run per turn: LangGraph 1.2.22 returns the
    memories oldest first, so ``memories[-1]`` is the one stored last."""
    store = InMemoryStore()

    def remember(state: MessagesState, config, *, store) -> dict[str, Any]:
        namespace = ("memories", config["configurable"]["user_id"])
        text = state["messages"][-1].content
        store.put(namespace, f"m{len(store.search(namespace))}", {"memory": text})
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("remember", remember)
    builder.add_edge(START, "remember")
    graph = builder.compile(checkpointer=saver, store=store)
    config = {"configurable": {**thread["configurable"], "user_id": "1"}}
    for text in ("I like pizza", "I like sushi", "I am vegetarian now"):
        graph.invoke({"messages": [("user", text)]}, config)
    memories = store.search(("memories", "1"))
    assert [m.value["memory"] for m in memories] == [
        "I like pizza",
        "I like sushi",
        "I am vegetarian now",
    ]
    assert memories[-1].dict()["value"] == {"memory": "I am vegetarian now"}


def test_an_overwrite_keeps_its_place_and_a_re_put_after_delete_moves_last():
    """LangGraph 1.2.22 InMemoryStore: put b, a, c, then b again gives ``[b, a, c]``; delete
    a and put it again gives ``[b, c, a]``; a prefix search lists namespace by namespace, in
    the order each namespace got its first item."""
    store = InMemoryStore()
    ns = ("user", "1", "memories")
    for key, food in (("b", "pizza"), ("a", "sushi"), ("c", "tacos"), ("b", "pasta")):
        store.put(ns, key, {"food": food})
    assert [(i.key, i.value["food"]) for i in store.search(ns)] == [
        ("b", "pasta"),
        ("a", "sushi"),
        ("c", "tacos"),
    ]
    store.put(("user", "1", "zz"), "x", {"v": 1})
    store.put(("user", "0"), "y", {"v": 1})
    store.put(ns, "d", {"food": "soup"})
    assert [i.key for i in store.search(("user",))] == ["b", "a", "c", "d", "x", "y"]
    store.delete(ns, "a")
    store.put(ns, "a", {"food": "ramen"})
    assert [i.key for i in store.search(ns)] == ["b", "c", "d", "a"]
    assert [i.key for i in store.search(ns, limit=2, offset=1)] == ["c", "d"]


@pytest.mark.tether_only
def test_an_emptied_namespace_keeps_its_place_but_is_not_listed():
    """LangGraph 1.2.22: deleting a namespace's only item and putting one back keeps the
    namespace's place in a prefix search. LangGraph also keeps listing the emptied namespace
    in ``list_namespaces``; tether lists only namespaces that hold items (docs/porting.md)."""
    store = InMemoryStore()
    store.put(("n", "first"), "k", {"v": 1})
    store.put(("n", "second"), "k", {"v": 2})
    store.delete(("n", "first"), "k")
    assert store.list_namespaces(prefix=("n",)) == [("n", "second")]
    store.put(("n", "first"), "k", {"v": 3})
    assert [i.namespace for i in store.search(("n",))] == [("n", "first"), ("n", "second")]
