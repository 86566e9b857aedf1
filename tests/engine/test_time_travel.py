"""Time travel: replay from a past checkpoint, fork with update_state, copies and bulk updates."""

import asyncio
from collections import Counter

import pytest

from tether.graph import END
from tether.types import StateUpdate

from ._support import chain, checkpoint_id, history, steps


def run_abc(saver, thread, calls=None):
    graph = chain("a", "b", "c", calls=calls).compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    before_b = next(s for s in history(graph, thread) if s.next == ("b",))
    return graph, before_b


def test_replay_from_past_checkpoint_reruns_later_nodes_only(saver, thread):
    calls: Counter[str] = Counter()
    graph, before_b = run_abc(saver, thread, calls)

    out = graph.invoke(None, before_b.config)

    assert out == {"log": ["a", "b", "c"]}
    assert calls == Counter({"a": 1, "b": 2, "c": 2})


def test_replay_writes_a_fork_checkpoint_whose_parent_is_the_replayed_one(saver, thread):
    graph, before_b = run_abc(saver, thread)
    graph.invoke(None, before_b.config)
    snapshots = history(graph, thread)

    assert steps(graph, thread)[:3] == [("loop", 4), ("loop", 3), ("fork", 2)]
    fork = snapshots[2]
    assert checkpoint_id(fork.parent_config) == checkpoint_id(before_b.config)
    assert fork.next == ("b",)
    assert fork.values == before_b.values


def test_replay_keeps_the_original_branch_in_history(saver, thread):
    graph, before_b = run_abc(saver, thread)
    original = [s.config for s in history(graph, thread)]
    graph.invoke(None, before_b.config)
    after = [s.config for s in history(graph, thread)]

    assert len(after) == len(original) + 3
    assert set(map(checkpoint_id, original)) <= set(map(checkpoint_id, after))
    assert graph.get_state(thread).config == after[0]


def test_update_state_on_past_checkpoint_branches_and_continues_from_it(saver, thread):
    calls: Counter[str] = Counter()
    graph, before_b = run_abc(saver, thread, calls)

    branch = graph.update_state(before_b.config, {"log": ["edited"], "n": 100})
    snapshot = graph.get_state(branch)

    assert snapshot.values == {"log": ["a", "edited"], "n": 100}
    assert snapshot.next == ("b",)
    assert snapshot.metadata == {"source": "update", "step": 2, "parents": {}}
    assert checkpoint_id(snapshot.parent_config) == checkpoint_id(before_b.config)

    assert graph.invoke(None, branch) == {"log": ["a", "edited", "b", "c"], "n": 100}
    assert calls == Counter({"a": 1, "b": 2, "c": 2})
    assert graph.get_state(thread).values == {"log": ["a", "edited", "b", "c"], "n": 100}


