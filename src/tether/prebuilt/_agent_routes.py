"""The edges of ``create_react_agent``: where the run goes after the model, its hook, the tools."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

from tether.constants import END
from tether.prebuilt._agent_model import state_value
from tether.prebuilt.tool_node import SEND_TYPE
from tether.types import Send

STRUCTURED = "generate_structured_response"
POST_HOOK = "post_model_hook"


@dataclasses.dataclass
class Routes:
    """The agent's conditional edges; the methods carry LangGraph's names because a tracer
    shows each as a run of that name."""

    entry: str
    """``"pre_model_hook"`` when there is one, else ``"agent"``"""
    post_hook: bool
    structured: bool
    version: str
    return_direct: set[str]

    def wire(self, graph: Any, tool_node: Any) -> None:
        """Add the agent's edges to ``graph``; ``tool_node`` is None for an agent without tools."""
        if tool_node is None:
            if self.structured:
                graph.add_edge(POST_HOOK if self.post_hook else "agent", STRUCTURED)
            return
        graph.add_node("tools", tool_node)
        graph.add_conditional_edges("agent", self.should_continue, self._model_targets())
        if self.post_hook:
            targets = [self.entry, "tools", STRUCTURED if self.structured else END]
            graph.add_conditional_edges(POST_HOOK, self.post_model_hook_router, targets)
        if self.return_direct:
            graph.add_conditional_edges("tools", self.route_tool_responses, [self.entry, END])
        else:
            graph.add_edge("tools", self.entry)

    def _model_targets(self) -> list[str]:
        first = POST_HOOK if self.post_hook else "tools"
        if self.post_hook:
            return [first]
        return [first, STRUCTURED if self.structured else END]

    def _done(self) -> str:
        if self.post_hook:
            return POST_HOOK
        return STRUCTURED if self.structured else END

    def should_continue(self, state: Any) -> Any:
        """To the tools when the model asked for some, else to the end of the turn."""
        last = state_value(state, "messages")[-1]
        if not isinstance(last, AIMessage) or not last.tool_calls:
            return self._done()
        if self.version == "v1":
            return "tools"
        if self.post_hook:
            return POST_HOOK
        return _sends(last.tool_calls, state)

    def post_model_hook_router(self, state: Any) -> Any:
        """Run the tool calls still unanswered; else back to the model after tool answers,
        or finish."""
        messages = state_value(state, "messages")
        answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
        last_ai = next(m for m in reversed(messages) if isinstance(m, AIMessage))
        pending = [c for c in last_ai.tool_calls if c["id"] not in answered]
        if pending:
            return _sends(pending, state)
        if isinstance(messages[-1], ToolMessage):
            return self.entry
        return STRUCTURED if self.structured else END

    def route_tool_responses(self, state: Any) -> str:
        """END when a return-direct tool answered last, else back to the model."""
        last: Any = None
        for last in reversed(state_value(state, "messages")):
            if not isinstance(last, ToolMessage):
                break
            if last.name in self.return_direct:
                return END
        if isinstance(last, AIMessage) and any(
            c["name"] in self.return_direct for c in last.tool_calls
        ):
            return END
        return self.entry


def _sends(calls: Sequence[Any], state: Any) -> list[Send]:
    return [
        Send("tools", {"__type": SEND_TYPE, "tool_call": call, "state": state}) for call in calls
    ]
