"""``checkpoints``, ``tasks`` and ``debug`` stream payloads as LangGraph 1.2.22 yields them
(issue 6, item 9).

Each docstring quotes what LangGraph printed for the same graph.
"""

from collections import Counter
from typing import Any

import pytest

from tether.graph import START, StateGraph
from tether.types import Command

from ._support import LogState, asking_chain, chain
from .test_human_in_the_loop import parallel_ask_graph


def test_checkpoint_events_carry_parent_config_and_tasks(saver, thread):
    """LangGraph: each ``checkpoints`` chunk has the keys config, parent_config, values,
    metadata, next and tasks; the input checkpoint's ``parent_config`` is None, each later one
    names the previous checkpoint; ``tasks`` lists ``{'id', 'name', 'interrupts': (),
    'state': None}`` for each next task."""
    graph = asking_chain().compile(checkpointer=saver)
    events = list(graph.stream({"log": ["in"]}, thread, stream_mode="checkpoints"))
    assert [e["metadata"]["step"] for e in events] == [-1, 0, 1]
    for event in events:
        assert list(event) == ["config", "parent_config", "values", "metadata", "next", "tasks"]
        assert [t["name"] for t in event["tasks"]] == event["next"]
        for task in event["tasks"]:
            assert set(task) == {"id", "name", "interrupts", "state"}
            assert task["interrupts"] == () and task["state"] is None
    assert events[0]["parent_config"] is None
    for older, newer in zip(events, events[1:]):
        assert newer["parent_config"] == older["config"]
    assert events[2]["next"] == ["ask"] and events[2]["values"] == {"log": ["in", "a"]}
    state = graph.get_state(thread)
    assert events[2]["tasks"][0]["id"] == state.tasks[0].id
    assert events[2]["config"] == state.config


def test_a_continued_thread_names_its_head_as_first_parent(saver, thread):
    """LangGraph: the first checkpoint of a second run has the thread's previous head as
    ``parent_config``."""
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    head = graph.get_state(thread).config
    events = list(graph.stream({"log": ["again"]}, thread, stream_mode="checkpoints"))
    assert events[0]["parent_config"] == head


def test_debug_checkpoint_payload_is_the_checkpoint_event(saver, thread):
    """LangGraph: a debug ``checkpoint`` event's payload is the ``checkpoints`` chunk
    (parent_config and tasks included), its ``step`` the metadata step."""
    graph = asking_chain().compile(checkpointer=saver)
    both = list(graph.stream({"log": ["in"]}, thread, stream_mode=["checkpoints", "debug"]))
    plain = [data for mode, data in both if mode == "checkpoints"]
    debug = [data for mode, data in both if mode == "debug" and data["type"] == "checkpoint"]
    assert [d["payload"] for d in debug] == plain
    assert [d["step"] for d in debug] == [-1, 0, 1]


def test_task_events_match_langgraphs_shapes(saver, thread):
    """LangGraph: a ``task`` payload's triggers are a tuple (``('branch:to:a',)``); a
    ``task_result`` has ``result`` ``{'log': ['a']}`` for a finished node, ``{}`` for an
    interrupted one, and ``interrupts`` as plain dicts (``{'value': 'q?', 'id': ...}``)."""
    graph = asking_chain().compile(checkpointer=saver)
    events = list(graph.stream({"log": ["in"]}, thread, stream_mode="debug"))
    starts = [e["payload"] for e in events if e["type"] == "task"]
    results = [e["payload"] for e in events if e["type"] == "task_result"]
    assert [s["triggers"] for s in starts] == [("branch:to:a",), ("branch:to:ask",)]
    assert [r["name"] for r in results] == ["a", "ask"]
    assert results[0]["result"] == {"log": ["a"]} and results[0]["interrupts"] == []
    assert results[1]["result"] == {} and results[1]["error"] is None
    [asked] = results[1]["interrupts"]
    assert isinstance(asked, dict) and asked["value"] == "q?"
    assert asked["id"] == graph.get_state(thread).interrupts[0].id
    tasks_mode = list(
        graph.stream({"log": ["in"]}, {"configurable": {"thread_id": "x"}}, stream_mode="tasks")
    )
    assert [t["name"] for t in tasks_mode] == ["a", "a", "ask", "ask"]


