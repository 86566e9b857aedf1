"""A subgraph's state read and edited through its own config (issue 6, item 4).

The scenarios follow the subgraphs page ("view subgraph state") and the "view and update
state in subgraphs" how-to; each docstring quotes what LangGraph 1.2.22 printed for them.
"""

from collections import Counter
from typing import Any, TypedDict

import pytest

from tether.errors import InvalidUpdateError
from tether.graph import START, StateGraph
from tether.types import Command, interrupt

from ._support import history


class State(TypedDict, total=False):
    foo: str


def asking_parent(saver: Any, calls: Counter[str]) -> Any:
    def subgraph_node_1(state: State) -> dict[str, Any]:
        calls["subgraph_node_1"] += 1
        value = interrupt("Provide value:")
        return {"foo": state["foo"] + value}

    sub = StateGraph(State)
    sub.add_node("subgraph_node_1", subgraph_node_1)
    sub.add_edge(START, "subgraph_node_1")

    parent = StateGraph(State)
    parent.add_node("node_1", sub.compile())
    parent.add_edge(START, "node_1")
    return parent.compile(checkpointer=saver)


def test_get_state_of_the_subgraph_config_shows_its_next_tasks_and_interrupts(saver, thread):
    """LangGraph: ``get_state(parent.tasks[0].state)`` gives values ``{'foo': ''}``, next
    ``('subgraph_node_1',)``, one task and the pending ``Interrupt('Provide value:')``; its
    config has ``checkpoint_id``, ``checkpoint_map``, ``checkpoint_ns`` and ``thread_id``."""
    graph = asking_parent(saver, Counter())
    pending = graph.invoke({"foo": ""}, thread)["__interrupt__"][0]
    parent = graph.get_state(thread)
    sub_config = parent.tasks[0].state

    sub = graph.get_state(sub_config)

    assert sub.values == {"foo": ""}
    assert sub.next == ("subgraph_node_1",)
    assert [t.name for t in sub.tasks] == ["subgraph_node_1"]
    assert [i.id for i in sub.interrupts] == [pending.id]
    conf = sub.config["configurable"]
    assert sorted(conf) == ["checkpoint_id", "checkpoint_map", "checkpoint_ns", "thread_id"]
    assert conf["checkpoint_ns"] == sub_config["configurable"]["checkpoint_ns"]
    assert conf["checkpoint_map"] == {
        "": parent.config["configurable"]["checkpoint_id"],
        conf["checkpoint_ns"]: conf["checkpoint_id"],
    }
    assert "checkpoint_map" not in parent.config["configurable"]


def test_subgraph_snapshots_from_get_state_subgraphs_carry_the_checkpoint_map(saver, thread):
    """LangGraph: ``get_state(config, subgraphs=True).tasks[0].state.config`` has a
    ``checkpoint_map`` of the root checkpoint and the subgraph's own."""
    graph = asking_parent(saver, Counter())
    graph.invoke({"foo": ""}, thread)
    parent = graph.get_state(thread, subgraphs=True)
    sub = parent.tasks[0].state

    conf = sub.config["configurable"]
    assert conf["checkpoint_map"] == {
        "": parent.config["configurable"]["checkpoint_id"],
        conf["checkpoint_ns"]: conf["checkpoint_id"],
    }
    assert sub.next == ("subgraph_node_1",)


def test_update_subgraph_state_then_resume_reruns_the_interrupted_node(saver, thread):
    """LangGraph: ``update_state(parent.tasks[0].state, {'foo': 'edited-'})`` returns a config
    with ``checkpoint_map``; the subgraph then shows next ``('subgraph_node_1',)`` and source
    ``update``; ``invoke(Command(resume='bar'))`` returns ``{'foo': 'edited-bar'}``."""
    calls: Counter[str] = Counter()
    graph = asking_parent(saver, calls)
    graph.invoke({"foo": ""}, thread)
    sub_config = graph.get_state(thread).tasks[0].state

    new_config = graph.update_state(sub_config, {"foo": "edited-"})

    assert "checkpoint_map" in new_config["configurable"]
    edited = graph.get_state(sub_config)
    assert (edited.values, edited.next) == ({"foo": "edited-"}, ("subgraph_node_1",))
    assert edited.metadata["source"] == "update"
    assert graph.invoke(Command(resume="bar"), thread) == {"foo": "edited-bar"}
    assert calls["subgraph_node_1"] == 2
    assert graph.get_state(thread).next == ()


def test_subgraph_history_through_its_config(saver, thread):
    """LangGraph lists the subgraph's own checkpoints for a subgraph config without an id."""
    graph = asking_parent(saver, Counter())
    graph.invoke({"foo": ""}, thread)
    ns = graph.get_state(thread).tasks[0].state["configurable"]["checkpoint_ns"]

    entries = history(graph, {"configurable": {**thread["configurable"], "checkpoint_ns": ns}})

    assert [(s.metadata["source"], s.metadata["step"]) for s in entries] == [
        ("loop", 0),
        ("input", -1),
    ]
    assert entries[0].next == ("subgraph_node_1",)
    assert all(s.config["configurable"]["checkpoint_ns"] == ns for s in entries)


