"""State schemas and reducers: TypedDict, dataclass, pydantic, input/output schemas."""

import dataclasses
import operator
from typing import Annotated, Any, TypedDict

import pytest
from pydantic import BaseModel, ValidationError

from tether.graph import START, StateGraph, add_messages

from ._support import field


def test_operator_add_reducer_accumulates_across_parallel_nodes_and_turns(saver, thread):
    class State(TypedDict):
        items: Annotated[list[int], operator.add]

    builder = StateGraph(State)
    builder.add_node("one", lambda s: {"items": [1]})
    builder.add_node("two", lambda s: {"items": [2]})
    builder.add_edge(START, "one")
    builder.add_edge(START, "two")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"items": [0]}, thread) == {"items": [0, 1, 2]}
    assert graph.invoke({"items": [9]}, thread) == {"items": [0, 1, 2, 9, 1, 2]}


def test_parallel_writes_are_reduced_in_node_name_order_not_completion_order():
    class State(TypedDict):
        log: Annotated[list[str], operator.add]

    builder = StateGraph(State)
    builder.add_node("zeta", lambda s: {"log": ["zeta"]})
    builder.add_node("alpha", lambda s: {"log": ["alpha"]})
    builder.add_edge(START, "zeta")
    builder.add_edge(START, "alpha")

    assert builder.compile().invoke({"log": []}) == {"log": ["alpha", "zeta"]}


def test_custom_two_argument_reducer(saver, thread):
    def keep_max(current: int, update: int) -> int:
        return max(current, update)

    class State(TypedDict):
        best: Annotated[int, keep_max]

    builder = StateGraph(State)
    builder.add_node("low", lambda s: {"best": 3})
    builder.add_node("high", lambda s: {"best": 7})
    builder.add_edge(START, "low")
    builder.add_edge(START, "high")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"best": 5}, thread) == {"best": 7}
    assert graph.invoke({"best": 100}, thread) == {"best": 100}


def test_last_value_key_is_replaced_and_unreturned_keys_are_kept(saver, thread):
    class State(TypedDict):
        status: str
        untouched: str

    builder = StateGraph(State)
    builder.add_node("work", lambda s: {"status": "done"})
    builder.add_edge(START, "work")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"status": "new", "untouched": "keep"}, thread) == {
        "status": "done",
        "untouched": "keep",
    }


def test_add_messages_appends_and_replaces_by_id():
    left = [{"role": "user", "content": "x", "id": "1"}]
    merged = add_messages(left, [{"role": "assistant", "content": "y", "id": "1"}])
    assert [(field(m, "id"), field(m, "content")) for m in merged] == [("1", "y")]

    merged = add_messages(merged, [{"role": "user", "content": "z", "id": "2"}])
    assert [(field(m, "id"), field(m, "content")) for m in merged] == [("1", "y"), ("2", "z")]


def test_dataclass_state_node_gets_instance_and_defaults_apply(saver, thread):
    @dataclasses.dataclass
    class State:
        x: int = 0
        log: Annotated[list[str], operator.add] = dataclasses.field(default_factory=list)

    seen: list[str] = []

    def inc(state: State) -> dict[str, Any]:
        seen.append(type(state).__name__)
        return {"x": state.x + 1, "log": ["inc"]}

    builder = StateGraph(State)
    builder.add_node("inc", inc)
    builder.add_edge(START, "inc")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"x": 5}, thread) == {"x": 6, "log": ["inc"]}
    assert graph.get_state(thread).values == {"x": 6, "log": ["inc"]}
    assert seen == ["State"]


def test_dataclass_instance_is_accepted_as_input(saver, thread):
    @dataclasses.dataclass
    class State:
        x: int = 0

    builder = StateGraph(State)
    builder.add_node("inc", lambda s: {"x": s.x + 1})
    builder.add_edge(START, "inc")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke(State(x=1), thread) == {"x": 2}


class PydanticState(BaseModel):
    x: int = 0
    log: Annotated[list[str], operator.add] = []


def pydantic_graph(saver: Any) -> Any:
    def inc(state: PydanticState) -> dict[str, Any]:
        return {"x": state.x + 1, "log": [type(state).__name__]}

    builder = StateGraph(PydanticState)
    builder.add_node("inc", inc)
    builder.add_edge(START, "inc")
    return builder.compile(checkpointer=saver)


def test_pydantic_state_node_gets_model_and_state_reads_as_dict(saver, thread):
    graph = pydantic_graph(saver)

    assert graph.invoke({"x": 5}, thread) == {"x": 6, "log": ["PydanticState"]}
    assert graph.get_state(thread).values == {"x": 6, "log": ["PydanticState"]}


def test_pydantic_state_rejects_invalid_input(saver, thread):
    graph = pydantic_graph(saver)
    with pytest.raises(ValidationError):
        graph.invoke({"x": "not a number"}, thread)


class QuestionIn(TypedDict):
    question: str


class AnswerOut(TypedDict):
    answer: str


class Workspace(TypedDict):
    question: str
    scratch: str
    answer: str


def test_input_and_output_schemas_filter_what_goes_in_and_out(saver, thread):
    builder = StateGraph(Workspace, input_schema=QuestionIn, output_schema=AnswerOut)
    builder.add_node("think", lambda s: {"scratch": s["question"].upper()})
    builder.add_node("answer", lambda s: {"answer": s["scratch"] + "!"})
    builder.add_edge(START, "think")
    builder.add_edge("think", "answer")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"question": "hi"}, thread) == {"answer": "HI!"}
    assert graph.get_state(thread).values == {"question": "hi", "scratch": "HI", "answer": "HI!"}


def test_node_returning_none_changes_nothing(saver, thread):
    class State(TypedDict):
        v: int

    builder = StateGraph(State)
    builder.add_node("noop", lambda s: None)
    builder.add_edge(START, "noop")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"v": 1}, thread) == {"v": 1}
