"""tether's errors keep the built-in base LangGraph raises, so ``except <builtin>`` ports
(issue 6, item 13).

Each case was run on LangGraph 1.2.22; its docstring quotes the type LangGraph raised. The
tether class (and its message) stays; the built-in is an extra base.
"""

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest

from tether.config import get_config
from tether.errors import (
    ConfigurationError,
    InvalidContextError,
    InvalidGraphError,
    InvalidResumeError,
    MissingConfigKey,
)
from tether.graph import END, START, StateGraph
from tether.types import Command, interrupt

from .test_human_in_the_loop import parallel_ask_graph


class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    x: int


def one_node(checkpointer: Any = None) -> Any:
    builder = StateGraph(S)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_edge(START, "a")
    return builder.compile(checkpointer=checkpointer)


def test_missing_thread_id_on_a_run_is_a_value_error(saver):
    """LangGraph: ``ValueError: Checkpointer requires one or more of the following
    'configurable' keys: thread_id, ...`` from invoke and stream."""
    graph = one_node(saver)
    with pytest.raises(ValueError, match="thread_id") as caught:
        graph.invoke({"log": []})
    assert isinstance(caught.value, ConfigurationError)
    with pytest.raises(ValueError, match="thread_id"):
        list(graph.stream({"log": []}, {"configurable": {}}))


def test_missing_thread_id_on_state_calls_is_a_key_error(saver):
    """LangGraph: ``KeyError`` from get_state, update_state and get_state_history without a
    thread_id, and from a saver's get_tuple/put without one. tether's message stays readable
    (no KeyError quoting) and the error is a ValueError too, as on a run."""
    graph = one_node(saver)
    calls = [
        lambda: graph.get_state({"configurable": {}}),
        lambda: graph.update_state({"configurable": {}}, {"x": 1}),
        lambda: list(graph.get_state_history({"configurable": {}})),
        lambda: saver.get_tuple({"configurable": {}}),
    ]
    for call in calls:
        with pytest.raises(KeyError) as caught:
            call()
        assert isinstance(caught.value, MissingConfigKey | ValueError)
        assert str(caught.value).startswith(("reading", "config"))


def test_put_writes_without_checkpoint_id_is_a_key_error(saver):
    """LangGraph's InMemorySaver: ``KeyError: 'checkpoint_id'``."""
    with pytest.raises(KeyError) as caught:
        saver.put_writes({"configurable": {"thread_id": "t"}}, [("x", 1)], "task")
    assert "checkpoint_id" in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)


def test_state_calls_without_a_checkpointer_are_value_errors():
    """LangGraph: ``ValueError: No checkpointer set`` from get_state and update_state."""
    graph = one_node()
    cfg = {"configurable": {"thread_id": "1"}}
    with pytest.raises(ValueError, match="checkpointer"):
        graph.get_state(cfg)
    with pytest.raises(ValueError, match="checkpointer"):
        graph.update_state(cfg, {"x": 1})


def test_batch_with_the_wrong_number_of_configs_is_a_value_error():
    """LangGraph: ``ValueError: config must be a list of the same length as inputs``."""
    with pytest.raises(ValueError, match="2 inputs but 3 configs"):
        one_node().batch([{"log": []}, {"log": []}], [{}, {}, {}])


def test_recursion_limit_below_one_is_a_value_error():
    """LangGraph: ``ValueError: recursion_limit must be at least 1`` before any step runs."""
    with pytest.raises(ValueError, match="recursion_limit") as caught:
        one_node().invoke({"log": []}, {"recursion_limit": 0})
    assert isinstance(caught.value, ConfigurationError)


def test_calls_outside_a_running_node_are_runtime_errors():
    """LangGraph: ``RuntimeError: Called get_config outside of a runnable context`` from
    get_config() and interrupt() called outside a node."""
    with pytest.raises(RuntimeError, match="inside a running graph node") as caught:
        get_config()
    assert isinstance(caught.value, InvalidContextError)
    with pytest.raises(RuntimeError, match="outside a running graph node"):
        interrupt("question")


def test_checkpointer_true_on_a_root_graph_is_a_runtime_error():
    """LangGraph: ``RuntimeError: checkpointer=True cannot be used for root graphs.``"""
    graph = one_node(True)
    with pytest.raises(RuntimeError, match="checkpointer=True") as caught:
        graph.invoke({"log": []}, {"configurable": {"thread_id": "1"}})
    assert isinstance(caught.value, ConfigurationError)


def builder_with_a(*, entry: bool = True) -> StateGraph:
    builder = StateGraph(S)
    builder.add_node("a", lambda s: {})
    if entry:
        builder.add_edge(START, "a")
    return builder


@pytest.mark.parametrize(
    "mistake",
    [
        lambda: builder_with_a().add_node("a", lambda s: {}),
        lambda: builder_with_a().add_edge("a", START),
        lambda: builder_with_a().add_edge(END, "a"),
        lambda: builder_with_a(entry=False).compile(),
        lambda: builder_with_a().add_edge("a", "ghost").compile(),
        lambda: builder_with_a().add_node("__start__", lambda s: {}),
        lambda: builder_with_a().add_node("a|b", lambda s: {}),
        lambda: builder_with_a().compile(interrupt_before=["ghost"]),
        lambda: builder_with_a().add_conditional_edges("ghost", lambda s: "a").compile(),
        lambda: builder_with_a().add_conditional_edges("a", lambda s: "x", {"x": "zz"}).compile(),
        lambda: StateGraph(S).add_sequence([]),
    ],
    ids=[
        "duplicate-node",
        "edge-to-start",
        "edge-from-end",
        "no-entry-point",
        "edge-to-unknown",
        "reserved-name",
        "pipe-in-name",
        "interrupt-unknown-node",
        "branch-from-unknown",
        "branch-to-unknown",
        "empty-sequence",
    ],
)
def test_graph_building_mistakes_are_value_errors(mistake):
    """LangGraph raises ``ValueError`` for each of these builder and compile mistakes
    (``Node `a` already present.``, ``START cannot be an end node``, ``Graph must have an
    entrypoint``, ``Found edge ending at unknown node``, ``Interrupt node `ghost` not found``,
    ...)."""
    with pytest.raises(ValueError) as caught:
        mistake()
    assert isinstance(caught.value, InvalidGraphError)


def test_scalar_resume_with_several_pending_interrupts_is_a_runtime_error(saver, thread):
    """LangGraph: ``RuntimeError: When there are multiple pending interrupts, you must specify
    the interrupt id when resuming.``"""
    graph = parallel_ask_graph(saver, Counter())
    graph.invoke({"log": []}, thread)
    with pytest.raises(RuntimeError, match="interrupt id") as caught:
        graph.invoke(Command(resume="x"), thread)
    assert isinstance(caught.value, InvalidResumeError)


def test_the_new_classes_sit_in_the_one_tree():
    """Code that catches tether's names keeps working: the new classes are ConfigurationErrors."""
    assert issubclass(MissingConfigKey, ConfigurationError)
    assert issubclass(InvalidContextError, ConfigurationError)
    assert issubclass(ConfigurationError, ValueError)