def test_failed_task_result_has_an_empty_result(saver, thread):
    """LangGraph: ``{'error': ValueError('boom'), 'result': {}, 'interrupts': [], ...}``."""

    def boom(state: LogState) -> dict[str, Any]:
        raise ValueError("boom")

    builder = StateGraph(LogState)
    builder.add_node("a", boom)
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=saver)
    seen: list[dict[str, Any]] = []
    with pytest.raises(ValueError, match="boom"):
        seen.extend(graph.stream({"log": []}, thread, stream_mode="debug"))
    [result] = [e["payload"] for e in seen if e["type"] == "task_result"]
    assert result["result"] == {} and result["interrupts"] == []
    assert isinstance(result["error"], ValueError)


def test_no_checkpoint_events_without_a_checkpointer():
    """LangGraph, no checkpointer: ``stream_mode=["checkpoints", "debug", "values"]`` yields the
    values chunks and the debug ``task``/``task_result`` events, and no checkpoint at all."""
    graph = chain("a").compile()
    chunks = list(graph.stream({"log": ["in"]}, stream_mode=["checkpoints", "debug", "values"]))
    assert [mode for mode, _ in chunks] == ["values", "debug", "debug", "values"]
    assert [data["type"] for mode, data in chunks if mode == "debug"] == ["task", "task_result"]


@pytest.mark.tether_only
def test_exit_durability_events_name_the_parent_the_saver_stores(saver, thread):
    """With ``durability="exit"`` only the last checkpoint is stored, its parent being the
    thread's head when the run started. LangGraph 1.2.22 gives every event of such a run
    ``parent_config=None``, even when the stored parent is that head; tether's events name
    the parent the saver stores (None on a new thread), so an event never contradicts
    ``get_state_history`` (docs/porting.md)."""
    graph = chain("a", "b").compile(checkpointer=saver)
    first = list(graph.stream({"log": []}, thread, stream_mode="checkpoints", durability="exit"))
    assert [e["parent_config"] for e in first] == [None] * 4
    head = graph.get_state(thread)
    again = list(graph.stream({"log": []}, thread, stream_mode="checkpoints", durability="exit"))
    assert all(e["parent_config"] == head.config for e in again)
    assert graph.get_state(thread).parent_config == head.config


def test_subgraph_checkpoint_events_carry_the_checkpoint_map(saver, thread):
    """LangGraph, ``stream_mode="checkpoints", subgraphs=True``: the parent's event lists the
    subgraph task with ``state={'configurable': {'thread_id', 'checkpoint_ns'}}``; each
    subgraph event's config (and parent_config) carries ``checkpoint_map`` = {parent ns:
    parent checkpoint id, own ns: own checkpoint id}; root events carry none."""
    inner = chain("s1").compile()
    builder = StateGraph(LogState)
    builder.add_node("sub", inner)
    builder.add_edge(START, "sub")
    graph = builder.compile(checkpointer=saver)
    events = list(graph.stream({"log": []}, thread, stream_mode="checkpoints", subgraphs=True))
    root = [e for ns, e in events if not ns]
    child = [e for ns, e in events if ns]
    [task] = root[1]["tasks"]
    assert task["name"] == "sub"
    assert set(task["state"]["configurable"]) == {"thread_id", "checkpoint_ns"}
    child_ns = task["state"]["configurable"]["checkpoint_ns"]
    parent_id = root[1]["config"]["configurable"]["checkpoint_id"]
    assert all("checkpoint_map" not in e["config"]["configurable"] for e in root)
    assert [e["metadata"]["step"] for e in child] == [-1, 0, 1]
    for event in child:
        conf = event["config"]["configurable"]
        assert conf["checkpoint_ns"] == child_ns
        assert conf["checkpoint_map"] == {"": parent_id, child_ns: conf["checkpoint_id"]}
    assert child[0]["parent_config"] is None
    assert child[1]["parent_config"] == child[0]["config"]


def test_a_resume_announces_cached_tasks_but_reports_only_re_run_ones(saver, thread):
    """LangGraph, ``stream_mode="tasks"``, resuming a step where ``a`` finished beside ``ask``
    (which interrupted): a start event for ``a`` and ``ask``, a result only for ``ask``."""
    graph = parallel_ask_graph(saver, Counter())
    graph.invoke({"log": []}, thread)
    graph.invoke(Command(resume={graph.get_state(thread).interrupts[0].id: "x"}), thread)
    events = list(graph.stream(Command(resume="y"), thread, stream_mode="tasks"))
    starts = [e["name"] for e in events if "input" in e]
    results = [e["name"] for e in events if "result" in e]
    assert sorted(starts) == ["p1", "p2"]
    assert len(results) == 1
