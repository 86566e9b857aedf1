"""The functional API: ``@entrypoint`` and ``@task`` (LangGraph's ``langgraph.func``).

Expected values are what LangGraph 1.2.22 gives for the same code (run in the bench
environment); interrupt ids are tether's own and are not compared.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any, TypedDict

import pytest

from tether.config import get_stream_writer
from tether.errors import ConfigurationError
from tether.func import entrypoint, task
from tether.graph import START, StateGraph
from tether.runtime import Runtime
from tether.store.memory import InMemoryStore
from tether.types import Command, Interrupt, RetryPolicy, StreamWriter, interrupt


def _no_ids(chunks: list[Any]) -> list[Any]:
    """Stream chunks with each interrupt reduced to its value."""
    out = []
    for chunk in chunks:
        if isinstance(chunk, dict) and "__interrupt__" in chunk:
            out.append({"__interrupt__": [i.value for i in chunk["__interrupt__"]]})
        else:
            out.append(chunk)
    return out


def test_essay_workflow_interrupts_and_resumes_without_rewriting(saver, thread):
    """The functional-API page's essay example. LangGraph 1.2.22 streams
    ``[{'write_essay': 'An essay about topic: cat'}, {'__interrupt__': (Interrupt(...),)}]`` then
    ``[{'workflow': {'essay': ..., 'is_approved': True}}]`` and writes the essay once."""
    calls: list[str] = []

    @task
    def write_essay(topic: str) -> str:
        calls.append(topic)
        return f"An essay about topic: {topic}"

    @entrypoint(checkpointer=saver)
    def workflow(topic: str) -> dict[str, Any]:
        essay = write_essay("cat").result()
        is_approved = interrupt({"essay": essay, "action": "Please approve/reject the essay"})
        return {"essay": essay, "is_approved": is_approved}

    first = list(workflow.stream("cat", thread))
    assert _no_ids(first) == [
        {"write_essay": "An essay about topic: cat"},
        {
            "__interrupt__": [
                {"essay": "An essay about topic: cat", "action": "Please approve/reject the essay"}
            ]
        },
    ]
    assert isinstance(first[1]["__interrupt__"][0], Interrupt)
    assert list(workflow.stream(Command(resume=True), thread)) == [
        {"workflow": {"essay": "An essay about topic: cat", "is_approved": True}}
    ]
    assert calls == ["cat"]


def test_parallel_tasks_and_an_interrupt_inside_a_task(saver, thread):
    """LangGraph 1.2.22: updates ``{'add_one': 1}``, ``{'add_one': 2}``, ``{'add_one': 3}``, then
    the interrupt; the paused thread's values are None with ``next == ('wf',)``; the resume streams
    ``{'ask': 'yes'}`` and the entrypoint's return; history is step 0 (loop) over step -1 (input).
    """
    runs: Counter[str] = Counter()

    @task
    def add_one(x: int) -> int:
        runs[f"add_one:{x}"] += 1
        return x + 1

    @task
    def ask(x: int) -> Any:
        runs["ask"] += 1
        return interrupt({"q": x})

    @entrypoint(checkpointer=saver)
    def wf(n: int) -> dict[str, Any]:
        futures = [add_one(i) for i in range(n)]
        results = [f.result() for f in futures]
        return {"res": results, "a": ask(sum(results)).result()}

    first = _no_ids(list(wf.stream(3, thread, stream_mode="updates")))
    assert sorted(first[:3], key=lambda c: c["add_one"]) == [
        {"add_one": 1},
        {"add_one": 2},
        {"add_one": 3},
    ]
    assert first[3:] == [{"__interrupt__": [{"q": 6}]}]
    paused = wf.get_state(thread)
    assert paused.values is None
    assert paused.next == ("wf",)
    assert [i.value for i in paused.interrupts] == [{"q": 6}]

    second = list(wf.stream(Command(resume="yes"), thread, stream_mode="updates"))
    assert second == [{"ask": "yes"}, {"wf": {"res": [1, 2, 3], "a": "yes"}}]
    assert runs == {"add_one:0": 1, "add_one:1": 1, "add_one:2": 1, "ask": 2}
    assert [
        (s.metadata["source"], s.metadata["step"], s.next) for s in wf.get_state_history(thread)
    ] == [
        ("loop", 0, ()),
        ("input", -1, ("wf",)),
    ]


def test_previous_and_final_keep_a_value_across_runs(saver, thread):
    """The functional-API page's ``entrypoint.final`` example: LangGraph 1.2.22 returns 0 then 6,
    and ``get_state(config).values`` is 6 (what the last run returned)."""

    @entrypoint(checkpointer=saver)
    def my_workflow(number: int, *, previous: Any = None) -> entrypoint.final[int, int]:
        previous = previous or 0
        return entrypoint.final(value=previous, save=2 * number)

    assert my_workflow.invoke(3, thread) == 0
    assert my_workflow.invoke(1, thread) == 6
    assert my_workflow.get_state(thread).values == 6


@dataclasses.dataclass
class Ctx:
    user: str


def test_injected_config_writer_store_runtime_and_previous(saver, thread):
    """LangGraph 1.2.22 streams ``('custom', {'got': 1})``, then the entrypoint's update and values;
    the second run sees the first run's return as ``previous`` and ``runtime.previous``."""
    store = InMemoryStore()
    store.put(("u",), "k", {"v": 1})

    @entrypoint(checkpointer=saver, store=store, context_schema=Ctx)
    def inj(x: int, *, config, writer, store, runtime: Runtime[Ctx], previous=None):  # noqa: ANN001
        writer({"got": x})
        return {
            "thread": config["configurable"]["thread_id"],
            "item": store.get(("u",), "k").value,
            "user": runtime.context.user,
            "prev": previous,
            "rprev": runtime.previous,
        }

    first = {"thread": thread["configurable"]["thread_id"], "item": {"v": 1}, "user": "ann"}
    first.update(prev=None, rprev=None)
    chunks = list(
        inj.stream(1, thread, stream_mode=["custom", "updates", "values"], context=Ctx("ann"))
    )
    assert chunks == [("custom", {"got": 1}), ("updates", {"inj": first}), ("values", first)]
    second = inj.invoke(2, thread, context=Ctx("bob"))
    assert second["user"] == "bob"
    assert second["prev"] == first
    assert second["rprev"] == first