def test_update_state_on_a_namespace_that_names_no_subgraph_is_refused(saver, thread):
    """LangGraph raises ``ValueError('Subgraph nowhere not found')``; tether's
    ``InvalidUpdateError`` is a ``ValueError`` naming the namespace."""
    graph = asking_parent(saver, Counter())
    graph.invoke({"foo": ""}, thread)
    bogus = {"configurable": {**thread["configurable"], "checkpoint_ns": "nowhere:1"}}
    with pytest.raises(ValueError, match="nowhere") as caught:
        graph.update_state(bogus, {"foo": "x"})
    assert isinstance(caught.value, InvalidUpdateError)


class City(TypedDict, total=False):
    city: str
    out: str


def weather_parent(saver: Any) -> Any:
    sub = StateGraph(City)
    sub.add_node("router", lambda state: {"city": "sf"})
    sub.add_node("weather_node", lambda state: {"out": f"weather in {state['city']}"})
    sub.add_edge(START, "router")
    sub.add_edge("router", "weather_node")

    parent = StateGraph(City)
    parent.add_node("weather_graph", sub.compile(interrupt_before=["weather_node"]))
    parent.add_edge(START, "weather_graph")
    return parent.compile(checkpointer=saver)


def test_static_interrupt_inside_a_subgraph_pauses_the_parent(saver, thread):
    """LangGraph (subgraph compiled with ``interrupt_before=['weather_node']``): streaming with
    ``subgraphs=True`` gives ``{'router': {'city': 'sf'}}`` from the subgraph and one
    ``{'__interrupt__': ()}`` from the root; the parent's next is ``('weather_graph',)`` and
    the subgraph's ``('weather_node',)``."""
    graph = weather_parent(saver)

    chunks = list(graph.stream({"city": ""}, thread, subgraphs=True))

    assert [(bool(ns), chunk) for ns, chunk in chunks] == [
        (True, {"router": {"city": "sf"}}),
        (False, {"__interrupt__": ()}),
    ]
    parent = graph.get_state(thread, subgraphs=True)
    assert parent.next == ("weather_graph",)
    assert parent.tasks[0].state.next == ("weather_node",)


def test_edit_a_paused_subgraph_then_continue(saver, thread):
    """LangGraph: ``update_state(sub_config, {'city': 'la'})`` then ``stream(None)`` runs
    ``weather_node`` with the edit: final values ``{'city': 'la', 'out': 'weather in la'}``."""
    graph = weather_parent(saver)
    graph.invoke({"city": ""}, thread)
    sub_config = graph.get_state(thread, subgraphs=True).tasks[0].state.config

    graph.update_state(sub_config, {"city": "la"})
    chunks = list(graph.stream(None, thread, subgraphs=True))

    assert [chunk for _, chunk in chunks] == [
        {"weather_node": {"out": "weather in la"}},
        {"weather_graph": {"city": "la", "out": "weather in la"}},
    ]
    assert graph.get_state(thread).values == {"city": "la", "out": "weather in la"}


def test_update_a_paused_subgraph_as_its_node_skips_it(saver, thread):
    """LangGraph: ``update_state(sub_config, {'out': 'rainy'}, as_node='weather_node')`` leaves
    the subgraph with next ``()``; ``stream(None)`` then only finishes the parent:
    ``{'weather_graph': {'city': 'sf', 'out': 'rainy'}}``."""
    graph = weather_parent(saver)
    graph.invoke({"city": ""}, thread)
    sub_config = graph.get_state(thread, subgraphs=True).tasks[0].state.config

    graph.update_state(sub_config, {"out": "rainy"}, as_node="weather_node")

    assert graph.get_state(thread, subgraphs=True).tasks[0].state.next == ()
    chunks = list(graph.stream(None, thread, subgraphs=True))
    assert chunks == [((), {"weather_graph": {"city": "sf", "out": "rainy"}})]


def test_async_subgraph_state_through_its_config(saver, thread):
    """The async twins route a subgraph config the same way (LangGraph: ``'edited-bar'``)."""
    import asyncio

    graph = asking_parent(saver, Counter())

    async def main() -> tuple[Any, Any, Any]:
        await graph.ainvoke({"foo": ""}, thread)
        sub_config = (await graph.aget_state(thread)).tasks[0].state
        before = await graph.aget_state(sub_config)
        await graph.aupdate_state(sub_config, {"foo": "edited-"})
        sources = [s.metadata["source"] async for s in graph.aget_state_history(sub_config)]
        return before, sources, await graph.ainvoke(Command(resume="bar"), thread)

    before, sources, out = asyncio.run(main())
    assert before.next == ("subgraph_node_1",)
    assert sources == ["update", "loop", "input"]
    assert out == {"foo": "edited-bar"}
