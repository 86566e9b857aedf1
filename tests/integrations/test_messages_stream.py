"""``stream_mode="messages"``: what reaches the caller, when, and what filters it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage  # noqa: E402
from langchain_core.outputs import ChatGenerationChunk  # noqa: E402

from tether.graph import START, MessagesState, StateGraph  # noqa: E402

INPUT = {"messages": [HumanMessage("hi", id="h")]}


def fake(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(
        messages=iter(AIMessage(content=r, id=f"ai-{i}") for i, r in enumerate(replies))
    )


def two_models(loud: Any, quiet: Any) -> Any:
    """``talk`` calls ``loud``; ``think`` then calls ``quiet``."""

    def talk(state: MessagesState) -> dict[str, Any]:
        return {"messages": [loud.invoke(state["messages"])]}

    def think(state: MessagesState) -> dict[str, Any]:
        return {"messages": [quiet.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("talk", talk)
    graph.add_node("think", think)
    graph.add_edge(START, "talk")
    graph.add_edge("talk", "think")
    return graph.compile()


def test_a_nostream_model_is_left_out_and_user_tags_reach_the_metadata() -> None:
    loud = fake("a b").with_config(tags=["joke"])
    quiet = fake("secret plan").with_config(tags=["nostream"])
    chunks = list(two_models(loud, quiet).stream(INPUT, stream_mode="messages"))
    assert [m.content for m, _ in chunks] == ["a", " ", "b"]
    assert all(md["tags"] == ["joke"] and md["langgraph_node"] == "talk" for _, md in chunks)


def test_filter_by_node_as_the_streaming_page_does() -> None:
    graph = two_models(fake("one"), fake("two"))
    picked = [
        message.content
        for message, metadata in graph.stream(INPUT, stream_mode="messages")
        if metadata["langgraph_node"] == "think"
    ]
    assert picked == ["two"]


def test_messages_with_other_modes_and_the_model_call_is_not_streamed_to_updates() -> None:
    graph = two_models(fake("x"), fake("y"))
    seen = [mode for mode, _ in graph.stream(INPUT, stream_mode=["messages", "updates"])]
    assert seen == ["messages", "updates", "messages", "updates"]


def test_subgraph_tokens_show_only_with_subgraphs_true() -> None:
    model = fake("outer", "inner")

    def call(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    inner = StateGraph(MessagesState)
    inner.add_node("deep", call)
    inner.add_edge(START, "deep")
    outer = StateGraph(MessagesState)
    outer.add_node("top", call)
    outer.add_node("child", inner.compile())
    outer.add_edge(START, "top")
    outer.add_edge("top", "child")
    graph = outer.compile()
    assert [m.content for m, _ in graph.stream(INPUT, stream_mode="messages")] == ["outer"]
    model.messages = iter([AIMessage("outer", id="o"), AIMessage("inner", id="i")])
    nested = list(graph.stream(INPUT, stream_mode="messages", subgraphs=True))
    assert [(len(ns), m.content) for ns, (m, _) in nested] == [(0, "outer"), (1, "inner")]
    assert nested[1][0][0].startswith("child:")


class GatedModel(GenericFakeChatModel):
    """Streams "first", then waits until the caller has seen it before streaming "second"."""

    gate: Any = None
    saw_gate: list[bool] = []

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for index, token in enumerate(["first", "second"]):
            if index == 1:
                self.saw_gate.append(self.gate.wait(timeout=20))
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token, id="g"))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


def gated_graph(model: GatedModel, *, is_async: bool) -> Any:
    graph = StateGraph(MessagesState)
    if is_async:

        async def node(state: MessagesState) -> dict[str, Any]:
            return {"messages": [await model.ainvoke(state["messages"])]}

    else:

        def node(state: MessagesState) -> dict[str, Any]:  # type: ignore[misc]
            return {"messages": [model.invoke(state["messages"])]}

    graph.add_node("speak", node)
    graph.add_edge(START, "speak")
    return graph.compile()


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_tokens_reach_the_caller_while_the_node_still_runs(driver: str) -> None:
    """The model waits for the caller to see its first token: only a live stream lets it."""
    model = GatedModel(messages=iter([]), gate=threading.Event(), saw_gate=[])
    graph = gated_graph(model, is_async=driver == "async")
    got: list[str] = []

    def take(message: Any) -> None:
        got.append(message.content)
        model.gate.set()

    if driver == "sync":
        for message, _ in graph.stream(INPUT, stream_mode="messages"):
            take(message)
    else:

        async def consume() -> None:
            async for message, _ in graph.astream(INPUT, stream_mode="messages"):
                take(message)

        asyncio.run(consume())
    assert model.saw_gate == [True]
    assert got[:2] == ["first", "second"]  # then LangChain's empty closing chunk


def test_messages_a_node_returns_in_a_command_are_streamed_whole_once() -> None:
    from tether.types import Command

    def route(state: MessagesState) -> Command:
        return Command(update={"messages": [AIMessage("routed", id="r")]}, goto="again")

    def again(state: MessagesState) -> list[Command]:
        repeat = state["messages"][-1]  # already streamed: not again
        return [Command(update={"messages": [repeat, AIMessage("twice", id="t")]})]

    graph = StateGraph(MessagesState)
    graph.add_node("route", route)
    graph.add_node("again", again)
    graph.add_edge(START, "route")
    chunks = list(graph.compile().stream(INPUT, stream_mode="messages"))
    assert [(m.content, md["langgraph_node"]) for m, md in chunks] == [
        ("routed", "route"),
        ("twice", "again"),
    ]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_parallel_nodes_stream_their_tokens_and_report_their_runs(driver: str) -> None:
    from fixtures.lc_graphs import RunTreeRecorder

    left, right = fake("l1 l2 l3"), fake("r1 r2")

    def ask(model: Any) -> Any:
        def node(state: MessagesState) -> dict[str, Any]:
            return {"messages": [model.invoke(state["messages"])]}

        return node

    graph = StateGraph(MessagesState)
    graph.add_node("left", ask(left))
    graph.add_node("right", ask(right))
    graph.add_edge(START, "left")
    graph.add_edge(START, "right")
    compiled = graph.compile()
    recorder = RunTreeRecorder()
    config = {"callbacks": [recorder]}
    if driver == "sync":
        chunks = list(compiled.stream(INPUT, config, stream_mode="messages"))
    else:

        async def collect() -> list[Any]:
            return [c async for c in compiled.astream(INPUT, config, stream_mode="messages")]

        chunks = asyncio.run(collect())
    by_node: dict[str, str] = {}
    for message, metadata in chunks:
        node = metadata["langgraph_node"]
        by_node[node] = by_node.get(node, "") + str(message.content)
    assert by_node == {"left": "l1 l2 l3", "right": "r1 r2"}
    parents = sorted((r["name"], r["parent"]) for r in recorder.runs if r["kind"] == "chat_model")
    assert parents == [("GenericFakeChatModel", "left"), ("GenericFakeChatModel", "right")]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_custom_chunks_interleave_with_tokens_as_they_are_written(driver: str) -> None:
    from tether.config import get_stream_writer

    model = fake("a b")

    def node(state: MessagesState) -> dict[str, Any]:
        write = get_stream_writer()
        write("before")
        reply = model.invoke(state["messages"])
        write("after")
        return {"messages": [reply]}

    graph = StateGraph(MessagesState)
    graph.add_node("talk", node)
    graph.add_edge(START, "talk")
    compiled = graph.compile()
    modes = ["messages", "custom"]
    if driver == "sync":
        chunks = list(compiled.stream(INPUT, stream_mode=modes))
    else:

        async def collect() -> list[Any]:
            return [c async for c in compiled.astream(INPUT, stream_mode=modes)]

        chunks = asyncio.run(collect())
    seen = [data if mode == "custom" else data[0].content for mode, data in chunks]
    assert seen == ["before", "a", " ", "b", "after"]  # as LangGraph 1.2.22 streams them
