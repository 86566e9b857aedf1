"""Node and task caching: ``CachePolicy`` with ``compile(cache=InMemoryCache())``.

Expected values are LangGraph 1.2.22's output for the same code (run in the bench environment).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, TypedDict

import pytest

from tether.cache.memory import InMemoryCache
from tether.errors import ConfigurationError
from tether.func import entrypoint, task
from tether.graph import START, StateGraph
from tether.types import CachePolicy


class S(TypedDict, total=False):
    x: int
    result: list[int]


def _graph(calls: list[int], policy: CachePolicy) -> StateGraph:
    def expensive(state: S) -> dict[str, Any]:
        calls.append(state["x"])
        return {"result": [state["x"] * 2]}

    builder = StateGraph(S)
    builder.add_node("expensive", expensive, cache_policy=policy)
    builder.add_edge(START, "expensive")
    return builder


def test_a_cached_node_replays_its_writes_and_is_marked_cached():
    """LangGraph 1.2.22 streams ``{'expensive': {'result': [10]}}``, then for the same input
    ``{'expensive': {'result': [10]}, '__metadata__': {'cached': True}}`` without running the
    node; a new input runs it; ``clear_cache()`` forgets every entry."""
    calls: list[int] = []
    graph = _graph(calls, CachePolicy(ttl=3)).compile(cache=InMemoryCache())

    assert list(graph.stream({"x": 5}, stream_mode="updates")) == [{"expensive": {"result": [10]}}]
    assert list(graph.stream({"x": 5}, stream_mode="updates")) == [
        {"expensive": {"result": [10]}, "__metadata__": {"cached": True}}
    ]
    assert list(graph.stream({"x": 6}, stream_mode=["updates", "values"])) == [
        ("values", {"x": 6}),
        ("updates", {"expensive": {"result": [12]}}),
        ("values", {"x": 6, "result": [12]}),
    ]
    assert graph.invoke({"x": 6}) == {"x": 6, "result": [12]}
    assert calls == [5, 6]

    graph.clear_cache()
    assert graph.invoke({"x": 5}) == {"x": 5, "result": [10]}
    assert calls == [5, 6, 5]


def test_a_cached_task_reports_its_start_but_no_result():
    """LangGraph 1.2.22's ``tasks`` stream shows only the start event of a cached node."""
    graph = _graph([], CachePolicy()).compile(cache=InMemoryCache())
    graph.invoke({"x": 5})

    events = list(graph.stream({"x": 5}, stream_mode="tasks"))

    assert [(e["name"], "input" in e) for e in events] == [("expensive", True)]


def test_key_func_decides_which_inputs_share_an_entry():
    """LangGraph 1.2.22: with ``key_func=lambda s: str(s['x'] % 2)``, inputs 1 and 3 share an
    entry: both return ``{'result': [2]}`` and the node ran once."""
    calls: list[int] = []
    policy = CachePolicy(key_func=lambda s: str(s["x"] % 2))
    graph = _graph(calls, policy).compile(cache=InMemoryCache())

    assert graph.invoke({"x": 1}) == {"x": 1, "result": [2]}
    assert graph.invoke({"x": 3}) == {"x": 3, "result": [2]}
    assert calls == [1]


def test_cached_node_with_a_checkpointer_still_checkpoints_every_step(saver):
    """LangGraph 1.2.22: a second thread hit by the cache gets the same output and the same
    three checkpoints (input -1, loop 0, loop 1)."""
    calls: list[int] = []
    graph = _graph(calls, CachePolicy()).compile(cache=InMemoryCache(), checkpointer=saver)
    one = {"configurable": {"thread_id": "one"}}
    two = {"configurable": {"thread_id": "two"}}

    assert graph.invoke({"x": 7}, one) == graph.invoke({"x": 7}, two) == {"x": 7, "result": [14]}
    assert calls == [7]
    steps = [(s.metadata["source"], s.metadata["step"]) for s in graph.get_state_history(two)]
    assert steps == [("loop", 1), ("loop", 0), ("input", -1)]


def test_cached_tasks_of_an_entrypoint():
    """LangGraph 1.2.22: the second run streams ``{'slow': 3, '__metadata__': {'cached': True}}``,
    ``{'slow': 6, '__metadata__': {'cached': True}}``, ``{'wf': 9}``; each task ran once."""
    calls: list[int] = []

    @task(cache_policy=CachePolicy())
    def slow(x: int) -> int:
        calls.append(x)
        return x * 3

    @entrypoint(cache=InMemoryCache())
    def wf(x: int) -> int:
        return slow(x).result() + slow(x + 1).result()

    assert list(wf.stream(1, stream_mode="updates")) == [{"slow": 3}, {"slow": 6}, {"wf": 9}]
    assert list(wf.stream(1, stream_mode="updates")) == [
        {"slow": 3, "__metadata__": {"cached": True}},
        {"slow": 6, "__metadata__": {"cached": True}},
        {"wf": 9},
    ]
    assert calls == [1, 2]


def test_async_runs_use_the_cache_too():
    calls: list[int] = []
    graph = _graph(calls, CachePolicy()).compile(cache=InMemoryCache())

    async def twice() -> list[Any]:
        return [await graph.ainvoke({"x": 2}), await graph.ainvoke({"x": 2})]

    assert asyncio.run(twice()) == [{"x": 2, "result": [4]}] * 2
    assert calls == [2]


def test_in_memory_cache_expires_entries_and_clears_namespaces():
    cache = InMemoryCache()
    cache.set({(("a",), "k"): ({"v": 1}, None), (("b",), "k"): ([1, 2], 0)})

    assert cache.get([(("a",), "k"), (("b",), "k")]) == {(("a",), "k"): {"v": 1}}
    cache.clear([("a",)])
    assert cache.get([(("a",), "k")]) == {}


@pytest.mark.tether_only
def test_clear_cache_without_a_cache_says_how_to_add_one():
    """LangGraph 1.2.22 raises ``ValueError: No cache is set for this graph``."""
    graph = _graph([], CachePolicy()).compile()
    with pytest.raises(ConfigurationError, match="cache=InMemoryCache"):
        graph.clear_cache()


@pytest.mark.tether_only
def test_a_key_func_returning_a_non_string_is_refused():
    graph = _graph([], CachePolicy(key_func=lambda s: s["x"])).compile(cache=InMemoryCache())
    with pytest.raises(ConfigurationError, match="must return a str or bytes"):
        graph.invoke({"x": 1})


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Shapes(TypedDict, total=False):
    start: Point
    moved: Point


def test_cached_writes_may_hold_classes_of_the_state_schema():
    """A dataclass named in the state schema is cached like it is checkpointed (no pickle)."""
    calls: list[Point] = []

    def move(state: Shapes) -> dict[str, Any]:
        calls.append(state["start"])
        return {"moved": Point(state["start"].x + 1, state["start"].y)}

    builder = StateGraph(Shapes)
    builder.add_node("move", move, cache_policy=CachePolicy(key_func=lambda s: repr(s["start"])))
    builder.add_edge(START, "move")
    graph = builder.compile(cache=InMemoryCache())

    first = graph.invoke({"start": Point(1, 2)})
    second = graph.invoke({"start": Point(1, 2)})
    assert first == second == {"start": Point(1, 2), "moved": Point(2, 2)}
    assert calls == [Point(1, 2)]
