"""create_react_agent and ToolNode on every saver: human review before tools, interrupt()
inside a tool, tools returning Command, structured responses read back from storage."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from tests.prebuilt.scenarios import (
    Forecast,
    calls,
    get_weather,
    load,
    model,
    name_saver,
    user_script,
    user_state,
)

from tether.prebuilt import InjectedState, create_react_agent
from tether.prebuilt.chat_agent_executor import AgentStatePydantic
from tether.prebuilt.interrupt import HumanInterrupt, HumanResponse
from tether.types import Command, interrupt


def config(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def contents(messages: list[BaseMessage]) -> list[tuple[str, Any]]:
    return [(m.type, m.content) for m in messages]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_agent_pauses_before_tools_and_resumes(saver: Any, version: str) -> None:
    llm = model()
    agent = create_react_agent(
        llm, [get_weather], checkpointer=saver, interrupt_before=["tools"], version=version
    )
    cfg = config(f"review-{version}")
    agent.invoke({"messages": [HumanMessage("weather in sf and nyc?")]}, cfg)
    paused = agent.get_state(cfg)
    assert paused.next == (("tools", "tools") if version == "v2" else ("tools",))
    assert [c["args"] for c in paused.values["messages"][-1].tool_calls] == [
        {"city": "sf"},
        {"city": "nyc"},
    ]
    assert len(llm.seen) == 1

    final = agent.invoke(None, cfg)
    assert contents(final["messages"][2:]) == [
        ("tool", "It's 60 degrees and foggy."),
        ("tool", "It's 90 degrees and sunny."),
        ("ai", "Turn 1: It's 60 degrees and foggy.; It's 90 degrees and sunny."),
    ]
    assert agent.get_state(cfg).next == ()
    assert len(llm.seen) == 2


def test_reviewer_edits_the_tool_call_before_it_runs(saver: Any) -> None:
    """The human-in-the-loop page's edit flow: update_state replaces the AI message by id."""
    agent = create_react_agent(
        model(), [get_weather], checkpointer=saver, interrupt_before=["tools"], version="v1"
    )
    cfg = config("edit")
    agent.invoke({"messages": [HumanMessage("weather?")]}, cfg)
    asked = agent.get_state(cfg).values["messages"][-1]
    edited = AIMessage("", id=asked.id, tool_calls=calls(("get_weather", {"city": "nyc"})))
    agent.update_state(cfg, {"messages": [edited]})

    final = agent.invoke(None, cfg)
    assert contents(final["messages"][2:]) == [
        ("tool", "It's 90 degrees and sunny."),
        ("ai", "Turn 1: It's 90 degrees and sunny."),
    ]


@tool
def book_hotel(hotel: str) -> str:
    """Book a hotel, after a human reviews the booking."""
    request = HumanInterrupt(
        action_request={"action": "book_hotel", "args": {"hotel": hotel}},
        config={
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": False,
        },
        description="Please review the booking",
    )
    response: HumanResponse = interrupt([request])[0]
    if response["type"] == "response":
        return f"Not booked: {response['args']}"
    return f"Booked a stay at {hotel}."


def hotel_script(messages: list[BaseMessage]) -> AIMessage:
    if not isinstance(messages[-1], ToolMessage):
        return AIMessage("", tool_calls=calls(("book_hotel", {"hotel": "McKittrick"})))
    return AIMessage(f"Done: {messages[-1].content}")


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        ({"type": "accept", "args": None}, "Booked a stay at McKittrick."),
        ({"type": "response", "args": "too expensive"}, "Not booked: too expensive"),
    ],
)
def test_interrupt_inside_a_tool_waits_for_the_human(
    saver: Any, answer: dict[str, Any], result: str
) -> None:
    agent = create_react_agent(model(hotel_script), [book_hotel], checkpointer=saver)
    cfg = config("hotel")
    first = agent.invoke({"messages": [HumanMessage("book McKittrick")]}, cfg)
    (pending,) = first["__interrupt__"]
    assert pending.value[0]["action_request"] == {
        "action": "book_hotel",
        "args": {"hotel": "McKittrick"},
    }
    assert agent.get_state(cfg).next == ("tools",)

    final = agent.invoke(Command(resume=[answer]), cfg)
    assert contents(final["messages"][-2:]) == [("tool", result), ("ai", f"Done: {result}")]


