"""A chat agent that streams its tokens, pauses for a human to approve a tool call, and resumes
in another process, traced by a LangChain callback handler.

The agent is a plain ``tether.graph`` loop (``agent`` <-> ``tools``) over LangChain messages,
compiled on SQLite with ``interrupt_before=["tools"]``. The chat model is a scripted fake
(deterministic, no network) that streams its answer word by word.

1. This process streams the first turn with ``stream_mode="messages"``: the model's tool call
   arrives as chunks, then the run pauses before ``tools``.
2. A second process (``--resume``) opens the same database, prints the pending tool call,
   approves it by resuming with ``None``, and streams the final answer token by token.
3. Back here, a callback handler (what LangSmith or Langfuse plug in) records the run tree of
   a fresh thread: the graph run, each node, and the model calls nested under ``agent``.
   ``astream_events(version="v2")`` shows the same runs as events.

Needs langchain-core (``pip install "tether[langchain]"``).

Run: python examples/streaming_chat.py [--db PATH]   (PATH defaults to ./streaming_chat.db)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import tool

from tether.checkpoint.sqlite import SqliteSaver
from tether.graph import END, START, MessagesState, StateGraph

QUESTION = {"messages": [("user", "What is the weather in Paris?")]}


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return {"Paris": "18 C and sunny"}.get(city, "unknown")


class ScriptedModel(BaseChatModel):
    """Asks for the weather first; once a tool answered, says what it found. Streams words."""

    def _reply(self, messages: list[BaseMessage]) -> AIMessage:
        results = [m.content for m in messages if isinstance(m, ToolMessage)]
        if results:
            return AIMessage(content=f"In Paris it is {results[-1]}.", id="answer")
        call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call-1"}
        return AIMessage(content="Let me check.", tool_calls=[call], id="ask")

    def _generate(self, messages: Any, stop: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages))])

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages)
        words = str(reply.content).split(" ")
        pieces = [AIMessageChunk(content=w if i == 0 else f" {w}") for i, w in enumerate(words)]
        for i, call in enumerate(reply.tool_calls):
            chunk = {"name": call["name"], "args": json.dumps(call["args"]), "id": call["id"]}
            pieces.append(AIMessageChunk(content="", tool_call_chunks=[{**chunk, "index": i}]))
        for piece in pieces:
            piece.id = reply.id
            generation = ChatGenerationChunk(message=piece)
            if run_manager:
                run_manager.on_llm_new_token(str(piece.content), chunk=generation)
            yield generation

    @property
    def _llm_type(self) -> str:
        return "scripted"


def build(saver: SqliteSaver) -> Any:
    model = ScriptedModel()

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def tools(state: MessagesState) -> dict[str, Any]:
        calls = state["messages"][-1].tool_calls
        return {"messages": [get_weather.invoke(call) for call in calls]}

    def route(state: MessagesState) -> str:
        return "tools" if state["messages"][-1].tool_calls else END

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=saver, interrupt_before=["tools"])


def stream_tokens(graph: Any, graph_input: Any, config: dict[str, Any]) -> str:
    """Print each token as it arrives; return the text streamed by the agent node."""
    text = ""
    for chunk, metadata in graph.stream(graph_input, config, stream_mode="messages"):
        if metadata["langgraph_node"] == "agent" and chunk.content:
            print(f"  token from {metadata['langgraph_node']}: {chunk.content!r}")
            text += str(chunk.content)
    return text


def resume(db: Path) -> None:
    """The second process: approve the paused tool call and stream the answer."""
    config = {"configurable": {"thread_id": "chat"}}
    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = build(saver)
        state = graph.get_state(config)
        call = state.values["messages"][-1].tool_calls[0]
        print(f"[resume] paused before {state.next}; approving {call['name']}({call['args']})")
        answer = stream_tokens(graph, None, config)
        print(f"[resume] answer: {answer}")


class RunTree(BaseCallbackHandler):
    def __init__(self) -> None:
        self.names: dict[Any, str] = {}
        self.lines: list[str] = []

    def _add(self, name: str, run_id: Any, parent: Any) -> None:
        self.names[run_id] = name
        self.lines.append(f"{self.names.get(parent, '-')} > {name}")

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, **kw: Any) -> None:
        self._add(kw["name"], run_id, kw.get("parent_run_id"))

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: Any, **kw: Any
    ) -> None:
        self._add("ScriptedModel", run_id, kw.get("parent_run_id"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="streaming_chat.db")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    db = Path(args.db)
    if args.resume:
        resume(db)
        return
    db.unlink(missing_ok=True)
    config = {"configurable": {"thread_id": "chat"}}
    with SqliteSaver.from_conn_string(str(db)) as saver:
        print("[first] streaming the first turn")
        first = stream_tokens(build(saver), QUESTION, config)
        paused = build(saver).get_state(config).next
    print(f"[first] streamed {first!r}; paused before {paused}")
    child = [sys.executable, __file__, "--db", str(db), "--resume"]
    done = subprocess.run(child, capture_output=True, text=True, check=True, timeout=120)
    print(done.stdout, end="")

    tree = RunTree()
    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = build(saver)
        traced = {"configurable": {"thread_id": "traced"}, "callbacks": [tree]}
        graph.invoke(QUESTION, traced)
        graph.invoke(None, traced)  # approve the tool call
        events = asyncio.run(collect_events(graph))
    print("[trace] run tree:", "; ".join(tree.lines))
    print("[trace] astream_events:", ", ".join(events))
    expected_tree = ["- > LangGraph", "LangGraph > agent", "agent > ScriptedModel", "agent > route"]
    ok = (
        first == "Let me check."
        and paused == ("tools",)
        and "[resume] answer: In Paris it is 18 C and sunny." in done.stdout
        and tree.lines[:4] == expected_tree
        and "on_chat_model_stream:ScriptedModel" in events
    )
    if not ok:
        raise SystemExit("FAILED: the streamed, resumed or traced run is not what it should be")
    print("OK: tokens streamed, the approved tool call resumed in a new process, runs traced")


async def collect_events(graph: Any) -> list[str]:
    config = {"configurable": {"thread_id": "events"}}
    seen: list[str] = []
    async for event in graph.astream_events(QUESTION, config, version="v2"):
        label = f"{event['event']}:{event['name']}"
        if label not in seen:
            seen.append(label)
    return seen


if __name__ == "__main__":
    main()
