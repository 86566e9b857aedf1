"""Resuming interrupts together with state edits (issue 6, items 1, 5, 6, 7 and 10).

Each test runs the same scenario LangGraph 1.2.22 was run on; its docstring quotes what
LangGraph printed.
"""

import warnings
from collections import Counter
from typing import Any, TypedDict

import pytest

from tether.errors import InvalidResumeError
from tether.graph import START, MessagesState, StateGraph
from tether.types import Command, interrupt

from ._support import chain, field, history, steps
from .test_human_in_the_loop import parallel_ask_graph


class Answer(TypedDict, total=False):
    a: str
    b: str


def answer_graph(saver: Any, calls: Counter[str]) -> Any:
    def ask(state: Answer) -> dict[str, Any]:
        calls["ask"] += 1
        return {"b": interrupt("b?")}

    builder = StateGraph(Answer)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=saver)


# --- item 1: Command(resume=..., update=...) ---------------------------------------------


def test_resume_with_an_update_reruns_the_interrupted_node(saver, thread):
    """LangGraph: ``invoke(Command(resume="answer", update={"a": "x"}))`` on a thread waiting in
    ``interrupt()`` returns ``{'a': 'x', 'b': 'answer'}``; the node ran again and got the value."""
    calls: Counter[str] = Counter()
    graph = answer_graph(saver, calls)
    graph.invoke({"a": "start"}, thread)

    out = graph.invoke(Command(resume="answer", update={"a": "x"}), thread)

    assert out == {"a": "x", "b": "answer"}
    assert calls["ask"] == 2
    snapshot = graph.get_state(thread)
    assert snapshot.next == ()
    assert snapshot.values == {"a": "x", "b": "answer"}
    assert steps(graph, thread) == [("loop", 1), ("loop", 0), ("input", -1)]


def test_resume_with_an_update_async(saver, thread):
    """The async driver takes the same path: LangGraph gives ``{'a': 'x', 'b': 'answer'}``."""
    import asyncio

    graph = answer_graph(saver, Counter())

    async def main() -> Any:
        await graph.ainvoke({"a": "start"}, thread)
        return await graph.ainvoke(Command(resume="answer", update={"a": "x"}), thread)

    assert asyncio.run(main()) == {"a": "x", "b": "answer"}


# --- item 10: history keeps the interrupt --------------------------------------------------


def test_history_after_a_resume_keeps_the_interrupt_where_it_happened(saver, thread):
    """LangGraph: after the resume, the step-0 snapshot of ``get_state_history`` still has
    ``next=('ask',)`` and its task carries ``Interrupt(value='b?')``; ``interrupts`` lists it."""
    graph = answer_graph(saver, Counter())
    first = graph.invoke({"a": "start"}, thread)["__interrupt__"][0]
    graph.invoke(Command(resume="answer", update={"a": "x"}), thread)

    by_step = {s.metadata["step"]: s for s in history(graph, thread)}
    asked = by_step[0]
    assert asked.next == ("ask",)
    assert asked.values == {"a": "x"}
    assert [i.id for i in asked.interrupts] == [first.id]
    (task,) = asked.tasks
    assert [i.value for i in task.interrupts] == ["b?"]
    assert task.result == {"b": "answer"}
    assert by_step[1].interrupts == ()
    assert graph.get_state(thread).interrupts == ()


def test_history_shows_answered_and_waiting_parallel_interrupts(saver, thread):
    """LangGraph, two nodes interrupting in one step, p1 answered by id: the head shows only
    ``p2?`` waiting (p1's task has its result, no interrupt); the history entry of that step
    shows both questions, and keeps both after p2 is answered too."""
    graph = parallel_ask_graph(saver, Counter())
    out = graph.invoke({"log": []}, thread)
    p1 = next(i for i in out["__interrupt__"] if i.value == "p1?")
    graph.invoke(Command(resume={p1.id: "a"}), thread)

    head = graph.get_state(thread)
    assert [i.value for i in head.interrupts] == ["p2?"]
    tasks = {t.name: t for t in head.tasks}
    assert tasks["p1"].interrupts == () and tasks["p1"].result == {"log": ["p1=a"]}
    step0 = next(s for s in history(graph, thread) if s.metadata["step"] == 0)
    assert sorted(i.value for i in step0.interrupts) == ["p1?", "p2?"]

    graph.invoke(Command(resume="b"), thread)
    step0 = next(s for s in history(graph, thread) if s.metadata["step"] == 0)
    assert sorted(i.value for i in step0.interrupts) == ["p1?", "p2?"]
    assert {t.name: t.result for t in step0.tasks} == {
        "p1": {"log": ["p1=a"]},
        "p2": {"log": ["p2=b"]},
    }