def test_two_tool_calls_interrupt_and_are_answered_by_id(saver: Any) -> None:
    """v2 sends each tool call to its own task, so each interrupt() has its own id."""

    def two_bookings(messages: list[BaseMessage]) -> AIMessage:
        if not isinstance(messages[-1], ToolMessage):
            pair = (("book_hotel", {"hotel": "Plaza"}), ("book_hotel", {"hotel": "Ritz"}))
            return AIMessage("", tool_calls=calls(*pair))
        return AIMessage("done")

    agent = create_react_agent(model(two_bookings), [book_hotel], checkpointer=saver)
    cfg = config("two")
    first = agent.invoke({"messages": [HumanMessage("book both")]}, cfg)
    by_hotel = {i.value[0]["action_request"]["args"]["hotel"]: i.id for i in first["__interrupt__"]}
    assert sorted(by_hotel) == ["Plaza", "Ritz"]
    answers = {
        by_hotel["Plaza"]: [{"type": "accept", "args": None}],
        by_hotel["Ritz"]: [{"type": "response", "args": "no"}],
    }
    final = agent.invoke(Command(resume=answers), cfg)
    assert contents(final["messages"][2:]) == [
        ("tool", "Booked a stay at Plaza."),
        ("tool", "Not booked: no"),
        ("ai", "done"),
    ]


UserState = user_state(load("tether"))
update_user_info = name_saver(load("tether"), "update_user_info", "Saved the name.")


@tool
def greet(user_name: Annotated[str, InjectedState("user_name")]) -> str:
    """Greet the user by name."""
    return f"Hello {user_name}!"


def test_tool_command_updates_the_stored_state(saver: Any) -> None:
    agent = create_react_agent(
        model(user_script), [update_user_info, greet], state_schema=UserState, checkpointer=saver
    )
    cfg = config("user")
    final = agent.invoke({"messages": [HumanMessage("I am Ada")]}, cfg)
    assert final["messages"][-1].content == "Hello Ada!"
    stored = agent.get_state(cfg).values
    assert stored["user_name"] == "Ada"
    assert [m.name for m in stored["messages"] if isinstance(m, ToolMessage)] == [
        "update_user_info",
        "greet",
    ]


class ForecastState(AgentStatePydantic):
    structured_response: Forecast | None = None


@pytest.mark.parametrize("state_schema", [None, ForecastState])
def test_structured_response_is_stored_and_read_back(saver: Any, state_schema: Any) -> None:
    agent = create_react_agent(
        model(),
        [get_weather],
        response_format=("Summarize.", Forecast),
        state_schema=state_schema,
        checkpointer=saver,
    )
    cfg = config("structured")
    agent.invoke({"messages": [HumanMessage("weather?")]}, cfg)
    stored = agent.get_state(cfg).values["structured_response"]
    assert stored == Forecast(summary="mixed", hot=False)


def test_async_agent_with_async_tool_pauses_and_resumes(saver: Any) -> None:
    @tool
    async def shout(text: str) -> str:
        """Shout the text."""
        await asyncio.sleep(0)
        return text.upper() + "!"

    def script(messages: list[BaseMessage]) -> AIMessage:
        if not isinstance(messages[-1], ToolMessage):
            return AIMessage("", tool_calls=calls(("shout", {"text": "hi"})))
        return AIMessage(f"said {messages[-1].content}")

    agent = create_react_agent(
        model(script), [shout], checkpointer=saver, interrupt_before=["tools"]
    )
    cfg = config("async")

    async def run() -> Any:
        await agent.ainvoke({"messages": [HumanMessage("shout hi")]}, cfg)
        assert (await agent.aget_state(cfg)).next == ("tools",)
        return await agent.ainvoke(None, cfg)

    final = asyncio.run(run())
    assert contents(final["messages"][-2:]) == [("tool", "HI!"), ("ai", "said HI!")]


def test_interrupt_inside_an_async_tool_resumes_in_an_async_run(saver: Any) -> None:
    @tool
    async def approve(amount: int) -> str:
        """Ask a human to approve a payment."""
        answer = interrupt({"approve": amount})
        return f"{amount} {'paid' if answer == 'yes' else 'refused'}"

    def script(messages: list[BaseMessage]) -> AIMessage:
        if not isinstance(messages[-1], ToolMessage):
            pair = (("approve", {"amount": 5}), ("approve", {"amount": 7}))
            return AIMessage("", tool_calls=calls(*pair))
        return AIMessage("done")

    agent = create_react_agent(model(script), [approve], checkpointer=saver, version="v2")
    cfg = config("async-interrupt")

    async def run() -> Any:
        first = await agent.ainvoke({"messages": [HumanMessage("pay")]}, cfg)
        ids = {i.value["approve"]: i.id for i in first["__interrupt__"]}
        return await agent.ainvoke(Command(resume={ids[5]: "yes", ids[7]: "no"}), cfg)

    final = asyncio.run(run())
    assert contents(final["messages"][2:]) == [
        ("tool", "5 paid"),
        ("tool", "7 refused"),
        ("ai", "done"),
    ]
