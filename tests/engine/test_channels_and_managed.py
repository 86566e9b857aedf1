"""State keys annotated with ``tether.channels`` classes, and ``tether.managed`` values.

Expected values are LangGraph 1.2.22's output for the same graphs (run in the bench
environment), except the default recursion limit: LangGraph 1.2.22's is 10007, tether's 25, so
the tests pass ``recursion_limit`` where managed values show it.
"""

from __future__ import annotations

import operator
import sys
from typing import Annotated, Any, TypedDict

import pytest

from tether.channels import (
    AnyValue,
    BinaryOperatorAggregate,
    EphemeralValue,
    LastValue,
    NamedBarrierValue,
    Topic,
    UntrackedValue,
)
from tether.errors import GraphRecursionError, InvalidUpdateError
from tether.graph import END, START, StateGraph
from tether.managed import IsLastStep, RemainingSteps

if sys.version_info >= (3, 11):
    from typing import NotRequired


class Channels(TypedDict):
    topic: Annotated[list[str], Topic(str, accumulate=True)]
    step_topic: Annotated[list[str], Topic(str)]
    eph: Annotated[str, EphemeralValue]
    total: Annotated[int, BinaryOperatorAggregate(int, operator.add)]
    anyv: Annotated[str, AnyValue(str)]
    untracked: Annotated[str, UntrackedValue(str)]
    last: Annotated[str, LastValue(str)]
    remaining: RemainingSteps
    is_last: IsLastStep


def _channels_graph(seen: list[tuple[str, dict[str, Any]]]) -> StateGraph:
    """a -> (b, c) in parallel; b -> END. Each node records the state it read."""

    def a(state: Channels) -> dict[str, Any]:
        seen.append(("a", dict(state)))
        return {
            "topic": ["a1", "a2"],
            "step_topic": "a",
            "eph": "ea",
            "total": 2,
            "anyv": "x",
            "untracked": "ua",
            "last": "la",
        }

    def b(state: Channels) -> dict[str, Any]:
        seen.append(("b", dict(state)))
        return {"topic": "b", "total": 3}

    def c(state: Channels) -> dict[str, Any]:
        seen.append(("c", dict(state)))
        return {"step_topic": ["c"]}

    builder = StateGraph(Channels)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_node("c", c)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("a", "c")
    builder.add_edge("b", END)
    return builder


def test_channel_annotations_merge_writes_as_langgraph_does(saver, thread):
    """LangGraph 1.2.22 returns ``{'topic': ['in', 'a1', 'a2', 'b'], 'step_topic': ['c'],
    'total': 5, 'untracked': 'ua', 'last': 'la'}``; b and c read ``eph`` and ``anyv`` written in
    the step before; the checkpoint stores last, step_topic, topic and total (not the untracked
    value), and managed values are in every node's input but never in the state."""
    seen: list[tuple[str, dict[str, Any]]] = []
    graph = _channels_graph(seen).compile(checkpointer=saver)
    config = {**thread, "recursion_limit": 10}

    out = graph.invoke({"topic": ["in"]}, config)

    assert out == {
        "topic": ["in", "a1", "a2", "b"],
        "step_topic": ["c"],
        "total": 5,
        "untracked": "ua",
        "last": "la",
    }
    assert seen[0] == ("a", {"topic": ["in"], "total": 0, "remaining": 9, "is_last": False})
    after_a = {
        "topic": ["in", "a1", "a2"],
        "step_topic": ["a"],
        "eph": "ea",
        "total": 2,
        "anyv": "x",
        "untracked": "ua",
        "last": "la",
        "remaining": 8,
        "is_last": False,
    }
    assert sorted(seen[1:], key=lambda s: s[0]) == [("b", after_a), ("c", after_a)]
    assert graph.get_state(thread).values == {
        "topic": ["in", "a1", "a2", "b"],
        "step_topic": ["c"],
        "total": 5,
        "last": "la",
    }
    stored = saver.get_tuple(thread).checkpoint["channel_values"]
    assert {"last", "step_topic", "topic", "total"} <= set(stored)
    assert not {"untracked", "remaining", "is_last", "eph", "anyv"} & set(stored)


def test_accumulating_topic_and_aggregate_continue_on_the_next_run(saver, thread):
    """LangGraph 1.2.22 streams these values for a second input on the same thread."""
    graph = _channels_graph([]).compile(checkpointer=saver)
    graph.invoke({"topic": ["in"]}, thread)

    chunks = list(graph.stream({"topic": ["again"]}, thread, stream_mode="values"))

    assert chunks == [
        {"topic": ["in", "a1", "a2", "b", "again"], "total": 5, "last": "la"},
        {
            "topic": ["in", "a1", "a2", "b", "again", "a1", "a2"],
            "step_topic": ["a"],
            "eph": "ea",
            "total": 7,
            "anyv": "x",
            "untracked": "ua",
            "last": "la",
        },
        {
            "topic": ["in", "a1", "a2", "b", "again", "a1", "a2", "b"],
            "step_topic": ["c"],
            "total": 10,
            "untracked": "ua",
            "last": "la",
        },
    ]


