"""Failures inside a run: what is saved, what re-runs on resume, retries, recursion limit."""

import asyncio
import contextlib
import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest

from tether.errors import EmptyInputError, GraphRecursionError, InvalidUpdateError
from tether.graph import START, StateGraph
from tether.types import RetryPolicy

from ._support import LogState, appender, chain, history, steps


class Flaky:
    """A node that raises ``error`` while ``failing`` is true, counting every call."""

    def __init__(self, name: str, error: Exception) -> None:
        self.name = name
        self.error = error
        self.failing = True
        self.calls = 0

    def __call__(self, state: Any) -> dict[str, Any]:
        self.calls += 1
        if self.failing:
            raise self.error
        return {"log": [self.name]}


def fan_out_with_failure(saver: Any, side_effects: Counter[str], bad: Flaky) -> Any:
    builder = StateGraph(LogState)
    builder.add_node("ok", appender("ok", side_effects))
    builder.add_node("bad", bad)
    builder.add_node("join", appender("join", side_effects))
    builder.add_edge(START, "ok")
    builder.add_edge(START, "bad")
    builder.add_edge(["ok", "bad"], "join")
    return builder.compile(checkpointer=saver)


def test_failing_parallel_node_raises_its_own_exception(saver, thread):
    graph = fan_out_with_failure(saver, Counter(), Flaky("bad", ValueError("boom")))
    with pytest.raises(ValueError, match="boom"):
        graph.invoke({"log": []}, thread)


def test_failed_step_writes_no_loop_checkpoint(saver, thread):
    graph = fan_out_with_failure(saver, Counter(), Flaky("bad", ValueError("boom")))
    with pytest.raises(ValueError):
        graph.invoke({"log": []}, thread)
    assert steps(graph, thread) == [("loop", 0), ("input", -1)]


def test_failed_step_state_shows_finished_sibling_and_error(saver, thread):
    graph = fan_out_with_failure(saver, Counter(), Flaky("bad", ValueError("boom")))
    with pytest.raises(ValueError):
        graph.invoke({"log": []}, thread)

    snapshot = graph.get_state(thread)

    assert snapshot.next == ("bad",)
    assert snapshot.values == {"log": ["ok"]}
    tasks = {t.name: t for t in snapshot.tasks}
    assert set(tasks) == {"ok", "bad"}
    assert tasks["ok"].error is None
    assert tasks["ok"].result == {"log": ["ok"]}
    assert tasks["bad"].error is not None
    assert "boom" in str(tasks["bad"].error)


def test_resume_after_fix_does_not_rerun_the_finished_sibling(saver, thread):
    side_effects: Counter[str] = Counter()
    bad = Flaky("bad", ValueError("boom"))
    graph = fan_out_with_failure(saver, side_effects, bad)
    with pytest.raises(ValueError):
        graph.invoke({"log": []}, thread)

    bad.failing = False
    out = graph.invoke(None, thread)

    assert out == {"log": ["bad", "ok", "join"]}
    assert side_effects == Counter({"ok": 1, "join": 1})
    assert bad.calls == 2
    assert steps(graph, thread) == [("loop", 2), ("loop", 1), ("loop", 0), ("input", -1)]


def test_failing_sequential_node_is_retried_by_invoke_none(saver, thread):
    calls: Counter[str] = Counter()
    bad = Flaky("b", RuntimeError("down"))
    builder = StateGraph(LogState)
    builder.add_node("a", appender("a", calls))
    builder.add_node("b", bad)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(RuntimeError):
        graph.invoke({"log": []}, thread)
    assert graph.get_state(thread).next == ("b",)

    bad.failing = False
    assert graph.invoke(None, thread) == {"log": ["a", "b"]}
    assert calls["a"] == 1


def test_failure_and_recovery_async(saver, thread):
    side_effects: Counter[str] = Counter()
    failing = {"on": True}
    ok_done = asyncio.Event()

    async def ok(state: LogState) -> dict[str, Any]:
        side_effects["ok"] += 1
        ok_done.set()
        return {"log": ["ok"]}

    async def bad(state: LogState) -> dict[str, Any]:
        # Fail only once the sibling has finished, so its writes are saved (no race).
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(ok_done.wait(), 1)
        if failing["on"]:
            raise ValueError("boom")
        return {"log": ["bad"]}

    builder = StateGraph(LogState)
    builder.add_node("ok", ok)
    builder.add_node("bad", bad)
    builder.add_edge(START, "ok")
    builder.add_edge(START, "bad")
    graph = builder.compile(checkpointer=saver)

    async def main() -> dict:
        with pytest.raises(ValueError, match="boom"):
            await graph.ainvoke({"log": []}, thread)
        failing["on"] = False
        return await graph.ainvoke(None, thread)

    assert asyncio.run(main()) == {"log": ["bad", "ok"]}
    assert side_effects["ok"] == 1


