"""Streaming modes, node call signatures, and durability modes."""

import asyncio
from typing import Any

import pytest

from tether.config import get_stream_writer
from tether.graph import START, StateGraph
from tether.types import Command, interrupt

from ._support import LogState, chain, history, steps


def custom_graph() -> StateGraph:
    def a(state: LogState) -> dict[str, Any]:
        get_stream_writer()({"progress": "a"})
        return {"log": ["a"]}

    def b(state: LogState, writer) -> dict[str, Any]:
        writer("b-custom")
        return {"log": ["b"]}

    builder = StateGraph(LogState)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    return builder


def test_stream_values_yields_input_then_state_after_each_step(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    chunks = list(graph.stream({"log": ["in"]}, thread, stream_mode="values"))
    assert chunks == [{"log": ["in"]}, {"log": ["in", "a"]}, {"log": ["in", "a", "b"]}]


def test_stream_updates_yields_node_to_update(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, thread, stream_mode="updates"))
    assert chunks == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}]


def test_stream_default_mode_is_updates(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    assert list(graph.stream({"log": []}, thread)) == [{"a": {"log": ["a"]}}]


def test_stream_updates_of_a_node_returning_none(saver, thread):
    builder = StateGraph(LogState)
    builder.add_node("quiet", lambda s: None)
    builder.add_edge(START, "quiet")
    graph = builder.compile(checkpointer=saver)
    assert list(graph.stream({"log": []}, thread, stream_mode="updates")) == [{"quiet": None}]


def test_stream_parallel_updates_come_one_chunk_per_node(saver, thread):
    builder = StateGraph(LogState)
    builder.add_node("x", lambda s: {"log": ["x"]})
    builder.add_node("y", lambda s: {"log": ["y"]})
    builder.add_edge(START, "x")
    builder.add_edge(START, "y")
    graph = builder.compile(checkpointer=saver)

    chunks = list(graph.stream({"log": []}, thread, stream_mode="updates"))

    assert sorted(chunks, key=lambda c: next(iter(c))) == [
        {"x": {"log": ["x"]}},
        {"y": {"log": ["y"]}},
    ]


def test_stream_custom_from_get_stream_writer_and_writer_argument(saver, thread):
    graph = custom_graph().compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, thread, stream_mode="custom"))
    assert chunks == [{"progress": "a"}, "b-custom"]


def test_stream_list_of_modes_yields_mode_tagged_tuples(saver, thread):
    graph = custom_graph().compile(checkpointer=saver)

    chunks = list(graph.stream({"log": []}, thread, stream_mode=["updates", "custom"]))

    assert chunks == [
        ("custom", {"progress": "a"}),
        ("updates", {"a": {"log": ["a"]}}),
        ("custom", "b-custom"),
        ("updates", {"b": {"log": ["b"]}}),
    ]


def test_stream_values_and_updates_together(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, thread, stream_mode=["values", "updates"]))
    assert chunks == [
        ("values", {"log": []}),
        ("updates", {"a": {"log": ["a"]}}),
        ("values", {"log": ["a"]}),
    ]


def test_stream_debug_events(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)

    events = list(graph.stream({"log": []}, thread, stream_mode="debug"))

    assert [(e["type"], e["step"]) for e in events] == [
        ("checkpoint", -1),
        ("checkpoint", 0),
        ("task", 1),
        ("task_result", 1),
        ("checkpoint", 1),
        ("task", 2),
        ("task_result", 2),
        ("checkpoint", 2),
    ]
    assert all(isinstance(e["timestamp"], str) for e in events)
    first_checkpoint = events[0]["payload"]
    assert first_checkpoint["metadata"] == {"source": "input", "step": -1, "parents": {}}
    assert first_checkpoint["next"] == ["__start__"]
    task, result = events[2]["payload"], events[3]["payload"]
    assert (task["name"], task["input"]) == ("a", {"log": []})
    assert (result["name"], result["result"], result["error"]) == ("a", {"log": ["a"]}, None)
    assert task["id"] == result["id"]
    last = events[-1]["payload"]
    assert last["values"] == {"log": ["a", "b"]}
    assert last["config"] == graph.get_state(thread).config


