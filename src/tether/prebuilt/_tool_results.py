"""What a ``ToolNode`` makes of a tool's result or error: messages, commands, error answers."""

from __future__ import annotations

import copy
import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any, Union

from langchain_core.messages import RemoveMessage, ToolMessage, convert_to_messages
from langchain_core.tools import ToolException
from pydantic import ValidationError

from tether.errors import (
    ConfigurationError,
    GraphInterrupt,
    InvalidResumeError,
    InvalidUpdateError,
    ParentCommand,
)
from tether.messages import REMOVE_ALL_MESSAGES
from tether.types import Command, Send

HandleToolErrors = bool | str | Callable[..., str] | type[Exception] | tuple[type[Exception], ...]

_BLOCK_TYPES = frozenset(
    {"text", "image_url", "image", "json", "search_result", "custom_tool_call_output"}
    | {"document", "file"}
)


class ToolInvocationError(ToolException):
    """The model called a tool with arguments its schema rejects.

    ``message`` is what the model is told: the tool, the arguments it sent and what was wrong
    with them (injected arguments left out, the model never sees those).
    """

    def __init__(
        self,
        tool_name: str,
        source: ValidationError,
        tool_kwargs: dict[str, Any],
        hidden: frozenset[str],
    ) -> None:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid value')}"
            for e in source.errors()
            if not (e.get("loc") and e["loc"][0] in hidden)
        ]
        self.message = (
            f"Error invoking tool '{tool_name}' with kwargs {tool_kwargs} with error:\n "
            f"{chr(10).join(problems)}\n Please fix the error and try again."
        )
        self.tool_name = tool_name
        self.tool_kwargs = tool_kwargs
        self.source = source
        super().__init__(self.message)

    @classmethod
    def wrap(cls, error: Exception, call: dict[str, Any], injections: Any) -> Exception:
        """``error`` as a ToolInvocationError when it is the tool's argument validation."""
        if isinstance(error, ValidationError):
            return cls(call["name"], error, call["args"], injections.hidden)
        return error


def is_control_flow(error: BaseException) -> bool:
    """Errors that steer the graph (an interrupt, a jump to the parent): never answered."""
    return isinstance(error, GraphInterrupt | ParentCommand | InvalidResumeError)


class ErrorHandler:
    """``handle_tool_errors`` resolved once: which errors it answers, and with what text."""

    def __init__(self, flag: HandleToolErrors) -> None:
        self.flag = flag
        self.handles: tuple[type[BaseException], ...]
        if isinstance(flag, tuple):
            self.handles = flag
        elif isinstance(flag, type) and issubclass(flag, BaseException):
            self.handles = (flag,)
        elif isinstance(flag, bool | str):
            self.handles = (Exception,)
        elif callable(flag):
            self.handles = _handled_types(flag)
        else:
            raise ConfigurationError(
                f"handle_tool_errors={flag!r}: pass a bool, a string, a callable "
                f"(error) -> str, or exception classes"
            )

    def answer(self, error: Exception) -> str | None:
        """The text to answer the model with, or None when the error must propagate."""
        if self.flag is False or not isinstance(error, self.handles):
            return None
        if isinstance(self.flag, str):
            return self.flag
        if callable(self.flag) and not isinstance(self.flag, type):
            return self.flag(error)
        return f"Error: {error!r}\n Please fix your mistakes."


def _handled_types(handler: Callable[..., Any]) -> tuple[type[BaseException], ...]:
    """The exception types a handler's first parameter is annotated with (Exception if none)."""
    params = list(inspect.signature(handler).parameters.values())
    if not params:
        return (Exception,)
    first = params[1] if params[0].name in ("self", "cls") and len(params) == 2 else params[0]
    try:
        hint = typing.get_type_hints(handler).get(first.name)
    except (NameError, TypeError):
        hint = None
    if hint is None:
        return (Exception,)
    options = (
        typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
    )
    if all(isinstance(t, type) and issubclass(t, BaseException) for t in options):
        return tuple(options)
    raise ConfigurationError(
        f"handle_tool_errors={handler!r}: annotate its first parameter with exception classes "
        f"(`def handler(e: ValueError)` or `e: ValueError | TypeError`), not {hint!r}"
    )


def error_message(content: str, call: dict[str, Any]) -> ToolMessage:
    return ToolMessage(content, name=call["name"], tool_call_id=call["id"], status="error")


def unknown_tool_message(call: dict[str, Any], known: list[str]) -> ToolMessage:
    return error_message(
        f"Error: {call['name']} is not a valid tool, try one of [{', '.join(known)}].", call
    )