def test_task_retry_policy_retries_the_call():
    """LangGraph 1.2.22: a task failing twice with ValueError under ``max_attempts=3`` returns
    on the third attempt (``40``, attempts ``[4, 4, 4]``)."""
    attempts: list[int] = []
    policy = RetryPolicy(max_attempts=3, initial_interval=0.01, jitter=False, retry_on=ValueError)

    @task(retry_policy=policy)
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 3:
            raise ValueError("boom")
        return x * 10

    @entrypoint()
    def retry_wf(x: int) -> int:
        return flaky(x).result()

    assert retry_wf.invoke(4) == 40
    assert attempts == [4, 4, 4]


def test_async_entrypoint_gathers_async_tasks(saver, thread):
    """LangGraph 1.2.22: ``[2, 4, 6]``, then a run streaming ``{'slow_double': 8}``,
    ``{'aw': [8]}``."""

    @task
    async def slow_double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    @entrypoint(checkpointer=saver)
    async def aw(xs: list[int]) -> list[int]:
        return list(await asyncio.gather(*[slow_double(x) for x in xs]))

    async def main() -> tuple[Any, Any]:
        return await aw.ainvoke([1, 2, 3], thread), [c async for c in aw.astream([4], thread)]

    assert asyncio.run(main()) == ([2, 4, 6], [{"slow_double": 8}, {"aw": [8]}])


