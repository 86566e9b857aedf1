"""``ToolNode``: a graph node that runs the tool calls of the latest AI message.

Same contract as LangGraph's ``langgraph.prebuilt.tool_node``: the node reads the last
``AIMessage`` in the state's messages (or a single call sent with ``Send``), runs its tool calls
in parallel (threads in sync runs, asyncio tasks in async runs) and answers each with a
``ToolMessage``. A tool may return a ``Command`` to update other state keys or jump. Tool
arguments annotated ``InjectedState``, ``InjectedStore`` or langchain-core's
``InjectedToolCallId`` are filled in by the node, never by the model.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

try:
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.tools import BaseTool, InjectedToolArg
    from langchain_core.tools import tool as as_tool
except ImportError as exc:  # pragma: no cover - depends on the environment
    from tether.prebuilt._requires import missing_langchain

    raise missing_langchain("tether.prebuilt.tool_node") from exc

from tether import _runtime_context
from tether.errors import InvalidGraphError
from tether.prebuilt._injection import (
    CallScope,
    InjectedState,
    InjectedStore,
    Injections,
    ToolRuntime,
    find_injections,
)
from tether.prebuilt._tool_results import (
    ErrorHandler,
    HandleToolErrors,
    ToolInvocationError,
    combine_outputs,
    error_message,
    is_control_flow,
    normalize_response,
    unknown_tool_message,
)

InputKind = Literal["list", "dict", "tool_calls"]
"""How the node was called: a message list, a state dict/object, or calls sent one by one."""

SEND_TYPE = "tool_call_with_context"
"""``Send("tools", {"__type": SEND_TYPE, "tool_call": call, "state": state})`` runs one call."""


def _default_handle_tool_errors(error: Exception) -> str:
    """Answer the model about arguments that fail the tool's schema; re-raise anything else."""
    if isinstance(error, ToolInvocationError):
        return error.message
    raise error


