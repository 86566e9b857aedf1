"""Tool arguments the node fills in: the graph state (``InjectedState``) and the store
(``InjectedStore``).

Both markers subclass langchain-core's ``InjectedToolArg``, so the schema a model sees leaves
those arguments out; :func:`find_injections` reads a tool's annotations once, and
:meth:`Injections.apply` fills the arguments in for each call.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Union

from langchain_core.tools import BaseTool, InjectedToolArg

from tether.errors import ConfigurationError, InvalidUpdateError


class InjectedState(InjectedToolArg):
    """Annotate a tool argument ``Annotated[dict, InjectedState]`` to get the graph state, or
    ``Annotated[str, InjectedState("key")]`` to get one key of it."""

    def __init__(self, field: str | None = None) -> None:
        self.field = field


class InjectedStore(InjectedToolArg):
    """Annotate a tool argument ``Annotated[BaseStore, InjectedStore()]`` to get the graph's
    store (the one passed to ``compile(store=...)``)."""


@dataclasses.dataclass(frozen=True)
class Injections:
    """Which arguments of one tool the node fills in."""

    tool: str
    state: dict[str, str | None]
    """argument -> state key (None: the whole state)"""
    optional: frozenset[str]
    """state arguments with a default: left out when the state lacks their key"""
    store: str | None
    hidden: frozenset[str]
    """every injected argument: values the model sent for them are dropped"""

    def apply(
        self, call: dict[str, Any], state: Any, store: Any, messages_key: str
    ) -> dict[str, Any]:
        """The call's arguments with the model's values for injected ones replaced."""
        args = {k: v for k, v in call["args"].items() if k not in self.hidden}
        if self.state:
            args.update(self._state_args(state, messages_key))
        if self.store is not None:
            if store is None:
                raise ConfigurationError(
                    f"tool {self.tool!r} takes an InjectedStore argument ({self.store!r}) but "
                    f"the graph has no store: compile it with store=..."
                )
            args[self.store] = store
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
    hidden: set[str] = set()
    for arg, hint in hints.items():
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
    return Injections(tool_.name, state, optional, store, frozenset(hidden))


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


def _is(marker: Any, kind: type) -> bool:
    return isinstance(marker, kind) or (isinstance(marker, type) and issubclass(marker, kind))


def _has_default(tool_: BaseTool, arg: str) -> bool:
    schema = tool_.args_schema
    fields = getattr(schema, "model_fields", None) if isinstance(schema, type) else None
    field = fields.get(arg) if fields else None
    return field is not None and not field.is_required()
