"""The payloads of LangGraph's human-in-the-loop convention (``langgraph.prebuilt.interrupt``).

A node asks a human with ``interrupt([HumanInterrupt(...)])`` and gets back a list of
``HumanResponse``. These are plain TypedDicts: they need no LangChain and store as dicts.
"""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict


class HumanInterruptConfig(TypedDict):
    """Which answers the human may give: ignore, respond (free text), edit, accept."""

    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class ActionRequest(TypedDict):
    """An action put to the human: its name (``action``) and its arguments (``args``)."""

    action: str
    args: dict


class HumanInterrupt(TypedDict):
    """What the graph sends to the human: the request, the allowed answers and a description."""

    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str | None


class HumanResponse(TypedDict):
    """The human's answer: ``type`` is accept / ignore / response / edit; ``args`` is None
    (accept, ignore), the text (response) or an edited ``ActionRequest`` (edit)."""

    type: Literal["accept", "ignore", "response", "edit"]
    args: str | ActionRequest | None


__all__ = ["ActionRequest", "HumanInterrupt", "HumanInterruptConfig", "HumanResponse"]
