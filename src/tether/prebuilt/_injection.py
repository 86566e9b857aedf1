"""Tool arguments the node fills in: the graph state (``InjectedState``), the store
(``InjectedStore``) and everything at once (``ToolRuntime``, or an argument named ``runtime``).

The markers are langchain-core's injected-argument kinds, so the schema a model sees leaves
those arguments out; :func:`find_injections` reads a tool's annotations once, and
:meth:`Injections.apply` fills the arguments in for each call.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar, Union

from langchain_core.tools import BaseTool, InjectedToolArg
from langchain_core.tools.base import _DirectlyInjectedToolArg

from tether.errors import ConfigurationError, InvalidUpdateError


class InjectedState(InjectedToolArg):
    """Annotate a tool argument ``Annotated[dict, InjectedState]`` to get the graph state, or
    ``Annotated[str, InjectedState("key")]`` to get one key of it."""

    def __init__(self, field: str | None = None) -> None:
        self.field = field


class InjectedStore(InjectedToolArg):
    """Annotate a tool argument ``Annotated[BaseStore, InjectedStore()]`` to get the graph's
    store (the one passed to ``compile(store=...)``)."""


ContextT = TypeVar("ContextT")
StateT = TypeVar("StateT")


@dataclasses.dataclass
class ToolRuntime(_DirectlyInjectedToolArg, Generic[ContextT, StateT]):
    """What a tool argument annotated ``ToolRuntime`` (or named ``runtime``) gets: the graph
    state, the run's context, config, stream writer and store, the call's id, and the node's
    tools."""

    state: StateT
    context: ContextT
    config: Any
    stream_writer: Callable[[Any], None]
    tool_call_id: str | None
    store: Any
    tools: list[BaseTool] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class CallScope:
    """What one ToolNode run offers its tools: the state, the config and the graph's runtime."""

    state: Any
    config: Any
    store: Any
    writer: Callable[[Any], None]
    context: Any
    tools: list[BaseTool]
    messages_key: str

    def runtime(self, call: dict[str, Any]) -> ToolRuntime[Any, Any]:
        return ToolRuntime(
            state=self.state,
            context=self.context,
            config=self.config,
            stream_writer=self.writer,
            tool_call_id=call.get("id"),
            store=self.store,
            tools=self.tools,
        )


@dataclasses.dataclass(frozen=True)
class Injections:
    """Which arguments of one tool the node fills in."""

    tool: str
    state: dict[str, str | None]
    """argument -> state key (None: the whole state)"""
    optional: frozenset[str]
    """state arguments with a default: left out when the state lacks their key"""
    store: str | None
    runtime: str | None
    hidden: frozenset[str]
    """every injected argument: values the model sent for them are dropped"""

    def apply(self, call: dict[str, Any], scope: CallScope) -> dict[str, Any]:
        """The call's arguments with the model's values for injected ones replaced."""
        args = {k: v for k, v in call["args"].items() if k not in self.hidden}
        if self.state:
            args.update(self._state_args(scope.state, scope.messages_key))
        if self.runtime is not None:
            args[self.runtime] = scope.runtime(call)
        if self.store is not None:
            if scope.store is None:
                raise ConfigurationError(
                    f"tool {self.tool!r} takes an InjectedStore argument ({self.store!r}) but "
                    f"the graph has no store: compile it with store=..."
                )
            args[self.store] = scope.store
        return args

    def _state_args(self, state: Any, messages_key: str) -> dict[str, Any]:
        if isinstance(state, list):  # the node was given messages, not a state
            if set(self.state.values()) <= {None, messages_key}:
                state = {messages_key: state}
            else:
                wanted = sorted(f for f in self.state.values() if f)
                raise InvalidUpdateError(
                    f"tool {self.tool!r} reads state keys {wanted} but the ToolNode was given "
                    f"a list of messages; give it the graph state instead"
                )
        out: dict[str, Any] = {}
        for arg, key in self.state.items():
            if key is None:
                out[arg] = state
                continue
            found, value = _read(state, key)
            if found:
                out[arg] = value
            elif arg not in self.optional:
                raise InvalidUpdateError(
                    f"tool {self.tool!r} reads state key {key!r} (argument {arg!r}) but the "
                    f"state has no such key"
                )
        return out


def _read(state: Any, key: str) -> tuple[bool, Any]:
    if isinstance(state, dict):
        return (key in state), state.get(key)
    return hasattr(state, key), getattr(state, key, None)


def find_injections(tool_: BaseTool) -> Injections:
    """Read ``tool_``'s annotations for InjectedState, InjectedStore and other injected args."""
    hints = _annotations(tool_)
    state: dict[str, str | None] = {}
    store: str | None = None
    runtime: str | None = None
    hidden: set[str] = set()
    for arg, hint in hints.items():
        if arg == "runtime" or _is_runtime(hint):
            runtime = arg
            hidden.add(arg)
            continue
        markers = list(_markers(hint))
        if not markers:
            continue
        hidden.add(arg)
        for marker in markers:
            if _is(marker, InjectedState):
                state[arg] = marker.field if isinstance(marker, InjectedState) else None
            elif _is(marker, InjectedStore):
                store = arg
    optional = frozenset(arg for arg in state if _has_default(tool_, arg))
    return Injections(tool_.name, state, optional, store, runtime, frozenset(hidden))


def _annotations(tool_: BaseTool) -> dict[str, Any]:
    """Argument annotations from the tool's function and from its args schema, with extras."""
    hints: dict[str, Any] = {}
    fn = getattr(tool_, "func", None) or getattr(tool_, "coroutine", None)
    schema = tool_.args_schema if isinstance(tool_.args_schema, type) else None
    for source in (fn, schema):
        if source is None:
            continue
        try:
            hints.update(typing.get_type_hints(source, include_extras=True))
        except (NameError, TypeError):
            continue
    hints.pop("return", None)
    return hints


def _markers(hint: Any) -> list[Any]:
    """InjectedToolArg markers (classes or instances) found in an annotation."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(hint)
        return [e for e in extras if _is(e, InjectedToolArg)] + _markers(base)
    if origin is Union or type(hint).__name__ == "UnionType":
        return [m for arg in typing.get_args(hint) for m in _markers(arg)]
    return [hint] if _is(hint, InjectedToolArg) else []


def _is_runtime(hint: Any) -> bool:
    """``ToolRuntime``, ``ToolRuntime[...]``, or either inside ``Annotated``/``Optional``."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated or origin is Union or type(hint).__name__ == "UnionType":
        return any(_is_runtime(arg) for arg in typing.get_args(hint))
    target = origin if origin is not None else hint
    return isinstance(target, type) and issubclass(target, ToolRuntime)


def _is(marker: Any, kind: type) -> bool:
    return isinstance(marker, kind) or (isinstance(marker, type) and issubclass(marker, kind))


def _has_default(tool_: BaseTool, arg: str) -> bool:
    schema = tool_.args_schema
    fields = getattr(schema, "model_fields", None) if isinstance(schema, type) else None
    field = fields.get(arg) if fields else None
    return field is not None and not field.is_required()
