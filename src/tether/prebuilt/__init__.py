"""Ready-made agent parts, LangGraph's ``langgraph.prebuilt``: ``create_react_agent``,
``ToolNode``, ``tools_condition``, ``InjectedState``, ``InjectedStore``, ``ToolRuntime``.

They run LangChain tools and chat models, so they need langchain-core
(``pip install "tether[langchain]"``). The names load on first use: importing
``tether.prebuilt.interrupt`` (plain TypedDicts) works without LangChain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.prebuilt.chat_agent_executor import AgentState, create_react_agent
    from tether.prebuilt.tool_node import (
        InjectedState,
        InjectedStore,
        ToolNode,
        ToolRuntime,
        tools_condition,
    )

_HOMES = {
    "create_react_agent": "tether.prebuilt.chat_agent_executor",
    "AgentState": "tether.prebuilt.chat_agent_executor",
    "ToolNode": "tether.prebuilt.tool_node",
    "tools_condition": "tether.prebuilt.tool_node",
    "InjectedState": "tether.prebuilt.tool_node",
    "InjectedStore": "tether.prebuilt.tool_node",
    "ToolRuntime": "tether.prebuilt.tool_node",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tether.prebuilt' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


__all__ = [
    "AgentState",
    "InjectedState",
    "InjectedStore",
    "ToolNode",
    "ToolRuntime",
    "create_react_agent",
    "tools_condition",
]
