"""Human in the loop: static interrupts (before/after) and dynamic interrupt() + Command(resume)."""

import asyncio
import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest

from tether.graph import START, StateGraph
from tether.types import Command, interrupt

from ._support import chain, history, steps


class Approval(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    approved: bool


# --- static interrupts -------------------------------------------------------------------


def test_interrupt_before_pauses_and_invoke_none_resumes(saver, thread):
    calls: Counter[str] = Counter()
    graph = chain("a", "b", "c", calls=calls).compile(checkpointer=saver, interrupt_before=["b"])

    out = graph.invoke({"log": []}, thread)

    assert out == {"log": ["a"]}
    snapshot = graph.get_state(thread)
    assert snapshot.next == ("b",)
    assert [t.name for t in snapshot.tasks] == ["b"]
    assert snapshot.interrupts == ()
    assert calls["b"] == 0
    assert len(history(graph, thread)) == 3

    assert graph.invoke(None, thread) == {"log": ["a", "b", "c"]}
    assert steps(graph, thread) == [
        ("loop", 3),
        ("loop", 2),
        ("loop", 1),
        ("loop", 0),
        ("input", -1),
    ]


def test_interrupt_after_pauses_after_the_node_ran(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver, interrupt_after=["a"])

    assert graph.invoke({"log": []}, thread) == {"log": ["a"]}
    assert graph.get_state(thread).next == ("b",)
    assert graph.invoke(None, thread) == {"log": ["a", "b"]}


def test_interrupts_can_be_given_at_invoke_time(saver, thread):
    graph = chain("a", "b", "c").compile(checkpointer=saver)

    assert graph.invoke({"log": []}, thread, interrupt_before=["c"]) == {"log": ["a", "b"]}
    assert graph.get_state(thread).next == ("c",)
    assert graph.invoke(None, thread) == {"log": ["a", "b", "c"]}


def test_interrupt_after_at_invoke_time(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver)
    assert graph.invoke({"log": []}, thread, interrupt_after=["a"]) == {"log": ["a"]}
    assert graph.invoke(None, thread) == {"log": ["a", "b"]}


def test_static_interrupt_fires_again_on_the_next_run(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver, interrupt_before=["b"])
    graph.invoke({"log": []}, thread)
    graph.invoke(None, thread)

    assert graph.invoke({"log": ["second"]}, thread) == {"log": ["a", "b", "second", "a"]}
    assert graph.get_state(thread).next == ("b",)


def test_update_state_while_paused_then_resume(saver, thread):
    seen: list[Any] = []

    def approval_node(state: Approval) -> dict[str, Any]:
        seen.append(state.get("approved"))
        return {"log": ["approved" if state.get("approved") else "rejected"]}

    builder = StateGraph(Approval)
    builder.add_node("draft", lambda s: {"log": ["draft"]})
    builder.add_node("approval_node", approval_node)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "approval_node")
    graph = builder.compile(checkpointer=saver, interrupt_before=["approval_node"])

    graph.invoke({"log": []}, thread)
    graph.update_state(thread, {"approved": True, "log": ["manager"]})
    snapshot = graph.get_state(thread)
    assert snapshot.next == ("approval_node",)
    assert snapshot.metadata["source"] == "update"

    assert graph.invoke(None, thread) == {
        "log": ["draft", "manager", "approved"],
        "approved": True,
    }
    assert seen == [True]


def test_static_interrupt_stream_yields_an_empty_interrupt_update(saver, thread):
    graph = chain("a", "b").compile(checkpointer=saver, interrupt_before=["b"])
    chunks = list(graph.stream({"log": []}, thread, stream_mode="updates"))
    assert chunks == [{"a": {"log": ["a"]}}, {"__interrupt__": ()}]


# --- dynamic interrupts ------------------------------------------------------------------


def ask_graph(saver: Any, calls: Counter[str]) -> Any:
    def ask(state: Approval) -> dict[str, Any]:
        calls["ask"] += 1
        answer = interrupt({"question": "approve?"})
        return {"log": [f"answer={answer}"]}

    builder = StateGraph(Approval)
    builder.add_node("prepare", lambda s: {"log": ["prepare"]})
    builder.add_node("ask", ask)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "ask")
    return builder.compile(checkpointer=saver)


def test_interrupt_returns_interrupt_key_in_invoke_output(saver, thread):
    graph = ask_graph(saver, Counter())

    out = graph.invoke({"log": []}, thread)

    assert out["log"] == ["prepare"]
    (pending,) = out["__interrupt__"]
    assert pending.value == {"question": "approve?"}
    assert isinstance(pending.id, str) and pending.id


def test_interrupt_is_visible_in_get_state(saver, thread):
    graph = ask_graph(saver, Counter())
    out = graph.invoke({"log": []}, thread)

    snapshot = graph.get_state(thread)

    assert snapshot.next == ("ask",)
    assert [i.value for i in snapshot.interrupts] == [{"question": "approve?"}]
    assert snapshot.interrupts[0].id == out["__interrupt__"][0].id
    (task,) = snapshot.tasks
    assert task.name == "ask"
    assert [i.id for i in task.interrupts] == [out["__interrupt__"][0].id]


def test_resume_value_is_returned_by_interrupt_and_node_reruns(saver, thread):
    calls: Counter[str] = Counter()
    graph = ask_graph(saver, calls)
    graph.invoke({"log": []}, thread)

    out = graph.invoke(Command(resume="yes"), thread)

    assert out == {"log": ["prepare", "answer=yes"]}
    assert "__interrupt__" not in out
    assert calls["ask"] == 2
    assert graph.get_state(thread).interrupts == ()
    assert graph.get_state(thread).next == ()