def test_a_task_called_from_a_graph_node(saver, thread):
    """LangGraph 1.2.22 streams ``{'inc': 2}`` then ``{'node': {'x': 2}}``."""

    class S(TypedDict):
        x: int

    @task
    def inc(x: int) -> int:
        return x + 1

    def node(state: S) -> dict[str, int]:
        return {"x": inc(state["x"]).result()}

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=saver)
    assert list(graph.stream({"x": 1}, thread)) == [{"inc": 2}, {"node": {"x": 2}}]
    assert graph.get_state(thread).values == {"x": 2}


@pytest.mark.tether_only
def test_a_task_called_outside_a_workflow_says_where_to_call_it():
    """LangGraph 1.2.22 raises ``RuntimeError: Called get_config outside of a runnable context``."""

    @task
    def lonely(x: int) -> int:
        return x

    with pytest.raises(ConfigurationError, match="inside an @entrypoint function"):
        lonely(1)


@pytest.mark.tether_only
def test_an_entrypoint_needs_an_input_parameter():
    """LangGraph 1.2.22 raises ``ValueError: Entrypoint function must have at least one
    parameter``."""
    with pytest.raises(ConfigurationError, match="first parameter"):

        @entrypoint()
        def noarg() -> int:
            return 1


def test_invoke_of_a_paused_workflow_returns_only_the_interrupts(saver, thread):
    """LangGraph 1.2.22 returns ``{'__interrupt__': [Interrupt('q?')]}`` when a run pauses and
    its output is not a dict (here None, then the earlier return ``[1]``), and the resume value
    once answered."""

    @entrypoint(checkpointer=saver)
    def wf(x: int) -> Any:
        return interrupt("q?")

    outputs = [
        wf.invoke(1, thread),
        wf.invoke(Command(resume=[1]), thread),
        wf.invoke(2, thread),
        wf.invoke(Command(resume="s"), thread),
    ]
    assert [_no_ids([o])[0] for o in outputs] == [
        {"__interrupt__": ["q?"]},
        [1],
        {"__interrupt__": ["q?"]},
        "s",
    ]


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
@pytest.mark.parametrize("driver", ["invoke", "ainvoke"])
def test_finished_tasks_do_not_run_again_after_an_interrupt(saver, thread, durability, driver):
    """Whatever the durability and driver, the resume re-runs only the interrupted task, and a
    task calling a task keeps both results (LangGraph 1.2.22 gives the same counts)."""
    runs: Counter[str] = Counter()

    @task
    def inner(x: int) -> int:
        runs["inner"] += 1
        return x * 2

    @task
    def outer(x: int) -> int:
        runs["outer"] += 1
        return inner(x).result() + 1

    @task
    def ask(x: int) -> Any:
        runs["ask"] += 1
        return interrupt(x)

    @entrypoint(checkpointer=saver)
    def wf(x: int) -> list[Any]:
        o = outer(x).result()
        return [o, ask(o).result()]

    def run(value: Any) -> Any:
        if driver == "invoke":
            return wf.invoke(value, thread, durability=durability)
        return asyncio.run(wf.ainvoke(value, thread, durability=durability))

    assert _no_ids([run(1)]) == [{"__interrupt__": [3]}]
    assert run(Command(resume="ok")) == [3, "ok"]
    assert runs == {"inner": 1, "outer": 1, "ask": 2}


class Urls(TypedDict, total=False):
    urls: list[str]
    results: list[str]


def test_tasks_in_a_graph_node_are_not_repeated_after_the_node_fails(saver, thread):
    """The durable-execution page's "tasks in nodes" shape: a node fans out ``_make_request``
    tasks and one fails. LangGraph 1.2.22 raises the ConnectionError, and ``invoke(None)``
    fetches only ``c`` again: fetched ``['a', 'b', 'c', 'c']``."""
    fetched: list[str] = []
    failing = {"c"}

    @task
    def _make_request(url: str) -> str:
        fetched.append(url)
        if url in failing:
            raise ConnectionError("down")
        return f"<html {url}>"

    def call_api(state: Urls) -> dict[str, Any]:
        requests = [_make_request(url) for url in state["urls"]]
        return {"results": [r.result() for r in requests]}

    builder = StateGraph(Urls)
    builder.add_node("call_api", call_api)
    builder.add_edge(START, "call_api")
    graph = builder.compile(checkpointer=saver)

    with pytest.raises(ConnectionError):
        graph.invoke({"urls": ["a", "b", "c"]}, thread)
    failing.clear()
    assert graph.invoke(None, thread) == {
        "urls": ["a", "b", "c"],
        "results": ["<html a>", "<html b>", "<html c>"],
    }
    assert sorted(fetched) == ["a", "b", "c", "c"]


