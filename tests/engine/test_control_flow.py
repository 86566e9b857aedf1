"""Control flow: conditional edges, Send fan-out, joins, Command from nodes, graph validation."""

import operator
from collections import Counter
from typing import Annotated, Any, Literal, TypedDict

import pytest

from tether.errors import InvalidGraphError
from tether.graph import END, START, StateGraph
from tether.types import Command, Send

from ._support import LogState, appender, history


def branching(calls: Counter[str] | None = None) -> StateGraph:
    builder = StateGraph(LogState)
    for name in ("a", "b", "c"):
        builder.add_node(name, appender(name, calls))
    builder.add_edge(START, "a")
    return builder


def test_conditional_edge_returning_a_node_name(saver, thread):
    builder = branching()
    builder.add_conditional_edges("a", lambda s: "c" if s.get("n", 0) > 1 else "b")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": [], "n": 0}, thread) == {"log": ["a", "b"], "n": 0}
    other = {"configurable": {"thread_id": thread["configurable"]["thread_id"] + "-2"}}
    assert graph.invoke({"log": [], "n": 5}, other) == {"log": ["a", "c"], "n": 5}


def test_conditional_edge_returning_a_list_runs_nodes_in_parallel(saver, thread):
    builder = branching()
    builder.add_conditional_edges("a", lambda s: ["b", "c"])
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["a", "b", "c"]}
    assert history(graph, thread)[1].next == ("b", "c")


def test_conditional_edge_with_path_map(saver, thread):
    builder = branching()
    builder.add_conditional_edges("a", lambda s: len(s["log"]) > 5, {True: "b", False: "c"})
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["a", "c"]}


def test_conditional_edge_to_end_stops(saver, thread):
    calls: Counter[str] = Counter()
    builder = branching(calls)
    builder.add_conditional_edges("a", lambda s: END)
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["a"]}
    assert calls == Counter({"a": 1})


def test_conditional_entry_from_start(saver, thread):
    builder = StateGraph(LogState)
    builder.add_node("small", appender("small"))
    builder.add_node("big", appender("big"))
    builder.add_conditional_edges(START, lambda s: "big" if s["n"] > 10 else "small")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": [], "n": 50}, thread)["log"] == ["big"]


class MapReduce(TypedDict):
    items: list[int]
    results: Annotated[list[int], operator.add]


def map_reduce_graph(saver: Any) -> Any:
    def fan_out(state: MapReduce) -> list[Send]:
        return [Send("work", {"item": item}) for item in state["items"]]

    builder = StateGraph(MapReduce)
    builder.add_node("work", lambda s: {"results": [s["item"] * 10]})
    builder.add_node("total", lambda s: {"results": [sum(s["results"])]})
    builder.add_conditional_edges(START, fan_out, ["work"])
    builder.add_edge("work", "total")
    return builder.compile(checkpointer=saver)


def test_send_fan_out_map_reduce(saver, thread):
    graph = map_reduce_graph(saver)

    out = graph.invoke({"items": [3, 1, 2], "results": []}, thread)

    assert out == {"items": [3, 1, 2], "results": [30, 10, 20, 60]}


def test_send_tasks_appear_as_next_of_the_checkpoint(saver, thread):
    graph = map_reduce_graph(saver)
    graph.invoke({"items": [3, 1, 2], "results": []}, thread)

    fan_out_step = next(s for s in history(graph, thread) if s.metadata["step"] == 0)

    assert fan_out_step.next == ("work", "work", "work")
    assert len({t.id for t in fan_out_step.tasks}) == 3


def join_graph(calls: Counter[str], joined: bool) -> StateGraph:
    builder = StateGraph(LogState)
    for name in ("a", "a2", "b", "c"):
        builder.add_node(name, appender(name, calls))
    builder.add_edge(START, "a")
    builder.add_edge("a", "a2")
    builder.add_edge(START, "b")
    if joined:
        builder.add_edge(["a2", "b"], "c")
    else:
        builder.add_edge("a2", "c")
        builder.add_edge("b", "c")
    return builder


