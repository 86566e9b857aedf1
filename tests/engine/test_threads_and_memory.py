"""Threads: isolation between thread ids, and memory across invocations of one thread."""

import asyncio
from collections import Counter
from typing import Any

from tether.graph import END, START, MessagesState, StateGraph

from ._support import chain, field, history


def chatbot_graph() -> StateGraph:
    def chatbot(state: MessagesState) -> dict[str, Any]:
        last = field(state["messages"][-1], "content")
        return {"messages": [("assistant", f"echo {last} ({len(state['messages'])} seen)")]}

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    builder.add_edge("chatbot", END)
    return builder


def test_two_threads_keep_separate_state(saver):
    graph = chain("a", "b").compile(checkpointer=saver)
    one = {"configurable": {"thread_id": "one"}}
    two = {"configurable": {"thread_id": "two"}}

    graph.invoke({"log": ["one"]}, one)
    graph.invoke({"log": ["two"]}, two)
    graph.invoke({"log": ["one-again"]}, one)

    assert graph.get_state(one).values["log"] == ["one", "a", "b", "one-again", "a", "b"]
    assert graph.get_state(two).values["log"] == ["two", "a", "b"]


def test_thread_histories_do_not_mix(saver):
    graph = chain("a").compile(checkpointer=saver)
    one = {"configurable": {"thread_id": "one"}}
    two = {"configurable": {"thread_id": "two"}}
    graph.invoke({"log": []}, one)
    graph.invoke({"log": []}, one)
    graph.invoke({"log": []}, two)

    assert len(history(graph, one)) == 6
    assert len(history(graph, two)) == 3
    assert all(s.config["configurable"]["thread_id"] == "two" for s in history(graph, two))


def test_unknown_thread_has_empty_state_and_history(saver):
    graph = chain("a").compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "never-used"}}

    snapshot = graph.get_state(config)

    assert snapshot.values == {}
    assert snapshot.next == ()
    assert snapshot.metadata is None
    assert snapshot.created_at is None
    assert snapshot.parent_config is None
    assert history(graph, config) == []


def test_second_invoke_sees_first_invoke_state(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    first = graph.invoke({"log": ["hello"]}, thread)
    second = graph.invoke({"log": ["again"]}, thread)

    assert first == {"log": ["hello", "a"]}
    assert second == {"log": ["hello", "a", "again", "a"]}


def test_multi_turn_conversation_with_tuple_messages(saver, thread):
    graph = chatbot_graph().compile(checkpointer=saver)

    graph.invoke({"messages": [("user", "hi")]}, thread)
    out = graph.invoke({"messages": [("user", "remember me?")]}, thread)

    contents = [field(m, "content") for m in out["messages"]]
    assert contents == ["hi", "echo hi (1 seen)", "remember me?", "echo remember me? (3 seen)"]


def test_multi_turn_conversation_with_dict_messages(saver, thread):
    graph = chatbot_graph().compile(checkpointer=saver)

    graph.invoke({"messages": [{"role": "user", "content": "Hello!"}]}, thread)
    out = graph.invoke({"messages": [{"role": "user", "content": "Continue"}]}, thread)

    assert [field(m, "content") for m in out["messages"]] == [
        "Hello!",
        "echo Hello! (1 seen)",
        "Continue",
        "echo Continue (3 seen)",
    ]
    ids = [field(m, "id") for m in out["messages"]]
    assert all(ids) and len(set(ids)) == 4


def test_conversation_threads_do_not_share_messages(saver):
    graph = chatbot_graph().compile(checkpointer=saver)
    alice = {"configurable": {"thread_id": "conversation-1"}}
    bob = {"configurable": {"thread_id": "conversation-2"}}

    graph.invoke({"messages": [("user", "My name is Alice")]}, alice)
    out = graph.invoke({"messages": [("user", "What's my name?")]}, bob)

    assert [field(m, "content") for m in out["messages"]] == [
        "What's my name?",
        "echo What's my name? (1 seen)",
    ]


def test_chat_graph_writes_three_checkpoints_per_turn(saver, thread):
    graph = chatbot_graph().compile(checkpointer=saver)
    graph.invoke({"messages": [("user", "one")]}, thread)
    assert len(history(graph, thread)) == 3
    graph.invoke({"messages": [("user", "two")]}, thread)
    assert len(history(graph, thread)) == 6


def test_graph_without_checkpointer_forgets_between_calls():
    calls: Counter[str] = Counter()
    graph = chain("a", calls=calls).compile()
    assert graph.invoke({"log": ["x"]}) == {"log": ["x", "a"]}
    assert graph.invoke({"log": ["y"]}) == {"log": ["y", "a"]}
    assert calls["a"] == 2


def test_async_threads_are_isolated_when_run_concurrently(saver):
    graph = chain("a", "b").compile(checkpointer=saver)

    async def main() -> list[dict[str, Any]]:
        configs = [{"configurable": {"thread_id": f"t{i}"}} for i in range(5)]
        await asyncio.gather(*(graph.ainvoke({"log": [f"t{i}"]}, c) for i, c in enumerate(configs)))
        return [(await graph.aget_state(c)).values for c in configs]

    assert asyncio.run(main()) == [{"log": [f"t{i}", "a", "b"]} for i in range(5)]
