"""Private state between nodes: a node's own input schema (issue 6, item 3).

The scenarios are the graph API page's "pass private state between nodes" and "multiple
schemas" examples; each docstring quotes what LangGraph 1.2.22 printed for them.
"""

import dataclasses
from typing import Any, TypedDict

from tether.graph import END, START, StateGraph


class OverallState(TypedDict):
    a: str


class Node1Output(TypedDict):
    private_data: str


class Node2Input(TypedDict):
    private_data: str


def private_graph(seen: dict[str, Any]) -> StateGraph:
    def node_1(state: OverallState) -> Node1Output:
        seen["node_1"] = dict(state)
        return {"private_data": "set by node_1"}

    def node_2(state: Node2Input) -> OverallState:
        seen["node_2"] = dict(state)
        return {"a": "set by node_2"}

    def node_3(state: OverallState) -> OverallState:
        seen["node_3"] = dict(state)
        return {"a": "set by node_3"}

    builder = StateGraph(OverallState).add_sequence(
        [("node_1", node_1), ("node_2", node_2), ("node_3", node_3)]
    )
    builder.add_edge(START, "node_1")
    return builder


def test_node_annotated_with_its_own_schema_reads_private_channels(saver, thread):
    """LangGraph prints ``node_2`` Input ``{'private_data': 'set by node_1'}``, ``node_3``
    Input ``{'a': 'set by node_2'}`` and the output ``{'a': 'set by node_3'}``; the thread's
    values carry ``private_data`` too."""
    seen: dict[str, Any] = {}
    graph = private_graph(seen).compile(checkpointer=saver)

    out = graph.invoke({"a": "set at start"}, thread)

    assert seen == {
        "node_1": {"a": "set at start"},
        "node_2": {"private_data": "set by node_1"},
        "node_3": {"a": "set by node_2"},
    }
    assert out == {"a": "set by node_3"}
    assert graph.get_state(thread).values == {
        "a": "set by node_3",
        "private_data": "set by node_1",
    }


def test_private_channels_without_a_checkpointer():
    """The graph API page runs the example without a checkpointer: same node inputs."""
    seen: dict[str, Any] = {}
    graph = private_graph(seen).compile()
    assert graph.invoke({"a": "set at start"}) == {"a": "set by node_3"}
    assert seen["node_2"] == {"private_data": "set by node_1"}


class SecretAndA(TypedDict):
    private_data: str
    a: str


def test_add_node_input_schema_declares_private_channels(saver, thread):
    """LangGraph: ``add_node("n2", fn, input_schema=SecretAndA)`` with an unannotated ``fn``
    gets ``{'private_data': 'set by node_1', 'a': 's'}``."""
    seen: list[Any] = []

    def node_1(state: OverallState) -> dict[str, Any]:
        return {"private_data": "set by node_1"}

    def n2(state):  # type: ignore[no-untyped-def]
        seen.append(dict(state))
        return {"a": "n2"}

    builder = StateGraph(OverallState)
    builder.add_node("n1", node_1)
    builder.add_node("n2", n2, input_schema=SecretAndA)
    builder.add_edge(START, "n1")
    builder.add_edge("n1", "n2")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"a": "s"}, thread) == {"a": "n2"}
    assert seen == [{"private_data": "set by node_1", "a": "s"}]


class InputState(TypedDict):
    user_input: str


class OutputState(TypedDict):
    graph_output: str


class Overall(TypedDict):
    foo: str
    user_input: str
    graph_output: str


class PrivateState(TypedDict):
    bar: str


def test_multiple_schemas_example(saver, thread):
    """LangGraph prints node inputs ``{'user_input': 'My'}``, ``{'foo': 'My name',
    'user_input': 'My'}``, ``{'bar': 'My name is'}`` and returns
    ``{'graph_output': 'My name is Lance'}``."""
    seen: list[Any] = []

    def node_1(state: InputState) -> Overall:
        seen.append(dict(state))
        return {"foo": state["user_input"] + " name"}  # type: ignore[typeddict-item]

    def node_2(state: Overall) -> PrivateState:
        seen.append(dict(state))
        return {"bar": state["foo"] + " is"}

    def node_3(state: PrivateState) -> OutputState:
        seen.append(dict(state))
        return {"graph_output": state["bar"] + " Lance"}

    builder = StateGraph(Overall, input_schema=InputState, output_schema=OutputState)
    builder.add_node("node_1", node_1)
    builder.add_node("node_2", node_2)
    builder.add_node("node_3", node_3)
    builder.add_edge(START, "node_1")
    builder.add_edge("node_1", "node_2")
    builder.add_edge("node_2", "node_3")
    builder.add_edge("node_3", END)
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"user_input": "My"}, thread) == {"graph_output": "My name is Lance"}
    assert seen == [
        {"user_input": "My"},
        {"foo": "My name", "user_input": "My"},
        {"bar": "My name is"},
    ]


@dataclasses.dataclass
class DataState:
    a: str = ""


class Secret(TypedDict):
    secret: int


def test_private_channel_beside_a_dataclass_state(saver, thread):
    """LangGraph: the router still gets ``DataState(a='x')`` (no private key), the private
    node gets ``{'secret': 7}``; output ``{'a': 's=7'}``, values ``{'a': 's=7', 'secret': 7}``."""
    seen: list[Any] = []

    def n1(state: DataState) -> dict[str, Any]:
        return {"secret": 7, "a": "x"}

    def n2(state: Secret) -> dict[str, Any]:
        seen.append(state)
        return {"a": f"s={state['secret']}"}

    def route(state: DataState) -> str:
        seen.append(state)
        return "n2"

    builder = StateGraph(DataState)
    builder.add_node("n1", n1)
    builder.add_node("n2", n2)
    builder.add_edge(START, "n1")
    builder.add_conditional_edges("n1", route, ["n2"])
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"a": ""}, thread) == {"a": "s=7"}
    assert seen == [DataState(a="x"), {"secret": 7}]
    assert graph.get_state(thread).values == {"a": "s=7", "secret": 7}