def retrying_graph(node: Flaky, policy: RetryPolicy) -> Any:
    builder = StateGraph(LogState)
    builder.add_node("flaky", node, retry_policy=policy)
    builder.add_edge(START, "flaky")
    return builder


class FailTimes(Flaky):
    def __init__(self, times: int, error: Exception) -> None:
        super().__init__("flaky", error)
        self.times = times

    def __call__(self, state: Any) -> dict[str, Any]:
        self.failing = self.calls < self.times
        return super().__call__(state)


FAST = {"initial_interval": 0.01, "jitter": False}


def test_retry_policy_retries_then_succeeds(saver, thread):
    node = FailTimes(2, ConnectionError("flaky network"))
    graph = retrying_graph(node, RetryPolicy(max_attempts=3, **FAST)).compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["flaky"]}
    assert node.calls == 3
    assert steps(graph, thread) == [("loop", 1), ("loop", 0), ("input", -1)]


def test_retry_policy_gives_up_after_max_attempts(saver, thread):
    node = FailTimes(10, ConnectionError("still down"))
    graph = retrying_graph(node, RetryPolicy(max_attempts=2, **FAST)).compile(checkpointer=saver)

    with pytest.raises(ConnectionError, match="still down"):
        graph.invoke({"log": []}, thread)
    assert node.calls == 2


def test_retry_policy_does_not_retry_programming_errors_by_default(saver, thread):
    node = FailTimes(10, ValueError("bad input"))
    graph = retrying_graph(node, RetryPolicy(max_attempts=5, **FAST)).compile(checkpointer=saver)

    with pytest.raises(ValueError):
        graph.invoke({"log": []}, thread)
    assert node.calls == 1


def test_retry_policy_retry_on_selects_exception_types(saver, thread):
    node = FailTimes(1, KeyError("missing"))
    policy = RetryPolicy(max_attempts=3, retry_on=KeyError, **FAST)
    graph = retrying_graph(node, policy).compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread) == {"log": ["flaky"]}
    assert node.calls == 2


def test_retry_async(saver, thread):
    node = FailTimes(2, ConnectionError("flaky"))
    graph = retrying_graph(node, RetryPolicy(max_attempts=3, **FAST)).compile(checkpointer=saver)
    assert asyncio.run(graph.ainvoke({"log": []}, thread)) == {"log": ["flaky"]}
    assert node.calls == 3


def looping_graph() -> StateGraph:
    builder = StateGraph(LogState)
    builder.add_node("spin", appender("spin"))
    builder.add_edge(START, "spin")
    builder.add_conditional_edges("spin", lambda s: "spin")
    return builder


def test_recursion_limit_raises_graph_recursion_error(saver, thread):
    graph = looping_graph().compile(checkpointer=saver)

    with pytest.raises(GraphRecursionError, match="5") as caught:
        graph.invoke({"log": []}, {**thread, "recursion_limit": 5})

    assert isinstance(caught.value, RecursionError)
    assert len(history(graph, thread)) == 7
    assert graph.get_state(thread).values["log"] == ["spin"] * 5


def test_recursion_limit_async():
    graph = looping_graph().compile()
    with pytest.raises(GraphRecursionError):
        asyncio.run(graph.ainvoke({"log": []}, {"recursion_limit": 3}))


class Verdict(TypedDict):
    verdict: str
    notes: Annotated[list[str], operator.add]


def test_two_writes_to_a_last_value_key_in_one_step_are_invalid(saver, thread):
    builder = StateGraph(Verdict)
    builder.add_node("judge_a", lambda s: {"verdict": "yes"})
    builder.add_node("judge_b", lambda s: {"verdict": "no"})
    builder.add_edge(START, "judge_a")
    builder.add_edge(START, "judge_b")
    graph = builder.compile(checkpointer=saver)

    with pytest.raises(InvalidUpdateError, match="verdict"):
        graph.invoke({"verdict": "", "notes": []}, thread)


def test_invoke_none_on_a_new_thread_is_empty_input(saver, thread):
    graph = chain("a").compile(checkpointer=saver)
    with pytest.raises(EmptyInputError):
        graph.invoke(None, thread)
