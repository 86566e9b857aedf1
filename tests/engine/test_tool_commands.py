"""A ``Command`` returned by a LangChain tool reaches the graph's state (issue 6, item 2)."""

from typing import Annotated

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.messages.tool import ToolOutputMixin
from langchain_core.tools import InjectedToolCallId, tool

from tether.graph import END, START, MessagesState, StateGraph
from tether.types import Command


class NamedState(MessagesState):
    name: str


@tool
def set_name(name: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command:
    """Remember the user's name."""
    saved = ToolMessage("saved", tool_call_id=tool_call_id)
    return Command(update={"name": name, "messages": [saved]})


def test_command_is_a_tool_output_so_a_tool_call_returns_it():
    """LangGraph 1.2.22: ``Command`` subclasses ``ToolOutputMixin``, so
    ``tool.invoke(tool_call)`` returns the Command itself, not a ToolMessage wrapping its repr.
    """
    assert isinstance(Command(update={}), ToolOutputMixin)
    call = {"name": "set_name", "args": {"name": "Bo"}, "id": "c2", "type": "tool_call"}
    result = set_name.invoke(call)
    assert isinstance(result, Command)
    assert result.update["name"] == "Bo"
    assert result.update["messages"][0].tool_call_id == "c2"


def test_a_tools_command_update_reaches_the_state(saver, thread):
    """The "customize state" tutorial: a tool with ``InjectedToolCallId`` returns
    ``Command(update=...)``; LangGraph 1.2.22 ends with ``name == 'Ada'`` and the messages
    ``['AIMessage', 'ToolMessage']``, the last one's content ``'saved'``.
    """

    def call_tools(state: NamedState) -> list[Command]:
        calls = state["messages"][-1].tool_calls
        return [set_name.invoke({**c, "type": "tool_call"}) for c in calls]

    builder = StateGraph(NamedState)
    builder.add_node("tools", call_tools)
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    graph = builder.compile(checkpointer=saver)
    asked = AIMessage(
        "", id="ai1", tool_calls=[{"name": "set_name", "args": {"name": "Ada"}, "id": "call1"}]
    )
    out = graph.invoke({"messages": [asked]}, thread)
    assert out["name"] == "Ada"
    assert [type(m).__name__ for m in out["messages"]] == ["AIMessage", "ToolMessage"]
    assert out["messages"][-1].content == "saved"
    assert graph.get_state(thread).values["name"] == "Ada"