def test_astream_updates_and_custom(saver, thread):
    graph = custom_graph().compile(checkpointer=saver)

    async def main() -> list[Any]:
        mode = ["updates", "custom"]
        return [c async for c in graph.astream({"log": []}, thread, stream_mode=mode)]

    assert asyncio.run(main()) == [
        ("custom", {"progress": "a"}),
        ("updates", {"a": {"log": ["a"]}}),
        ("custom", "b-custom"),
        ("updates", {"b": {"log": ["b"]}}),
    ]


# --- node signatures ---------------------------------------------------------------------


def test_node_signatures_state_config_and_keyword_only_store(saver, thread):
    from tether.store.memory import InMemoryStore

    def with_config(state: LogState, config) -> dict[str, Any]:
        return {"log": [f"thread={config['configurable']['thread_id']}"]}

    def with_store(state: LogState, *, store) -> dict[str, Any]:
        store.put(("prefs",), "theme", {"value": "dark"})
        return {"log": [store.get(("prefs",), "theme").value["value"]]}

    def with_both(state: LogState, config, *, store) -> dict[str, Any]:
        user = config["configurable"]["user_id"]
        return {"log": [f"{user}:{store.get(('prefs',), 'theme').value['value']}"]}

    builder = StateGraph(LogState)
    builder.add_node("plain", lambda state: {"log": ["plain"]})
    builder.add_node("with_config", with_config)
    builder.add_node("with_store", with_store)
    builder.add_node("with_both", with_both)
    builder.add_edge(START, "plain")
    builder.add_edge("plain", "with_config")
    builder.add_edge("with_config", "with_store")
    builder.add_edge("with_store", "with_both")
    store = InMemoryStore()
    graph = builder.compile(checkpointer=saver, store=store)
    config = {"configurable": {**thread["configurable"], "user_id": "u1"}}

    out = graph.invoke({"log": []}, config)

    assert out["log"] == [
        "plain",
        f"thread={thread['configurable']['thread_id']}",
        "dark",
        "u1:dark",
    ]
    assert store.get(("prefs",), "theme").value == {"value": "dark"}


def test_async_node_functions(saver, thread):
    async def slow_a(state: LogState) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"log": ["async-a"]}

    builder = StateGraph(LogState)
    builder.add_node("a", slow_a)
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=saver)

    assert asyncio.run(graph.ainvoke({"log": []}, thread)) == {"log": ["async-a"]}


# --- durability --------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_every_durability_leaves_the_same_final_state(saver, thread, durability):
    graph = chain("a", "b").compile(checkpointer=saver)

    out = graph.invoke({"log": []}, thread, durability=durability)

    assert out == {"log": ["a", "b"]}
    snapshot = graph.get_state(thread)
    assert snapshot.values == {"log": ["a", "b"]}
    assert snapshot.next == ()
    assert snapshot.metadata["step"] == 2


@pytest.mark.parametrize("durability", ["sync", "async"])
def test_sync_and_async_durability_write_every_checkpoint(saver, thread, durability):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread, durability=durability)
    assert len(history(graph, thread)) == 4


def test_exit_durability_writes_only_the_final_checkpoint(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread, durability="exit")
    assert steps(graph, thread) == [("loop", 2)]

    graph.invoke({"log": []}, thread, durability="exit")
    assert steps(graph, thread) == [("loop", 6), ("loop", 2)]
    newest, older = history(graph, thread)
    assert (
        newest.parent_config["configurable"]["checkpoint_id"]
        == (older.config["configurable"]["checkpoint_id"])
    )


def test_exit_durability_still_saves_an_interrupt_to_resume(saver, thread):
    def ask(state: LogState) -> dict[str, Any]:
        return {"log": [interrupt("q")]}

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("ask", ask)
    builder.add_edge(START, "a")
    builder.add_edge("a", "ask")
    graph = builder.compile(checkpointer=saver)

    out = graph.invoke({"log": []}, thread, durability="exit")
    assert out["__interrupt__"][0].value == "q"
    assert [(s.metadata["step"], s.next) for s in history(graph, thread)] == [(1, ("ask",))]

    assert graph.invoke(Command(resume="A"), thread, durability="exit") == {"log": ["a", "A"]}
    assert graph.get_state(thread).next == ()


def test_async_exit_durability(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    out = asyncio.run(graph.ainvoke({"log": []}, thread, durability="exit"))
    assert out == {"log": ["a", "b"]}
    assert steps(graph, thread) == [("loop", 2)]
