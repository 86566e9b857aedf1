"""Misuse of config and resume: where LangGraph is silent or vague, tether raises clear errors.

Tests marked ``tether_only`` pin tether's deliberate differences (LangGraph accepts these
inputs silently or raises a generic error); the unmarked ones hold for both.
"""

import asyncio
import operator
import re
from typing import Annotated, Any, TypedDict

import pytest

from tether.errors import (
    CheckpointNotFound,
    ConfigurationError,
    InvalidGraphError,
    InvalidResumeError,
    InvalidUpdateError,
    TetherError,
)
from tether.graph import START, StateGraph
from tether.types import Command, interrupt

from ._support import LogState, chain, history, with_checkpoint

UNKNOWN_ID = "1f000000-0000-6000-8000-000000000000"


def ask_graph(saver: Any = None) -> Any:
    def ask(state: LogState) -> dict[str, Any]:
        return {"log": [f"answer={interrupt('approve?')}"]}

    builder = StateGraph(LogState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=saver)


# --- missing thread_id -------------------------------------------------------------------


@pytest.mark.parametrize("configurable", [None, {}], ids=["no-config", "empty-configurable"])
def test_checkpointed_run_without_thread_id_fails_naming_thread_id(saver, configurable):
    graph = chain("a").compile(checkpointer=saver)
    config = None if configurable is None else {"configurable": configurable}
    with pytest.raises(Exception, match="thread_id"):
        graph.invoke({"log": []}, config)


@pytest.mark.tether_only
def test_missing_thread_id_is_a_configuration_error(saver):
    graph = chain("a").compile(checkpointer=saver)
    with pytest.raises(ConfigurationError, match="thread_id"):
        graph.invoke({"log": []})
    with pytest.raises(ConfigurationError, match="thread_id"):
        graph.get_state({"configurable": {}})
    with pytest.raises(ConfigurationError, match="thread_id"):
        asyncio.run(graph.ainvoke({"log": []}, {"configurable": {}}))


# --- unknown checkpoint_id ---------------------------------------------------------------


@pytest.mark.tether_only
def test_unknown_checkpoint_id_is_reported_by_invoke(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    missing = with_checkpoint(thread, UNKNOWN_ID)

    with pytest.raises(CheckpointNotFound, match=UNKNOWN_ID):
        graph.invoke(None, missing)
    with pytest.raises(CheckpointNotFound, match=UNKNOWN_ID):
        graph.invoke({"log": []}, missing)


@pytest.mark.tether_only
def test_unknown_checkpoint_id_is_reported_by_get_state_and_update_state(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    missing = with_checkpoint(thread, UNKNOWN_ID)

    with pytest.raises(CheckpointNotFound, match=UNKNOWN_ID):
        graph.get_state(missing)
    with pytest.raises(CheckpointNotFound, match=UNKNOWN_ID):
        graph.update_state(missing, {"log": ["x"]})
    assert len(history(graph, thread)) == 3


# --- resume without a matching interrupt -------------------------------------------------


@pytest.mark.tether_only
def test_resume_on_a_finished_thread_is_invalid(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    with pytest.raises(InvalidResumeError, match=re.escape(thread["configurable"]["thread_id"])):
        graph.invoke(Command(resume="late"), thread)
    assert len(history(graph, thread)) == 3


@pytest.mark.tether_only
def test_resume_on_a_new_thread_is_invalid(saver, thread):
    graph = ask_graph(saver)
    with pytest.raises(InvalidResumeError):
        graph.invoke(Command(resume="nothing to resume"), thread)
    assert history(graph, thread) == []


@pytest.mark.tether_only
def test_resume_map_with_unknown_interrupt_id_is_invalid(saver, thread):
    graph = ask_graph(saver)
    graph.invoke({"log": []}, thread)
    bogus = "0" * 32
    with pytest.raises(InvalidResumeError, match=bogus):
        graph.invoke(Command(resume={bogus: "x"}), thread)
    assert graph.get_state(thread).next == ("ask",)


@pytest.mark.tether_only
def test_scalar_resume_with_several_pending_interrupts_is_invalid(saver, thread):
    def asker(name: str) -> Any:
        return lambda s: {"log": [interrupt(name)]}

    builder = StateGraph(LogState)
    builder.add_node("p1", asker("p1"))
    builder.add_node("p2", asker("p2"))
    builder.add_edge(START, "p1")
    builder.add_edge(START, "p2")
    graph = builder.compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)

    with pytest.raises(InvalidResumeError, match="(?i)interrupt[ _]id"):
        graph.invoke(Command(resume="ambiguous"), thread)


@pytest.mark.tether_only
def test_async_resume_without_pending_interrupt_is_invalid(saver, thread):
    graph = chain("a").compile(checkpointer=saver)

    async def main() -> None:
        await graph.ainvoke({"log": []}, thread)
        await graph.ainvoke(Command(resume="late"), thread)

    with pytest.raises(InvalidResumeError):
        asyncio.run(main())


# --- interrupts need a checkpointer ------------------------------------------------------


@pytest.mark.tether_only
def test_interrupt_without_checkpointer_is_a_configuration_error():
    graph = ask_graph(saver=None)
    with pytest.raises(ConfigurationError, match="checkpointer"):
        graph.invoke({"log": []})


@pytest.mark.tether_only
def test_interrupt_before_without_checkpointer_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="checkpointer"):
        graph = chain("a", "b").compile(interrupt_before=["b"])
        graph.invoke({"log": []})


@pytest.mark.tether_only
def test_interrupt_before_at_invoke_time_without_checkpointer_is_a_configuration_error():
    graph = chain("a", "b").compile()
    with pytest.raises(ConfigurationError, match="checkpointer"):
        graph.invoke({"log": []}, interrupt_before=["b"])


# --- concurrent writes to a last-value channel -------------------------------------------


class Verdict(TypedDict):
    verdict: str
    notes: Annotated[list[str], operator.add]


@pytest.mark.tether_only
def test_invalid_concurrent_update_names_the_channel_and_the_nodes(saver, thread):
    builder = StateGraph(Verdict)
    builder.add_node("judge_a", lambda s: {"verdict": "yes"})
    builder.add_node("judge_b", lambda s: {"verdict": "no"})
    builder.add_edge(START, "judge_a")
    builder.add_edge(START, "judge_b")
    graph = builder.compile(checkpointer=saver)

    with pytest.raises(InvalidUpdateError) as caught:
        graph.invoke({"verdict": "", "notes": []}, thread)

    message = str(caught.value)
    assert "verdict" in message
    assert "judge_a" in message and "judge_b" in message


# --- one exception tree ------------------------------------------------------------------


@pytest.mark.tether_only
def test_graph_validation_errors_are_tether_errors():
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": ["a"]})
    with pytest.raises(InvalidGraphError) as caught:
        builder.compile()
    assert isinstance(caught.value, TetherError)


@pytest.mark.tether_only
def test_metadata_passed_as_the_third_update_state_argument_is_explained(saver, thread):
    """A seed passes metadata where as_node goes; tether says where metadata belongs."""
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    with pytest.raises(InvalidUpdateError, match=r"third argument is as_node.*'metadata'"):
        graph.update_state(thread, {"log": ["x"]}, {"user_id": "u1"})
    graph.update_state({**thread, "metadata": {"user_id": "u1"}}, {"log": ["x"]})
    assert graph.get_state(thread).metadata["user_id"] == "u1"