def test_update_state_goes_through_reducers(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": ["x"], "n": 1}, thread)

    graph.update_state(thread, {"log": ["y"], "n": 2})

    assert graph.get_state(thread).values == {"log": ["x", "a", "y"], "n": 2}


def test_update_state_as_node_routes_like_that_node_ran(saver, thread):
    calls: Counter[str] = Counter()
    graph, before_b = run_abc(saver, thread, calls)

    branch = graph.update_state(before_b.config, {"log": ["manual-b"]}, as_node="b")
    snapshot = graph.get_state(branch)

    assert snapshot.next == ("c",)
    assert snapshot.values["log"] == ["a", "manual-b"]
    assert graph.invoke(None, branch) == {"log": ["a", "manual-b", "c"]}
    assert calls["b"] == 1


def test_update_state_on_finished_thread_as_a_node_schedules_its_successor(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)

    graph.update_state(thread, {"log": ["late"]})
    assert graph.get_state(thread).next == ()

    graph.update_state(thread, {"log": ["as-a"]}, as_node="a")
    snapshot = graph.get_state(thread)
    assert snapshot.next == ("b",)
    assert graph.invoke(None, thread) == {"log": ["a", "b", "late", "as-a", "b"]}


def test_update_state_with_unknown_as_node_is_rejected(saver, thread):
    from tether.errors import InvalidUpdateError

    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    with pytest.raises(InvalidUpdateError, match="nope"):
        graph.update_state(thread, {"log": ["x"]}, as_node="nope")


def test_copy_forks_the_checkpoint_under_its_parent(saver, thread):
    graph, before_b = run_abc(saver, thread)

    fork = graph.update_state(before_b.config, None, as_node="__copy__")
    snapshot = graph.get_state(fork)

    assert snapshot.values == before_b.values
    assert snapshot.next == ("b",)
    assert snapshot.metadata["source"] == "fork"
    assert snapshot.metadata["step"] == before_b.metadata["step"] + 1
    assert snapshot.parent_config == before_b.parent_config
    assert checkpoint_id(fork) != checkpoint_id(before_b.config)
    assert graph.invoke(None, fork) == {"log": ["a", "b", "c"]}


def test_update_state_with_end_clears_pending_tasks(saver, thread):
    calls: Counter[str] = Counter()
    graph = chain("a", "b", calls=calls).compile(checkpointer=saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread)

    graph.update_state(thread, None, as_node=END)
    snapshot = graph.get_state(thread)

    assert snapshot.next == ()
    assert snapshot.values == {"log": ["a"]}
    assert snapshot.metadata["source"] == "update"
    assert graph.invoke(None, thread) == {"log": ["a"]}
    assert calls["b"] == 0


def test_bulk_update_state_writes_one_checkpoint_per_superstep(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread)

    graph.bulk_update_state(
        thread,
        [
            [StateUpdate({"log": ["u1"]}, "a")],
            [StateUpdate({"n": 5}, "a"), StateUpdate({"log": ["u2"]}, "a")],
        ],
    )
    snapshot = graph.get_state(thread)

    assert snapshot.values == {"log": ["a", "u1", "u2"], "n": 5}
    assert snapshot.next == ("b",)
    assert steps(graph, thread)[:3] == [("update", 3), ("update", 2), ("loop", 1)]


def test_update_state_records_config_metadata(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    config = {
        "configurable": {**thread["configurable"], "editor": "ops"},
        "metadata": {"reason": "fix"},
    }

    graph.update_state(config, {"n": 9})
    meta = graph.get_state(thread).metadata

    assert meta["source"] == "update"
    assert meta["reason"] == "fix"
    assert meta["editor"] == "ops"


def test_new_input_at_past_checkpoint_branches_with_an_input_checkpoint(saver, thread):
    graph, before_b = run_abc(saver, thread)

    out = graph.invoke({"log": ["new"]}, before_b.config)

    assert out == {"log": ["a", "new", "a", "b", "c"]}
    branch_input = next(
        s
        for s in history(graph, thread)
        if s.metadata["source"] == "input" and s.metadata["step"] == 2
    )
    assert checkpoint_id(branch_input.parent_config) == checkpoint_id(before_b.config)


def test_fork_into_a_new_thread_from_past_values(saver, thread):
    graph, before_b = run_abc(saver, thread)
    new_thread = {"configurable": {"thread_id": thread["configurable"]["thread_id"] + "-fork"}}

    out = graph.invoke(before_b.values, new_thread)

    assert out == {"log": ["a", "a", "b", "c"]}
    assert graph.get_state(thread).values == {"log": ["a", "b", "c"]}


def test_async_replay_and_update(saver, thread):
    calls: Counter[str] = Counter()
    graph, before_b = run_abc(saver, thread, calls)

    async def main() -> dict:
        branch = await graph.aupdate_state(before_b.config, {"log": ["async-edit"]})
        return await graph.ainvoke(None, branch)

    assert asyncio.run(main()) == {"log": ["a", "async-edit", "b", "c"]}
    assert calls["b"] == 2


def test_replay_from_a_static_interrupt_checkpoint_does_not_pause_again(saver, thread):
    calls: Counter[str] = Counter()
    graph = chain("a", "b", calls=calls).compile(checkpointer=saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread)
    graph.invoke(None, thread)
    paused = next(s for s in history(graph, thread) if s.next == ("b",))

    assert graph.invoke(None, paused.config) == {"log": ["a", "b"]}
    assert calls == Counter({"a": 1, "b": 2})
    assert graph.get_state(thread).next == ()


def test_invoking_the_head_checkpoint_by_id_is_a_plain_resume(saver, thread):
    graph, before_b = run_abc(saver, thread)
    branch = graph.update_state(before_b.config, {"log": ["edited"]})

    graph.invoke(None, branch)

    assert steps(graph, thread)[:4] == [("loop", 4), ("loop", 3), ("update", 2), ("loop", 3)]
    assert "fork" not in {source for source, _ in steps(graph, thread)}