# --- item 5: update_state on a new thread -------------------------------------------------


def test_update_state_on_a_new_thread_acts_as_input(saver, thread):
    """LangGraph (a MessagesState graph with one node): ``update_state`` on an empty thread
    gives ``next=('chat',)``, metadata ``{'source': 'update', 'step': 0, 'parents': {}}``, and
    ``invoke(None)`` then runs ``chat``: history ``loop 1``, ``update 0``."""

    def chat(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", f"seen {len(state['messages'])}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    graph = builder.compile(checkpointer=saver)

    graph.update_state(thread, {"messages": [("user", "hello")]})

    snapshot = graph.get_state(thread)
    assert snapshot.next == ("chat",)
    assert snapshot.metadata == {"source": "update", "step": 0, "parents": {}}
    out = graph.invoke(None, thread)
    assert [field(m, "content") for m in out["messages"]] == ["hello", "seen 1"]
    assert steps(graph, thread) == [("loop", 1), ("update", 0)]


def test_update_state_on_a_new_thread_with_several_nodes(saver, thread):
    """LangGraph (``a -> b``): next ``('a',)``, values ``{'log': ['seed']}``, and
    ``invoke(None)`` returns ``{'log': ['seed', 'a', 'b']}`` with steps loop 2, loop 1, update 0.
    With ``as_node='a'`` the update counts as a's output: next ``('b',)``."""
    graph = chain("a", "b").compile(checkpointer=saver)

    graph.update_state(thread, {"log": ["seed"]})
    assert graph.get_state(thread).next == ("a",)
    assert graph.invoke(None, thread) == {"log": ["seed", "a", "b"]}
    assert steps(graph, thread) == [("loop", 2), ("loop", 1), ("update", 0)]

    other = {"configurable": {"thread_id": thread["configurable"]["thread_id"] + "-as-a"}}
    graph.update_state(other, {"log": ["seed"]}, as_node="a")
    assert graph.get_state(other).next == ("b",)
    assert graph.invoke(None, other) == {"log": ["seed", "b"]}


# --- item 6: edit while waiting in interrupt(), then resume --------------------------------


class Topic(TypedDict, total=False):
    topic: str
    answer: str


def topic_graph(saver: Any, seen: list[str]) -> Any:
    def ask(state: Topic) -> dict[str, Any]:
        topic = state["topic"]
        seen.append(topic)
        return {"answer": f"{topic}={interrupt(f'about {topic}?')}"}

    builder = StateGraph(Topic)
    builder.add_node("prepare", lambda state: {})
    builder.add_node("ask", ask)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "ask")
    return builder.compile(checkpointer=saver)


def test_resume_after_editing_state_reaches_the_rerun_interrupt(saver, thread):
    """LangGraph: ``update_state`` while ``ask`` waits in ``interrupt()``, then
    ``invoke(Command(resume='yes'))`` returns ``{'topic': 'dogs', 'answer': 'dogs=yes'}``; the
    node saw ``['cats', 'dogs']``; history: loop 3, update 2, loop 1 (with the interrupt)."""
    seen: list[str] = []
    graph = topic_graph(saver, seen)
    graph.invoke({"topic": "cats"}, thread)
    graph.update_state(thread, {"topic": "dogs"})
    edited = graph.get_state(thread)
    assert (edited.next, edited.interrupts) == (("ask",), ())

    out = graph.invoke(Command(resume="yes"), thread)

    assert out == {"topic": "dogs", "answer": "dogs=yes"}
    assert seen == ["cats", "dogs"]
    assert [step for _, step in steps(graph, thread)] == [3, 2, 1, 0, -1]
    assert steps(graph, thread)[1] == ("update", 2)
    asked = next(s for s in history(graph, thread) if s.metadata["step"] == 1)
    assert [i.value for i in asked.interrupts] == ["about cats?"]


