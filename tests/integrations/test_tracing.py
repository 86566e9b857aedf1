"""LangChain callbacks around tether runs: errors, async handlers, what a node's config holds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler  # noqa: E402

import tether.graph as lib  # noqa: E402
from fixtures.lc_graphs import INPUT, RunTreeRecorder, chat_sub_graph  # noqa: E402
from tether.checkpoint.memory import InMemorySaver  # noqa: E402
from tether.config import get_config  # noqa: E402
from tether.graph import START, MessagesState, StateGraph  # noqa: E402


class Ends(BaseCallbackHandler):
    """Which runs ended in an error, by name."""

    def __init__(self) -> None:
        self.names: dict[Any, str] = {}
        self.errors: list[tuple[str, str]] = []

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, **kw: Any) -> None:
        self.names[run_id] = kw.get("name", "?")

    def on_chain_error(self, error: BaseException, *, run_id: Any, **kw: Any) -> None:
        self.errors.append((self.names[run_id], type(error).__name__))


def test_a_failing_node_ends_its_run_and_the_graph_run_in_error() -> None:
    def boom(state: MessagesState) -> dict[str, Any]:
        raise ValueError("no")

    graph = StateGraph(MessagesState)
    graph.add_node("boom", boom)
    graph.add_edge(START, "boom")
    ends = Ends()
    with pytest.raises(ValueError, match="no"):
        graph.compile().invoke(INPUT, {"callbacks": [ends]})
    assert ends.errors == [("boom", "ValueError"), ("LangGraph", "ValueError")]


class AsyncNames(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.started: list[str] = []

    async def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self.started.append(kw.get("name", "?"))

    async def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self.started.append("model")


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_an_async_handler_sees_the_run_tree(driver: str) -> None:
    handler = AsyncNames()
    graph = chat_sub_graph(lib)
    if driver == "sync":
        graph.invoke(INPUT, {"callbacks": [handler]})
    else:
        asyncio.run(graph.ainvoke(INPUT, {"callbacks": [handler]}))
    expected = ["LangGraph", "greet", "chat", "model", "sub", "LangGraph", "sub_node", "model"]
    assert handler.started == expected


def test_tracing_leaves_checkpoint_metadata_as_it_was() -> None:
    def metadata_of(callbacks: list[Any]) -> list[list[str]]:
        saver = InMemorySaver()
        graph = chat_sub_graph(lib)
        graph.checkpointer = saver
        config = {"configurable": {"thread_id": "t"}, "metadata": {"user": "u"}}
        graph.invoke(INPUT, {**config, "callbacks": callbacks})
        return sorted(sorted(t.metadata) for t in saver.list(None))

    assert metadata_of([RunTreeRecorder()]) == metadata_of([])


def test_a_node_config_carries_langgraph_metadata_and_nests_calls_made_with_it() -> None:
    seen: dict[str, Any] = {}
    recorder = RunTreeRecorder()

    def inner(x: int) -> int:
        return x + 1

    def node(state: MessagesState, config: dict[str, Any]) -> dict[str, Any]:
        from langchain_core.runnables import RunnableLambda

        seen["node"] = config["metadata"]["langgraph_node"]
        seen["same"] = get_config() is config
        RunnableLambda(inner).invoke(1, config)
        return {}

    graph = StateGraph(MessagesState)
    graph.add_node("work", node)
    graph.add_edge(START, "work")
    graph.compile().invoke(INPUT, {"callbacks": [recorder]})
    assert seen == {"node": "work", "same": True}
    assert [(r["name"], r["parent"]) for r in recorder.runs] == [
        ("LangGraph", None),
        ("work", "LangGraph"),
        ("inner", "work"),
    ]


def test_a_traced_subgraph_stamps_its_checkpoints_with_the_run_id() -> None:
    saver = InMemorySaver()
    graph = chat_sub_graph(lib)
    graph.checkpointer = saver
    config = {"configurable": {"thread_id": "t"}, "run_id": "run-1"}
    graph.invoke(INPUT, {**config, "callbacks": [RunTreeRecorder()]})
    stamped = {t.config["configurable"]["checkpoint_ns"][:4]: t.metadata for t in saver.list(None)}
    assert stamped["sub:"]["run_id"] == "run-1" and stamped[""]["run_id"] == "run-1"


def test_langchain_debug_mode_sees_the_graph_without_callbacks_in_the_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from langchain_core.globals import set_debug

    set_debug(True)
    try:
        chat_sub_graph(lib).invoke(INPUT)
    finally:
        set_debug(False)
    out = capsys.readouterr().out
    assert "[chain:LangGraph > chain:chat] Entering Chain run" in out


def test_a_graph_called_inside_a_runnable_nests_under_it() -> None:
    from langchain_core.runnables import RunnableLambda

    recorder = RunTreeRecorder()
    graph = chat_sub_graph(lib)

    def call(value: Any) -> Any:  # no config passed: the graph finds LangChain's context
        return graph.invoke(value)

    outer = RunnableLambda(call).with_config(run_name="outer")
    outer.invoke(INPUT, {"callbacks": [recorder]})
    assert [(r["name"], r["parent"]) for r in recorder.runs[:3]] == [
        ("outer", None),
        ("LangGraph", "outer"),
        ("greet", "LangGraph"),
    ]


def test_a_conditional_edge_run_is_tagged_with_its_place_after_the_static_edges() -> None:
    """LangGraph 1.2.22 tags a path function's run ``seq:step:N``: the node function (1), its
    state write (2), one write per static edge to a node or join (an edge to END has none),
    then the node's conditional edges in the order they were added."""

    def step(state: MessagesState) -> dict[str, Any]:
        return {}

    def first(state: MessagesState) -> str:
        return "b"

    def second(state: MessagesState) -> str:
        return "b"

    def done(state: MessagesState) -> str:
        return lib.END

    graph = StateGraph(MessagesState)
    for name in "abcd":
        graph.add_node(name, step)
    graph.add_edge(START, "a")
    graph.add_edge("a", "c")
    graph.add_edge(["a", "c"], "d")
    graph.add_edge("a", lib.END)
    graph.add_conditional_edges("a", first, ["b"])
    graph.add_conditional_edges("a", second, ["b"])
    graph.add_conditional_edges("b", done, [lib.END])
    recorder = RunTreeRecorder()
    graph.compile().invoke(INPUT, {"callbacks": [recorder]})
    tags = [(r["name"], r["parent"], r["tags"]) for r in recorder.runs if r["kind"] == "chain"]
    assert ("first", "a", ["seq:step:5"]) in tags
    assert ("second", "a", ["seq:step:6"]) in tags
    assert ("done", "b", ["seq:step:3"]) in tags