class ToolNode:
    """Run the tool calls of the latest ``AIMessage``; answer each with a ``ToolMessage``.

    ``handle_tool_errors`` decides what a failing tool does: the default answers the model
    when its arguments do not validate and re-raises other errors; ``True`` answers every
    error (``"Error: <repr>\\n Please fix your mistakes."``); a string is the answer; a
    callable ``(error) -> str`` answers the exception types its first parameter is annotated
    with; an exception class or tuple of them answers only those; ``False`` re-raises all.
    ``messages_key`` names the state key holding the messages. ``tags`` are kept on the node
    (``self.tags``) for tracing; tether does not read them.
    """

    def __init__(
        self,
        tools: Sequence[BaseTool | Callable[..., Any]],
        *,
        name: str = "tools",
        tags: list[str] | None = None,
        handle_tool_errors: HandleToolErrors = _default_handle_tool_errors,
        messages_key: str = "messages",
    ) -> None:
        self.name = name
        self.tags = tags
        self.messages_key = messages_key
        self._errors = ErrorHandler(handle_tool_errors)
        self._tools: dict[str, BaseTool] = {}
        self._injections: dict[str, Injections] = {}
        for item in tools:
            tool_ = item if isinstance(item, BaseTool) else as_tool(item)
            self._tools[tool_.name] = tool_
            self._injections[tool_.name] = find_injections(tool_)

    @property
    def tools_by_name(self) -> dict[str, BaseTool]:
        """The node's tools, by name."""
        return self._tools

    # -- running -------------------------------------------------------------------------------

    def __call__(self, input: Any, config: dict[str, Any]) -> Any:
        """Run the calls in parallel threads (each keeps the node's context for ``interrupt()``)."""
        calls, kind, state = self._parse(input)
        scope = self._scope(state, config)
        workers = config.get("max_concurrency") if isinstance(config, dict) else None
        outputs = _in_threads(
            [functools.partial(self._run_one, c, kind, scope) for c in calls], workers
        )
        return combine_outputs(outputs, kind, self.messages_key)

    async def tether_acall(self, input: Any, config: dict[str, Any]) -> Any:
        """The async twin of ``__call__``: the calls run as concurrent asyncio tasks."""
        calls, kind, state = self._parse(input)
        scope = self._scope(state, config)
        outputs = await asyncio.gather(*(self._arun_one(c, kind, scope) for c in calls))
        return combine_outputs(list(outputs), kind, self.messages_key)

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **_: Any) -> Any:
        """Run the node on ``input`` outside a graph (LangGraph 1.2.22's ToolNode raises there:
        it needs a graph's runtime). Injected stores are None."""
        return self(input, config or {})

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **_: Any) -> Any:
        return await self.tether_acall(input, config or {})

    def _run_one(self, call: dict[str, Any], kind: InputKind, scope: CallScope) -> Any:
        prepared = self._prepare(call, scope)
        if isinstance(prepared, ToolMessage):
            return prepared
        tool_, args = prepared
        try:
            response = tool_.invoke(args, scope.config)
        except Exception as error:
            return self._failed(call, error)
        return normalize_response(response, call, kind, self.messages_key)

    async def _arun_one(self, call: dict[str, Any], kind: InputKind, scope: CallScope) -> Any:
        prepared = self._prepare(call, scope)
        if isinstance(prepared, ToolMessage):
            return prepared
        tool_, args = prepared
        try:
            response = await tool_.ainvoke(args, scope.config)
        except Exception as error:
            return self._failed(call, error)
        return normalize_response(response, call, kind, self.messages_key)

    # -- the pieces both drivers share -----------------------------------------------------------

    def _prepare(
        self, call: dict[str, Any], scope: CallScope
    ) -> ToolMessage | tuple[BaseTool, dict[str, Any]]:
        """The tool and its call with injected arguments, or the answer to an unknown tool."""
        tool_ = self._tools.get(call["name"])
        if tool_ is None:
            return unknown_tool_message(call, list(self._tools))
        injections = self._injections[call["name"]]
        args = injections.apply(call, scope)
        return tool_, {**call, "args": args, "type": "tool_call"}

    def _failed(self, call: dict[str, Any], error: Exception) -> ToolMessage:
        """Turn a tool's exception into an error ``ToolMessage``, or re-raise it."""
        if is_control_flow(error):
            raise error
        error = ToolInvocationError.wrap(error, call, self._injections[call["name"]])
        content = self._errors.answer(error)
        if content is None:
            raise error
        return error_message(content, call)

    def _parse(self, input: Any) -> tuple[list[dict[str, Any]], InputKind, Any]:
        """The tool calls to run, the kind of input, and the state tools may be injected."""
        if isinstance(input, dict) and input.get("__type") == SEND_TYPE:
            return [input["tool_call"]], "tool_calls", input.get("state", {})
        if isinstance(input, list) and input and _is_tool_call(input[-1]):
            return list(input), "tool_calls", {}
        kind: InputKind = "list" if isinstance(input, list) else "dict"
        if isinstance(input, list):
            messages = input
        elif isinstance(input, dict):
            messages = input.get(self.messages_key) or []
        else:
            messages = getattr(input, self.messages_key, None) or []
        if not messages:
            raise InvalidGraphError(
                f"ToolNode {self.name!r} found no messages in its input (looked for the "
                f"{self.messages_key!r} key); give it the graph state or a list of messages"
            )
        last_ai = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
        if last_ai is None:
            raise InvalidGraphError(
                f"ToolNode {self.name!r} found no AIMessage in its input: it runs the tool "
                f"calls of the latest AIMessage"
            )
        return [dict(c) for c in last_ai.tool_calls], kind, input

    def _scope(self, state: Any, config: Any) -> CallScope:
        """What the tools of this run may be given (the graph's store, writer and context)."""
        ctx = _runtime_context.current()
        runtime = ctx.runtime if ctx is not None else None
        return CallScope(
            state=state,
            config=config,
            store=ctx.store if ctx is not None else None,
            writer=ctx.writer if ctx is not None else _no_writer,
            context=getattr(runtime, "context", None),
            tools=list(self._tools.values()),
            messages_key=self.messages_key,
        )


def _no_writer(_chunk: Any) -> None:
    return None


def _in_threads(jobs: list[Callable[[], Any]], workers: int | None) -> list[Any]:
    """Run ``jobs`` in parallel threads, each in a copy of this context; their results in
    order. The first failure (an interrupt too) cancels the jobs not started yet."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(contextvars.copy_context().run, job) for job in jobs]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _is_tool_call(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "tool_call"


def tools_condition(state: Any, messages_key: str = "messages") -> Literal["tools", "__end__"]:
    """Route to ``"tools"`` when the last message asks for tool calls, else to END.

    ``state`` is a list of messages, a state dict or a state object with a messages field.
    """
    if isinstance(state, list):
        messages = state
    elif isinstance(state, dict):
        messages = state.get(messages_key) or []
    else:
        messages = getattr(state, messages_key, None) or []
    if not messages:
        raise InvalidGraphError(
            f"tools_condition found no messages in the state (looked for the {messages_key!r} "
            f"key); pass messages_key= if the state keeps them elsewhere"
        )
    return "tools" if getattr(messages[-1], "tool_calls", None) else "__end__"


__all__ = [
    "InjectedState",
    "InjectedStore",
    "InjectedToolArg",
    "ToolInvocationError",
    "ToolNode",
    "ToolRuntime",
    "tools_condition",
]