def test_task_calls_show_in_the_tasks_and_custom_streams(saver, thread):
    """LangGraph 1.2.22 streams, for a task ``t`` called with 1: a ``tasks`` start event with
    input ``((1,), {})`` and triggers ``('__pregel_push',)``, the task's custom chunk, the update
    ``{'t': 2}`` and a result event ``{'__return__': 2}``; the entrypoint's own start event has
    input ``1``."""

    @task
    def t(x: int) -> int:
        get_stream_writer()({"in_task": x})
        return x + 1

    @entrypoint(checkpointer=saver)
    def wf(x: int, *, writer: StreamWriter) -> int:
        writer("start")
        return t(x).result()

    chunks = list(wf.stream(1, thread, stream_mode=["tasks", "custom", "updates"]))

    starts = [(d["name"], d["input"], list(d["triggers"])) for m, d in chunks if "input" in d]
    assert starts == [("wf", 1, ["__start__"]), ("t", ((1,), {}), ["__pregel_push"])]
    ends = [
        (d["name"], d["result"], d["error"]) for m, d in chunks if m == "tasks" and "result" in d
    ]
    assert ends[0] == ("t", {"__return__": 2}, None)
    assert [d for m, d in chunks if m == "custom"] == ["start", {"in_task": 1}]
    assert [d for m, d in chunks if m == "updates"] == [{"t": 2}, {"wf": 2}]


def test_an_entrypoint_as_a_subgraph_node(saver, thread):
    """LangGraph 1.2.22: ``{'x': 4}``; streamed with subgraphs, the task's and the entrypoint's
    updates come under the node's namespace, then the parent's update."""

    @task
    def double(x: int) -> int:
        return x * 2

    @entrypoint()
    def inner(state: dict[str, Any]) -> dict[str, Any]:
        return {"x": double(state["x"]).result()}

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("inner", inner)
    builder.add_edge(START, "inner")
    graph = builder.compile(checkpointer=saver)

    assert graph.invoke({"x": 2}, thread) == {"x": 4}
    other = {"configurable": {"thread_id": f"{thread['configurable']['thread_id']}-2"}}
    chunks = list(graph.stream({"x": 3}, other, subgraphs=True))
    assert [(len(ns), ns[0].split(":")[0] if ns else "", data) for ns, data in chunks] == [
        (1, "inner", {"double": 6}),
        (1, "inner", {"inner": {"x": 6}}),
        (0, "", {"inner": {"x": 6}}),
    ]


def test_values_stream_of_a_paused_workflow_shows_only_the_interrupt(saver, thread):
    """An entrypoint's state is its return value, not a dict. Streaming
    ``["values", "updates"]`` to an ``interrupt()``, LangGraph 1.2.22 yields
    ``('updates', {'t': 'cats!'})``, ``('updates', {'__interrupt__': (...,)})`` and
    ``('values', {'__interrupt__': (...,)})``; the resume returns ``'cats!yes'``."""

    @task
    def t(x: str) -> str:
        return x + "!"

    @entrypoint(checkpointer=saver)
    def wf(x: str) -> str:
        return t(x).result() + interrupt("ok?")

    chunks = list(wf.stream("cats", thread, stream_mode=["values", "updates"]))
    assert [(mode, _no_ids([chunk])[0]) for mode, chunk in chunks] == [
        ("updates", {"t": "cats!"}),
        ("updates", {"__interrupt__": ["ok?"]}),
        ("values", {"__interrupt__": ["ok?"]}),
    ]
    assert wf.invoke(Command(resume="yes"), thread) == "cats!yes"