class Loop(TypedDict):
    n: int
    remaining_steps: RemainingSteps
    is_last_step: IsLastStep


def _loop_graph(log: list[tuple[int, int, bool]], *, stop_early: bool) -> Any:
    def loop(state: Loop) -> dict[str, Any]:
        log.append((state["n"], state["remaining_steps"], state["is_last_step"]))
        return {"n": state["n"] + 1, "remaining_steps": 100}  # ignored: managed values

    def route(state: Loop) -> str:
        return END if state["n"] >= 5 or state["remaining_steps"] <= 2 else "loop"

    builder = StateGraph(Loop)
    builder.add_node("loop", loop)
    builder.add_edge(START, "loop")
    if stop_early:
        builder.add_conditional_edges("loop", route)
    else:
        builder.add_edge("loop", "loop")
    return builder.compile()


def test_remaining_steps_lets_a_loop_stop_before_the_recursion_limit():
    """LangGraph 1.2.22: ``{'n': 2}``, nodes saw ``[(0, 3, False), (1, 2, False)]``; the
    conditional edge reads ``remaining_steps`` too."""
    log: list[tuple[int, int, bool]] = []
    assert _loop_graph(log, stop_early=True).invoke({"n": 0}, {"recursion_limit": 4}) == {"n": 2}
    assert log == [(0, 3, False), (1, 2, False)]


def test_is_last_step_is_true_in_the_step_before_the_limit():
    """LangGraph 1.2.22 raises GraphRecursionError after the nodes saw
    ``[(0, 3, False), (1, 2, False), (2, 1, True), (3, 0, False)]``."""
    log: list[tuple[int, int, bool]] = []
    with pytest.raises(GraphRecursionError):
        _loop_graph(log, stop_early=False).invoke({"n": 0}, {"recursion_limit": 4})
    assert log == [(0, 3, False), (1, 2, False), (2, 1, True), (3, 0, False)]


def test_guarded_ephemeral_value_refuses_two_writes_in_one_step():
    """LangGraph 1.2.22 raises ``InvalidUpdateError: At key 'strict': EphemeralValue(guard=True)
    can receive only one value per step`` when two parallel nodes write it; with ``guard=False``
    it keeps one of the values (``{'loose': 'y'}``)."""

    class S(TypedDict, total=False):
        strict: Annotated[str, EphemeralValue(str)]
        loose: Annotated[str, EphemeralValue(str, guard=False)]

    def build(key: str) -> Any:
        builder = StateGraph(S)
        builder.add_node("x", lambda s: {key: "x"})
        builder.add_node("y", lambda s: {key: "y"})
        builder.add_edge(START, "x")
        builder.add_edge(START, "y")
        return builder.compile()

    with pytest.raises(InvalidUpdateError, match="strict"):
        build("strict").invoke({})
    assert build("loose").invoke({}) == {"loose": "y"}


def test_named_barrier_value_reads_none_once_every_name_wrote():
    """LangGraph 1.2.22: the join node z sees ``{'done': None, 'log': ['x', 'y']}`` and the run
    returns ``{'done': None, 'log': ['x', 'y', 'z']}``."""

    class S(TypedDict, total=False):
        done: Annotated[None, NamedBarrierValue(str, {"x", "y"})]
        log: Annotated[list[str], operator.add]

    seen: list[dict[str, Any]] = []
    builder = StateGraph(S)
    builder.add_node("x", lambda s: {"done": "x", "log": ["x"]})
    builder.add_node("y", lambda s: {"done": "y", "log": ["y"]})
    builder.add_node("z", lambda s: seen.append(dict(s)) or {"log": ["z"]})
    builder.add_edge(START, "x")
    builder.add_edge(START, "y")
    builder.add_edge(["x", "y"], "z")
    assert builder.compile().invoke({"log": []}) == {"done": None, "log": ["x", "y", "z"]}
    assert seen == [{"done": None, "log": ["x", "y"]}]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.NotRequired is Python 3.11+")
def test_not_required_wrappers_keep_managed_values_and_reducers():
    """``NotRequired[RemainingSteps]`` (LangGraph's AgentState writes it so) is still a managed
    value and ``NotRequired[Annotated[list, operator.add]]`` still a reducer: LangGraph 1.2.22
    returns ``{'log': ['a', 'b']}`` and the node sees ``remaining_steps == 9``."""

    class S(TypedDict):
        log: NotRequired[Annotated[list[str], operator.add]]
        remaining_steps: NotRequired[RemainingSteps]

    seen: list[int] = []

    def a(state: S) -> dict[str, Any]:
        seen.append(state["remaining_steps"])
        return {"log": ["a"]}

    builder = StateGraph(S)
    builder.add_node("a", a)
    builder.add_node("b", lambda s: {"log": ["b"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    assert builder.compile().invoke({"log": []}, {"recursion_limit": 10}) == {"log": ["a", "b"]}
    assert seen == [9]
