"""A ReAct agent from ``create_react_agent``, reviewed by a human and resumed by other processes.

The agent (``tether.prebuilt.create_react_agent``) has two tools: ``get_weather`` answers with
text, ``book_trip`` asks the traveller to confirm with ``interrupt()`` and then returns a
``Command`` that records the booking in the state. The chat model is langchain-core's
``GenericFakeChatModel``, scripted by the conversation so every process gets the same replies.
It is compiled with ``interrupt_before=["tools"]``, so every tool call waits for review, and
checkpointed in one SQLite file.

1. A child process asks the question; the agent stops before its first tool call.
2. Another child process approves that call: the weather tool runs, the model asks to book,
   and the run stops before ``book_trip``.
3. A third process approves again: ``book_trip`` runs and pauses inside, in ``interrupt()``.
4. A fourth process answers the interrupt (``Command(resume=...)``): the booking is stored and
   the agent gives its final answer.

The same script on LangGraph 1.2.22 (imports changed to ``langgraph.``) prints the same lines.
Needs langchain-core (``pip install "tether[langchain]"``).
Run: python examples/react_agent.py [--db PATH]   (PATH defaults to ./react_agent.db)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import InjectedToolCallId, tool
from typing_extensions import NotRequired

from tether.checkpoint.sqlite import SqliteSaver
from tether.prebuilt import create_react_agent
from tether.prebuilt.chat_agent_executor import AgentState
from tether.types import Command, interrupt

THREAD = {"configurable": {"thread_id": "trip-1"}}
QUESTION = "Is it warm in Lisbon? If so, book me a trip there."


class TripState(AgentState):
    booking: NotRequired[str]


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return {"Lisbon": "24 C and sunny", "Oslo": "3 C and snowing"}.get(city, "unknown")


@tool
def book_trip(city: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command:
    """Book a trip to a city, once the traveller confirms."""
    answer = interrupt({"question": f"Book a trip to {city}?", "city": city})
    if answer != "yes":
        return Command(update={"messages": [ToolMessage("Not booked.", tool_call_id=tool_call_id)]})
    reference = f"TRIP-{city.upper()}-001"
    done = ToolMessage(f"Booked: {reference}", tool_call_id=tool_call_id)
    return Command(update={"booking": reference, "messages": [done]})


class ScriptedModel(GenericFakeChatModel):
    """langchain-core's fake chat model, replying from the conversation so far."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=reply(messages))])

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def reply(messages: list[BaseMessage]) -> AIMessage:
    answers = {m.name: str(m.content) for m in messages if isinstance(m, ToolMessage)}
    if "get_weather" not in answers:
        return call("get_weather", {"city": "Lisbon"}, "call_weather")
    if "book_trip" not in answers:
        return call("book_trip", {"city": "Lisbon"}, "call_book")
    return AIMessage(f"Lisbon is {answers['get_weather']}. {answers['book_trip']}")


def call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(
        "", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}]
    )


def build(saver: SqliteSaver) -> Any:
    return create_react_agent(
        ScriptedModel(messages=iter(())),
        [get_weather, book_trip],
        prompt="You plan trips.",
        state_schema=TripState,
        checkpointer=saver,
        interrupt_before=["tools"],
        name="trip_agent",
    )


def waiting_for(graph: Any) -> str:
    state = graph.get_state(THREAD)
    if not state.next:
        return "nothing (finished)"
    asks = [i.value for task in state.tasks for i in task.interrupts]
    if asks:
        return f"the traveller: {asks[0]['question']}"
    last = state.values["messages"][-1]
    pending = ", ".join(f"{c['name']}({c['args']})" for c in last.tool_calls)
    return f"review of tool call {pending}"


def child(step: str, db: Path) -> None:
    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = build(saver)
        if step == "ask":
            graph.invoke({"messages": [HumanMessage(QUESTION)]}, THREAD)
        elif step == "approve":
            graph.invoke(None, THREAD)
        else:
            final = graph.invoke(Command(resume="yes"), THREAD)
            print(f"  answer: {final['messages'][-1].content}")
            print(f"  booking in state: {final['booking']}")
        print(f"  process {os.getpid()} stops; waiting for {waiting_for(graph)}")


def spawn(step: str, db: Path) -> None:
    command = [sys.executable, os.path.abspath(__file__), "--child", step, "--db", str(db)]
    subprocess.run(command, check=True)


def orchestrate(db: Path) -> None:
    db.unlink(missing_ok=True)
    steps = [
        ("1. ask the agent (child process)", "ask"),
        ("2. approve the weather call (another process)", "approve"),
        ("3. approve the booking call (another process)", "approve"),
        ("4. confirm the booking (another process)", "confirm"),
    ]
    for title, step in steps:
        print(title, flush=True)
        spawn(step, db)
    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = build(saver)
        messages = graph.get_state(THREAD).values["messages"]
        print(f"  messages: {', '.join(type(m).__name__ for m in messages)}")
        print(f"  checkpoints: {len(list(graph.get_state_history(THREAD)))}")
    print("OK: the ReAct agent paused for review and resumed in other processes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="react_agent.db", type=Path)
    parser.add_argument("--child", choices=["ask", "approve", "confirm"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db)
    else:
        orchestrate(args.db)


if __name__ == "__main__":
    main()
