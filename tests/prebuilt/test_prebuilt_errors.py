"""tether.prebuilt's own behaviour: clear errors for bad setups and bad tool results, the
missing-LangChain error, ToolNode used outside a graph, dynamic models."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from typing_extensions import TypedDict

from tether.errors import (
    ConfigurationError,
    InvalidGraphError,
    InvalidUpdateError,
    MissingDependency,
)
from tether.graph import START, MessagesState, StateGraph
from tether.prebuilt import InjectedStore, ToolNode, create_react_agent
from tether.types import Command

from .scenarios import calls, get_weather, model


def ask(*items: tuple[str, dict[str, Any]]) -> AIMessage:
    return AIMessage("", tool_calls=calls(*items))


def test_toolnode_runs_outside_a_graph_on_a_list_or_a_state() -> None:
    node = ToolNode([get_weather])
    call = ask(("get_weather", {"city": "sf"}), ("get_weather", {"city": "nyc"}))
    as_list = node.invoke([HumanMessage("hi"), call])
    assert [m.content for m in as_list] == [
        "It's 60 degrees and foggy.",
        "It's 90 degrees and sunny.",
    ]
    as_state = node.invoke({"messages": [call]})
    assert [m.tool_call_id for m in as_state["messages"]] == ["call_0_0", "call_0_1"]


def test_toolnode_reads_another_messages_key() -> None:
    node = ToolNode([get_weather], messages_key="chat")
    out = node.invoke({"chat": [ask(("get_weather", {"city": "sf"}))]})
    assert out["chat"][0].content == "It's 60 degrees and foggy."


def test_toolnode_without_an_ai_message_says_what_it_needs() -> None:
    node = ToolNode([get_weather])
    with pytest.raises(InvalidGraphError, match="no AIMessage"):
        node.invoke({"messages": [HumanMessage("hi")]})
    with pytest.raises(InvalidGraphError, match="no messages .* 'messages' key"):
        node.invoke({"other": []})


def test_injected_store_without_a_store_names_the_tool() -> None:
    @tool
    def save(note: str, store: Annotated[Any, InjectedStore()]) -> str:
        """Save a note."""
        return "saved"

    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([save]))
    builder.add_edge(START, "tools")
    graph = builder.compile()
    with pytest.raises(ConfigurationError, match="tool 'save' .* compile it with store="):
        graph.invoke({"messages": [ask(("save", {"note": "x"}))]})


def test_a_command_must_answer_its_tool_call() -> None:
    @tool
    def silent(x: int) -> Command:
        """Update state without answering."""
        return Command(update={"messages": []})

    node = ToolNode([silent])
    with pytest.raises(InvalidUpdateError, match="no ToolMessage for tool call 'call_0_0'"):
        node.invoke({"messages": [ask(("silent", {"x": 1}))]})


def test_a_command_answering_the_call_is_named_after_the_tool() -> None:
    @tool
    def answer(x: int) -> Command:
        """Answer with a Command."""
        return Command(update={"messages": [ToolMessage("ok", tool_call_id="call_0_0")]})

    out = ToolNode([answer]).invoke({"messages": [ask(("answer", {"x": 1}))]})
    (command,) = out
    assert command.update["messages"][0].name == "answer"


def test_handle_tool_errors_with_a_non_exception_annotation_is_refused() -> None:
    def handler(e: int) -> str:
        return "x"

    with pytest.raises(ConfigurationError, match="annotate its first parameter"):
        ToolNode([get_weather], handle_tool_errors=handler)


def test_create_react_agent_names_missing_state_keys() -> None:
    class Bare(TypedDict):
        messages: list

    with pytest.raises(InvalidGraphError, match=r"lacks key\(s\) \['remaining_steps'\]"):
        create_react_agent(model(), [get_weather], state_schema=Bare)


def test_bound_tools_must_match_the_agent_tools() -> None:
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.runnables import RunnableBinding

    bound = RunnableBinding(
        bound=FakeMessagesListChatModel(responses=[AIMessage("x")]),
        kwargs={"tools": [{"type": "function", "function": {"name": "other"}}]},
    )
    with pytest.raises(ConfigurationError, match=r"tools \['get_weather'\] are not bound"):
        create_react_agent(bound, [get_weather])


def test_a_dynamic_model_is_picked_per_call() -> None:
    picked: list[int] = []

    def choose(state: Any, runtime: Any) -> Any:
        picked.append(len(state["messages"]))
        return model()

    agent = create_react_agent(choose, [get_weather])
    final = agent.invoke({"messages": [HumanMessage("weather?")]})
    assert final["messages"][-1].content.startswith("Turn 1:")
    assert picked == [1, 4]


def test_missing_langchain_gives_one_actionable_error() -> None:
    """Without langchain-core, the core and the interrupt payload types still import."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["langchain_core"] = None  # as if not installed
        import tether.graph, tether.prebuilt
        from tether.prebuilt.interrupt import HumanInterrupt, HumanResponse
        from tether.errors import MissingDependency
        try:
            from tether.prebuilt import create_react_agent
        except MissingDependency as exc:
            assert isinstance(exc, ImportError)
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "tether[langchain]"' in done.stdout
    assert issubclass(MissingDependency, ConfigurationError)


def test_an_async_model_callable_runs_in_async_runs_only() -> None:
    async def choose(state: Any, runtime: Any) -> Any:
        return model()

    agent = create_react_agent(choose, [get_weather])
    with pytest.raises(ConfigurationError, match="the model callable is async"):
        agent.invoke({"messages": [HumanMessage("weather?")]})
    final = asyncio.run(agent.ainvoke({"messages": [HumanMessage("weather?")]}))
    assert final["messages"][-1].content.startswith("Turn 1:")


def test_sync_tool_calls_run_at_the_same_time() -> None:
    """Both calls must be inside the tool together to pass the barrier (else it times out)."""
    barrier = threading.Barrier(2, timeout=10)

    @tool
    def meet(who: str) -> str:
        """Wait for the other call."""
        barrier.wait()
        return f"{who} met"

    node = ToolNode([meet])
    out = node.invoke({"messages": [ask(("meet", {"who": "a"}), ("meet", {"who": "b"}))]})
    assert [m.content for m in out["messages"]] == ["a met", "b met"]


def test_async_tool_calls_run_at_the_same_time() -> None:
    async def run() -> Any:
        arrived: list[str] = []
        both = asyncio.Event()

        @tool
        async def meet(who: str) -> str:
            """Wait for the other call."""
            arrived.append(who)
            if len(arrived) == 2:
                both.set()
            await asyncio.wait_for(both.wait(), timeout=10)
            return f"{who} met"

        node = ToolNode([meet])
        msg = ask(("meet", {"who": "a"}), ("meet", {"who": "b"}))
        return await node.ainvoke({"messages": [msg]})

    out = asyncio.run(run())
    assert [m.content for m in out["messages"]] == ["a met", "b met"]


def test_a_model_named_by_string_needs_langchain() -> None:
    try:
        import langchain  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("langchain is installed here: the string form would build a real model")
    with pytest.raises(MissingDependency, match="pip install langchain"):
        create_react_agent("openai:gpt-4o", [get_weather])
