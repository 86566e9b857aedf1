"""Checkpoints written per invoke, their metadata, and reading them back (get_state, history)."""

import asyncio
from collections import Counter
from datetime import datetime

import pytest

from tether.graph import END, START, StateGraph

from ._support import LogState, appender, chain, checkpoint_id, history, steps, with_checkpoint


def test_each_invoke_writes_input_then_one_loop_checkpoint_per_step(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)

    assert steps(graph, thread) == [("loop", 2), ("loop", 1), ("loop", 0), ("input", -1)]


@pytest.mark.tether_only  # durability "sync": LangGraph's default "async" may not have it yet
def test_the_input_checkpoint_is_stored_before_a_start_router_runs(saver, thread):
    seen = []

    def route(state):
        head = saver.get_tuple(thread)
        seen.append((head.metadata["source"], head.metadata["step"]) if head else None)
        return "a"

    builder = StateGraph(LogState)
    builder.add_node("a", appender("a"))
    builder.add_conditional_edges(START, route, ["a"])
    builder.add_edge("a", END)
    graph = builder.compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)

    assert seen == [("input", -1)]
    assert steps(graph, thread) == [("loop", 1), ("loop", 0), ("input", -1)]


def test_step_numbers_continue_across_invokes(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    graph.invoke({"log": []}, thread)

    assert steps(graph, thread) == [
        ("loop", 6),
        ("loop", 5),
        ("loop", 4),
        ("input", 3),
        ("loop", 2),
        ("loop", 1),
        ("loop", 0),
        ("input", -1),
    ]


def test_root_checkpoints_have_empty_parents_metadata(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    assert [s.metadata["parents"] for s in history(graph, thread)] == [{}, {}, {}]


def test_config_metadata_and_configurable_scalars_are_copied_into_metadata(saver):
    graph = chain("a").compile(checkpointer=saver)
    config = {
        "configurable": {
            "thread_id": "t-meta",
            "user_id": "u1",
            "attempt": 2,
            "verbose": True,
            "not_a_scalar": {"nested": 1},
            "__private": "hidden",
        },
        "metadata": {"tag": "demo"},
    }
    graph.invoke({"log": []}, config)

    for snapshot in history(graph, {"configurable": {"thread_id": "t-meta"}}):
        meta = snapshot.metadata
        assert meta["tag"] == "demo"
        assert meta["user_id"] == "u1"
        assert meta["attempt"] == 2
        assert meta["verbose"] is True
        assert "not_a_scalar" not in meta
        assert "__private" not in meta
        assert "thread_id" not in meta
        assert "checkpoint_ns" not in meta


def test_metadata_of_a_later_invoke_reflects_that_invoke_only(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, {**thread, "metadata": {"run": "first"}})
    graph.invoke({"log": []}, {**thread, "metadata": {"run": "second"}})

    assert [s.metadata["run"] for s in history(graph, thread)] == ["second"] * 3 + ["first"] * 3


def test_history_is_newest_first_and_linked_by_parent_config(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    snapshots = history(graph, thread)

    for newer, older in zip(snapshots, snapshots[1:]):
        assert checkpoint_id(newer.parent_config) == checkpoint_id(older.config)
        assert checkpoint_id(newer.config) > checkpoint_id(older.config)
    assert snapshots[-1].parent_config is None


def test_history_filter_limit_and_before(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, {**thread, "metadata": {"turn": 1}})
    graph.invoke({"log": []}, {**thread, "metadata": {"turn": 2}})
    everything = history(graph, thread)

    inputs = history(graph, thread, filter={"source": "input"})
    assert [s.metadata["step"] for s in inputs] == [3, -1]
    assert len(history(graph, thread, filter={"turn": 1})) == 4
    assert len(history(graph, thread, filter={"source": "loop", "turn": 2})) == 3
    assert [s.config for s in history(graph, thread, limit=3)] == [s.config for s in everything[:3]]
    before = history(graph, thread, before=everything[2].config)
    assert [s.config for s in before] == [s.config for s in everything[3:]]
    assert len(history(graph, thread, before=everything[2].config, limit=2)) == 2


def test_next_and_tasks_at_each_checkpoint(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    snapshots = history(graph, thread)

    assert [s.next for s in snapshots] == [(), ("b",), ("a",), ("__start__",)]
    assert [[t.name for t in s.tasks] for s in snapshots] == [[], ["b"], ["a"], ["__start__"]]
    assert snapshots[1].tasks[0].result == {"log": ["b"]}
    assert snapshots[1].tasks[0].error is None
    assert snapshots[1].tasks[0].interrupts == ()


def test_values_at_each_checkpoint(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": ["in"], "n": 1}, thread)
    values = [s.values for s in history(graph, thread)]

    assert values[:3] == [
        {"log": ["in", "a", "b"], "n": 1},
        {"log": ["in", "a"], "n": 1},
        {"log": ["in"], "n": 1},
    ]


def test_get_state_reads_the_latest_checkpoint(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    latest = history(graph, thread)[0]
    snapshot = graph.get_state(thread)

    assert snapshot.values == {"log": ["a"]}
    assert snapshot.config == latest.config
    assert snapshot.config["configurable"]["thread_id"] == thread["configurable"]["thread_id"]
    assert snapshot.config["configurable"]["checkpoint_ns"] == ""
    assert snapshot.metadata == {"source": "loop", "step": 1, "parents": {}}


def test_get_state_with_checkpoint_id_reads_that_checkpoint(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    middle = history(graph, thread)[1]

    snapshot = graph.get_state(with_checkpoint(thread, checkpoint_id(middle.config)))

    assert snapshot.values == {"log": ["a"]}
    assert snapshot.next == ("b",)
    assert snapshot.metadata["step"] == 1


def test_created_at_is_an_aware_iso_timestamp_non_increasing_in_history(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    stamps = [datetime.fromisoformat(s.created_at) for s in history(graph, thread)]

    assert all(stamp.tzinfo is not None for stamp in stamps)
    assert stamps == sorted(stamps, reverse=True)


def test_finished_thread_invoked_with_none_returns_state_without_new_checkpoints(saver, thread):
    calls: Counter[str] = Counter()
    graph = chain("a", calls=calls).compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)

    assert graph.invoke(None, thread) == {"log": ["a"]}
    assert len(history(graph, thread)) == 3
    assert calls["a"] == 1


def test_async_history_and_state_match_sync(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)

    async def main() -> tuple[list, object]:
        await graph.ainvoke({"log": []}, thread)
        snaps = [s async for s in graph.aget_state_history(thread)]
        limited = [s async for s in graph.aget_state_history(thread, limit=1)]
        return snaps, limited, await graph.aget_state(thread)

    snaps, limited, latest = asyncio.run(main())
    assert [(s.metadata["source"], s.metadata["step"]) for s in snaps] == steps(graph, thread)
    assert limited[0].config == latest.config == graph.get_state(thread).config
    assert latest.values == {"log": ["a", "b"]}