@pytest.mark.tether_only
def test_a_resume_no_interrupt_can_take_is_still_refused(saver, thread):
    """LangGraph ignores such a resume; tether refuses it when nothing would run, and refuses
    a resume map whose ids match no pending interrupt, even after a state edit."""
    graph = topic_graph(saver, [])
    graph.invoke({"topic": "cats"}, thread)
    asked = graph.get_state(thread).interrupts[0]
    graph.update_state(thread, {"topic": "dogs"})
    with pytest.raises(InvalidResumeError, match="match no pending interrupt"):
        graph.invoke(Command(resume={asked.id: "stale"}), thread)

    graph.invoke(Command(resume="yes"), thread)
    with pytest.raises(InvalidResumeError, match="no pending interrupt"):
        graph.invoke(Command(resume="late"), thread)


# --- item 7: one id per interrupt() call ---------------------------------------------------


def form_graph(saver: Any, runs: Counter[str]) -> Any:
    def form(state: Answer) -> dict[str, Any]:
        runs["form"] += 1
        name = interrupt("name?")
        age = interrupt("age?")
        return {"a": f"{name}:{age}"}

    builder = StateGraph(Answer)
    builder.add_node("form", form)
    builder.add_edge(START, "form")
    return builder.compile(checkpointer=saver)


def test_each_interrupt_call_in_a_node_has_its_own_id(saver, thread):
    """LangGraph: the two questions of one node surface with different ids
    (``name?`` then ``age?``); answering each by its id gives ``{'a': 'bob:42'}``."""
    runs: Counter[str] = Counter()
    graph = form_graph(saver, runs)

    name = graph.invoke({}, thread)["__interrupt__"][0]
    age = graph.invoke(Command(resume={name.id: "bob"}), thread)["__interrupt__"][0]

    assert (name.value, age.value) == ("name?", "age?")
    assert name.id != age.id
    assert [i.id for i in graph.get_state(thread).interrupts] == [age.id]
    assert [i.id for i in graph.get_state(thread).tasks[0].interrupts] == [age.id]
    assert graph.invoke(Command(resume={age.id: 42}), thread) == {"a": "bob:42"}
    assert runs["form"] == 3


def test_interrupt_ids_are_stable_across_reruns(saver, thread):
    """LangGraph's ids depend on the task's namespace and how many answers it has, so the
    question asked again after a plain resume keeps its id; scalar resumes still answer the
    questions one by one (``{'a': 'x:y'}``)."""
    graph = form_graph(saver, Counter())
    name = graph.invoke({}, thread)["__interrupt__"][0]
    assert graph.get_state(thread).interrupts[0].id == name.id

    age = graph.invoke(Command(resume="x"), thread)["__interrupt__"][0]
    assert age.id != name.id
    assert graph.invoke(Command(resume="y"), thread) == {"a": "x:y"}


def test_stale_interrupt_id_is_refused_once_answered(saver, thread):
    """The id of a question already answered matches no pending interrupt."""
    graph = form_graph(saver, Counter())
    name = graph.invoke({}, thread)["__interrupt__"][0]
    graph.invoke(Command(resume={name.id: "bob"}), thread)
    with pytest.raises(InvalidResumeError, match=name.id):
        graph.invoke(Command(resume={name.id: "again"}), thread)


def test_interrupt_id_alias_is_deprecated():
    """LangGraph keeps ``Interrupt.interrupt_id`` as a deprecated alias of ``id`` (it warns
    with a ``DeprecationWarning`` subclass)."""
    from tether.types import Interrupt

    pending = Interrupt(value="q", id="abc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pending.interrupt_id == "abc"
    assert [w.category for w in caught] == [DeprecationWarning]