def message_content(output: Any) -> Any:
    """A tool result as message content: strings and content blocks as they are, else JSON."""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(
        isinstance(x, dict) and x.get("type") in _BLOCK_TYPES for x in output
    ):
        return output
    try:
        return json.dumps(output, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(output)


def normalize_response(response: Any, call: dict[str, Any], kind: str, key: str) -> Any:
    """Check a tool's result: a ToolMessage, a Command, or a list of them."""
    if isinstance(response, Command):
        return _checked_command(response, call, kind, key, terminates=True)
    if isinstance(response, ToolMessage):
        response.content = message_content(response.content)
        return response
    if isinstance(response, list) and all(isinstance(r, Command | ToolMessage) for r in response):
        return _checked_list(response, call, kind, key)
    raise InvalidUpdateError(
        f"tool {call['name']!r} returned {type(response).__name__}; a tool called by a "
        f"ToolNode returns a value, a ToolMessage, a Command, or a list of ToolMessage/Command"
    )


def _checked_list(response: list[Any], call: dict[str, Any], kind: str, key: str) -> list[Any]:
    """A list result must answer the call exactly once (one ToolMessage with its id)."""
    answers = sum(
        1
        for item in response
        for m in (_command_messages(item, key) if isinstance(item, Command) else [item])
        if isinstance(m, ToolMessage) and m.tool_call_id == call["id"]
    )
    if answers != 1:
        raise InvalidUpdateError(
            f"tool {call['name']!r} returned a list with {answers} ToolMessages for tool call "
            f"{call['id']!r}; it must hold exactly one"
        )
    out: list[Any] = []
    for item in response:
        if isinstance(item, Command):
            out.append(_checked_command(item, call, kind, key, terminates=False))
        else:
            item.content = message_content(item.content)
            out.append(item)
    return out


def _command_messages(command: Command[Any], key: str) -> list[Any]:
    update = command.update
    if isinstance(update, dict):
        return list(update.get(key, []))
    return list(update) if isinstance(update, list) else []


def _checked_command(
    command: Command[Any], call: dict[str, Any], kind: str, key: str, *, terminates: bool
) -> Command[Any]:
    """A tool's Command, its ToolMessages named after the tool; it must answer the call."""
    update = command.update
    if isinstance(update, dict) and kind == "list":
        raise InvalidUpdateError(
            f"tool {call['name']!r} returned Command(update={{...}}) but the ToolNode was "
            f"given a list of messages; update with a list of messages, or give it the state"
        )
    if isinstance(update, list) and kind != "list":
        raise InvalidUpdateError(
            f"tool {call['name']!r} returned Command(update=[...]) but the ToolNode was given "
            f"the graph state; update with a dict such as {{{key!r}: [ToolMessage(...)]}}"
        )
    if not isinstance(update, dict | list):
        return command
    command = copy.deepcopy(command)
    messages = convert_to_messages(_command_messages(command, key))
    clears_all = len(messages) == 1 and isinstance(messages[0], RemoveMessage)
    if clears_all and messages[0].id == REMOVE_ALL_MESSAGES:
        return command
    answered = False
    for message in messages:
        if isinstance(message, ToolMessage) and message.tool_call_id == call["id"]:
            message.name = call["name"]
            answered = True
    if terminates and command.graph is None and not answered:
        raise InvalidUpdateError(
            f"tool {call['name']!r} returned a Command whose update has no ToolMessage for "
            f"tool call {call['id']!r}; every tool call needs an answer: put "
            f"ToolMessage(..., tool_call_id=tool_call_id) in the update's {key!r}"
        )
    return command


def combine_outputs(outputs: list[Any], kind: str, key: str) -> Any:
    """The node's return value: the messages, or commands plus messages when a tool
    returned a Command (jumps to the parent graph made of Sends are merged into one)."""
    flat: list[Any] = []
    for output in outputs:
        flat.extend(output if isinstance(output, list) else [output])
    if not any(isinstance(o, Command) for o in flat):
        return flat if kind == "list" else {key: flat}
    combined: list[Any] = []
    parent_sends: list[Send] = []
    for output in flat:
        if not isinstance(output, Command):
            combined.append([output] if kind == "list" else {key: [output]})
        elif _sends_to_parent(output):
            parent_sends.extend(output.goto)  # type: ignore[arg-type]
        else:
            combined.append(output)
    if parent_sends:
        combined.append(Command(graph=Command.PARENT, goto=parent_sends))
    return combined


def _sends_to_parent(command: Command[Any]) -> bool:
    goto = command.goto
    return (
        command.graph == Command.PARENT
        and isinstance(goto, list)
        and all(isinstance(g, Send) for g in goto)
    )