def test_interrupted_step_writes_no_checkpoint_until_resumed(saver, thread):
    graph = ask_graph(saver, Counter())
    graph.invoke({"log": []}, thread)
    assert steps(graph, thread) == [("loop", 1), ("loop", 0), ("input", -1)]

    graph.invoke(Command(resume="ok"), thread)
    assert steps(graph, thread) == [("loop", 2), ("loop", 1), ("loop", 0), ("input", -1)]


def test_several_interrupts_in_one_node_are_resumed_in_order(saver, thread):
    runs: list[str] = []

    def form(state: Approval) -> dict[str, Any]:
        runs.append("form")
        name = interrupt("name?")
        age = interrupt("age?")
        return {"log": [f"{name}:{age}"]}

    builder = StateGraph(Approval)
    builder.add_node("form", form)
    builder.add_edge(START, "form")
    graph = builder.compile(checkpointer=saver)

    first = graph.invoke({"log": []}, thread)
    assert [i.value for i in first["__interrupt__"]] == ["name?"]
    second = graph.invoke(Command(resume="bob"), thread)
    assert [i.value for i in second["__interrupt__"]] == ["age?"]
    assert [i.value for i in graph.get_state(thread).interrupts] == ["age?"]
    assert len(history(graph, thread)) == 2

    assert graph.invoke(Command(resume=42), thread) == {"log": ["bob:42"]}
    assert runs == ["form", "form", "form"]
    assert len(history(graph, thread)) == 3


def parallel_ask_graph(saver: Any, calls: Counter[str]) -> Any:
    def asker(name: str) -> Any:
        def node(state: Approval) -> dict[str, Any]:
            calls[name] += 1
            return {"log": [f"{name}={interrupt(f'{name}?')}"]}

        return node

    builder = StateGraph(Approval)
    builder.add_node("p1", asker("p1"))
    builder.add_node("p2", asker("p2"))
    builder.add_edge(START, "p1")
    builder.add_edge(START, "p2")
    return builder.compile(checkpointer=saver)


def test_parallel_interrupts_are_all_reported(saver, thread):
    graph = parallel_ask_graph(saver, Counter())

    out = graph.invoke({"log": []}, thread)

    assert sorted(i.value for i in out["__interrupt__"]) == ["p1?", "p2?"]
    snapshot = graph.get_state(thread)
    assert sorted(snapshot.next) == ["p1", "p2"]
    assert sorted(i.value for i in snapshot.interrupts) == ["p1?", "p2?"]
    assert sorted(t.interrupts[0].value for t in snapshot.tasks) == ["p1?", "p2?"]
    assert len({i.id for i in snapshot.interrupts}) == 2


def test_parallel_interrupts_resumed_with_an_id_map(saver, thread):
    graph = parallel_ask_graph(saver, Counter())
    out = graph.invoke({"log": []}, thread)

    answers = {i.id: f"v-{i.value}" for i in out["__interrupt__"]}
    final = graph.invoke(Command(resume=answers), thread)

    assert final == {"log": ["p1=v-p1?", "p2=v-p2?"]}


def test_resuming_one_of_two_parallel_interrupts_keeps_the_other_pending(saver, thread):
    calls: Counter[str] = Counter()
    graph = parallel_ask_graph(saver, calls)
    out = graph.invoke({"log": []}, thread)
    first = next(i for i in out["__interrupt__"] if i.value == "p1?")

    partial = graph.invoke(Command(resume={first.id: "only"}), thread)

    assert partial["log"] == ["p1=only"]
    assert [i.value for i in partial["__interrupt__"]] == ["p2?"]
    assert graph.get_state(thread).next == ("p2",)

    remaining = graph.get_state(thread).interrupts[0]
    final = graph.invoke(Command(resume={remaining.id: "last"}), thread)
    assert final == {"log": ["p1=only", "p2=last"]}
    assert calls == Counter({"p1": 2, "p2": 3})


def test_multiple_pending_interrupts_reject_a_scalar_resume(saver, thread):
    graph = parallel_ask_graph(saver, Counter())
    graph.invoke({"log": []}, thread)
    with pytest.raises(Exception, match="(?i)interrupt"):
        graph.invoke(Command(resume="ambiguous"), thread)


def test_dynamic_interrupt_stream_updates_shape(saver, thread):
    graph = ask_graph(saver, Counter())

    chunks = list(graph.stream({"log": []}, thread, stream_mode="updates"))

    assert chunks[0] == {"prepare": {"log": ["prepare"]}}
    assert list(chunks[1]) == ["__interrupt__"]
    (pending,) = chunks[1]["__interrupt__"]
    assert pending.value == {"question": "approve?"}
    assert len(chunks) == 2


def test_interrupt_and_resume_async(saver, thread):
    calls: Counter[str] = Counter()
    graph = ask_graph(saver, calls)

    async def main() -> tuple[dict, dict]:
        first = await graph.ainvoke({"log": []}, thread)
        final = await graph.ainvoke(Command(resume="async-yes"), thread)
        return first, final

    first, final = asyncio.run(main())
    assert first["__interrupt__"][0].value == {"question": "approve?"}
    assert final == {"log": ["prepare", "answer=async-yes"]}
    assert calls["ask"] == 2


def test_async_stream_resume(saver, thread):
    graph = ask_graph(saver, Counter())
    graph.invoke({"log": []}, thread)

    async def main() -> list:
        return [c async for c in graph.astream(Command(resume="s"), thread, stream_mode="updates")]

    assert asyncio.run(main()) == [{"ask": {"log": ["answer=s"]}}]
