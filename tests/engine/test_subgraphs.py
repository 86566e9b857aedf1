"""Subgraphs: a compiled graph as a node, its own checkpoint namespace, interrupts inside it."""

from collections import Counter
from typing import Any, TypedDict

from tether.graph import START, StateGraph
from tether.types import Command, interrupt

from ._support import checkpoint_id, history


class Trail(TypedDict, total=False):
    """Shared by parent and child: ``trail`` is a last-value string each node extends."""

    trail: str


def step(name: str, calls: Counter[str]) -> Any:
    def node(state: Trail) -> dict[str, Any]:
        calls[name] += 1
        return {"trail": state.get("trail", "") + f"/{name}"}

    return node


def asking(name: str, calls: Counter[str]) -> Any:
    def node(state: Trail) -> dict[str, Any]:
        calls[name] += 1
        answer = interrupt(f"{name}?")
        return {"trail": state.get("trail", "") + f"/{name}={answer}"}

    return node


def parent_with_child(saver: Any, calls: Counter[str], ask: bool = False) -> Any:
    child = StateGraph(Trail)
    child.add_node("child_a", step("child_a", calls))
    child.add_node("child_b", asking("child_b", calls) if ask else step("child_b", calls))
    child.add_edge(START, "child_a")
    child.add_edge("child_a", "child_b")

    parent = StateGraph(Trail)
    parent.add_node("pre", step("pre", calls))
    parent.add_node("sub", child.compile())
    parent.add_node("post", step("post", calls))
    parent.add_edge(START, "pre")
    parent.add_edge("pre", "sub")
    parent.add_edge("sub", "post")
    return parent.compile(checkpointer=saver)


def test_compiled_graph_as_node_shares_state_keys(saver, thread):
    graph = parent_with_child(saver, Counter())
    assert graph.invoke({"trail": ""}, thread) == {"trail": "/pre/child_a/child_b/post"}


def test_subgraph_checkpoints_live_in_their_own_namespace(saver, thread):
    graph = parent_with_child(saver, Counter())
    graph.invoke({"trail": ""}, thread)

    namespaces = {
        t.config["configurable"]["checkpoint_ns"]
        for t in saver.list({"configurable": thread["configurable"]})
    }
    child_namespaces = namespaces - {""}
    assert len(child_namespaces) == 1
    (child_ns,) = child_namespaces
    assert child_ns.startswith("sub:")
    assert len(history(graph, thread)) == 5
    assert all(s.config["configurable"]["checkpoint_ns"] == "" for s in history(graph, thread))


def test_subgraph_checkpoint_metadata_names_the_parent_checkpoint(saver, thread):
    graph = parent_with_child(saver, Counter())
    graph.invoke({"trail": ""}, thread)
    root_before_sub = next(s for s in history(graph, thread) if s.next == ("sub",))

    child = [
        t
        for t in saver.list({"configurable": thread["configurable"]})
        if t.config["configurable"]["checkpoint_ns"].startswith("sub:")
    ]

    assert sorted(t.metadata["step"] for t in child) == [-1, 0, 1, 2]
    assert {t.metadata["parents"][""] for t in child} == {checkpoint_id(root_before_sub.config)}


def test_interrupt_inside_subgraph_surfaces_in_parent(saver, thread):
    graph = parent_with_child(saver, Counter(), ask=True)

    out = graph.invoke({"trail": ""}, thread)

    assert out["trail"] == "/pre"
    assert [i.value for i in out["__interrupt__"]] == ["child_b?"]
    snapshot = graph.get_state(thread)
    assert snapshot.next == ("sub",)
    assert [i.value for i in snapshot.interrupts] == ["child_b?"]
    assert snapshot.tasks[0].state["configurable"]["checkpoint_ns"].startswith("sub:")


def test_get_state_with_subgraphs_includes_the_child_snapshot(saver, thread):
    graph = parent_with_child(saver, Counter(), ask=True)
    graph.invoke({"trail": ""}, thread)

    snapshot = graph.get_state(thread, subgraphs=True)
    child = snapshot.tasks[0].state

    assert child.values == {"trail": "/pre/child_a"}
    assert child.next == ("child_b",)
    assert child.config["configurable"]["checkpoint_ns"].startswith("sub:")
    assert [i.value for i in child.tasks[0].interrupts] == ["child_b?"]


def test_resume_subgraph_interrupt_from_parent_without_rerunning_finished_nodes(saver, thread):
    calls: Counter[str] = Counter()
    graph = parent_with_child(saver, calls, ask=True)
    graph.invoke({"trail": ""}, thread)

    out = graph.invoke(Command(resume="yes"), thread)

    assert out == {"trail": "/pre/child_a/child_b=yes/post"}
    assert calls == Counter({"pre": 1, "child_a": 1, "child_b": 2, "post": 1})
    assert graph.get_state(thread).next == ()


def test_stream_with_subgraphs_tags_chunks_with_namespace(saver, thread):
    graph = parent_with_child(saver, Counter())

    chunks = list(graph.stream({"trail": ""}, thread, stream_mode="updates", subgraphs=True))

    assert chunks[0] == ((), {"pre": {"trail": "/pre"}})
    child_chunks = [(ns, update) for ns, update in chunks if ns]
    assert [list(update) for _, update in child_chunks] == [["child_a"], ["child_b"]]
    assert all(len(ns) == 1 and ns[0].startswith("sub:") for ns, _ in child_chunks)
    assert chunks[-2:] == [
        ((), {"sub": {"trail": "/pre/child_a/child_b"}}),
        ((), {"post": {"trail": "/pre/child_a/child_b/post"}}),
    ]


def test_subgraph_invoked_inside_a_node_function(saver, thread):
    calls: Counter[str] = Counter()
    child = StateGraph(Trail)
    child.add_node("inner", step("inner", calls))
    child.add_edge(START, "inner")
    compiled_child = child.compile()

    def call_child(state: Trail) -> dict[str, Any]:
        result = compiled_child.invoke({"trail": state["trail"] + "/call"})
        return {"trail": result["trail"]}

    parent = StateGraph(Trail)
    parent.add_node("call_child", call_child)
    parent.add_edge(START, "call_child")
    graph = parent.compile(checkpointer=saver)

    assert graph.invoke({"trail": ""}, thread) == {"trail": "/call/inner"}
    namespaces = {
        t.config["configurable"]["checkpoint_ns"]
        for t in saver.list({"configurable": thread["configurable"]})
    }
    assert any(ns.startswith("call_child:") for ns in namespaces)