def test_join_edge_waits_for_all_sources(saver, thread):
    calls: Counter[str] = Counter()
    graph = join_graph(calls, joined=True).compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["a", "b", "a2", "c"]}
    assert calls["c"] == 1


def test_separate_edges_trigger_the_target_once_per_source(saver, thread):
    calls: Counter[str] = Counter()
    graph = join_graph(calls, joined=False).compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["a", "b", "a2", "c", "c"]}
    assert calls["c"] == 2


def test_command_from_node_updates_and_jumps(saver, thread):
    def router(state: LogState) -> Command[Literal["x", "y"]]:
        return Command(update={"log": ["router"]}, goto="y")

    builder = StateGraph(LogState)
    builder.add_node("router", router)
    builder.add_node("x", appender("x"))
    builder.add_node("y", appender("y"))
    builder.add_edge(START, "router")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["router", "y"]}


def test_command_goto_list_with_destinations(saver, thread):
    builder = StateGraph(LogState)
    builder.add_node(
        "router", lambda s: Command(update={"log": ["r"]}, goto=["x", "y"]), destinations=("x", "y")
    )
    builder.add_node("x", appender("x"))
    builder.add_node("y", appender("y"))
    builder.add_edge(START, "router")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["r", "x", "y"]}


def test_command_goto_send(saver, thread):
    builder = StateGraph(MapReduce)
    builder.add_node(
        "plan",
        lambda s: Command(goto=[Send("work", {"item": i}) for i in s["items"]]),
        destinations=("work",),
    )
    builder.add_node("work", lambda s: {"results": [s["item"] + 1]})
    builder.add_edge(START, "plan")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"items": [1, 2], "results": []}, thread)["results"] == [2, 3]


def test_add_sequence_with_names_and_functions(saver, thread):
    def one(state: LogState) -> dict[str, Any]:
        return {"log": ["one"]}

    builder = StateGraph(LogState)
    builder.add_sequence([one, ("two", appender("two"))])
    builder.add_edge(START, "one")
    graph = builder.compile(checkpointer=saver)

    assert set(builder.nodes) == {"one", "two"}
    assert graph.invoke({"log": []}, thread) == {"log": ["one", "two"]}


def test_set_entry_point_and_finish_point(saver, thread):
    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    builder.add_node("b", appender("b"))
    builder.set_entry_point("a")
    builder.add_edge("a", "b")
    builder.set_finish_point("b")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["a", "b"]}


# --- compile-time validation ---------------------------------------------------------------


def test_edge_to_unknown_node_is_rejected():
    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidGraphError, match="nope"):
        builder.add_edge("a", "nope")
        builder.compile()


def test_edge_from_unknown_node_is_rejected():
    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidGraphError, match="ghost"):
        builder.add_edge("ghost", "a")
        builder.compile()


def test_graph_without_entry_point_is_rejected():
    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    with pytest.raises(InvalidGraphError, match="(?i)entry ?point"):
        builder.compile()


@pytest.mark.parametrize("name", [START, END])
def test_reserved_node_names_are_rejected(name):
    builder = StateGraph(LogState)
    with pytest.raises(InvalidGraphError, match=name):
        builder.add_node(name, appender("x"))
        builder.compile()


@pytest.mark.parametrize("name", ["a|b", "a:b"])
def test_node_names_with_namespace_separators_are_rejected(name):
    builder = StateGraph(LogState)
    with pytest.raises(InvalidGraphError, match="reserved"):
        builder.add_node(name, appender("x"))
        builder.compile()


def test_duplicate_node_name_is_rejected():
    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    with pytest.raises(InvalidGraphError, match="`?a`? already"):
        builder.add_node("a", appender("a"))


def test_interrupt_on_unknown_node_is_rejected(saver):
    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    builder.add_edge(START, "a")
    with pytest.raises(InvalidGraphError, match="zzz"):
        builder.compile(checkpointer=saver, interrupt_before=["zzz"])
