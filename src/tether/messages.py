"""Chat messages: tether's light message classes and coercion into the active message family.

Two families of message classes exist. When ``langchain_core`` is importable, the state holds
LangChain's own classes (``langchain_core.messages.HumanMessage`` ...), exactly as LangGraph does,
so chat models and LangChain helpers accept them. Otherwise tether's dataclasses below stand in:
same attribute names (``content``, ``id``, ``name``, ``type``, ``additional_kwargs``,
``response_metadata``, ``AIMessage.tool_calls``, ``ToolMessage.tool_call_id``), equality by value.
:func:`message_classes` makes the choice once per process; the environment variable
``TETHER_MESSAGE_CLASSES`` (``auto`` | ``langchain`` | ``tether``, read on first use) overrides it.

A leaf module: it imports only the standard library and ``tether.errors`` (and ``langchain_core``
lazily), so the serializer can put :data:`SERIALIZABLE_TYPES` on its allowlist.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

from tether.errors import ConfigurationError, InvalidUpdateError

REMOVE_ALL_MESSAGES = "__remove_all__"
"""``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` in an update clears every message before it."""

_ENV_VAR = "TETHER_MESSAGE_CLASSES"
_ROLES = "'human'/'user', 'ai'/'assistant', 'system'/'developer', 'tool' or 'remove'"


@dataclass(slots=True, repr=False)
class BaseMessage:
    """A chat message. ``content`` is a string or a list of content blocks (str or dict)."""

    content: str | list[str | dict[str, Any]] = ""
    _: KW_ONLY
    id: str | None = None
    name: str | None = None
    additional_kwargs: dict[str, Any] = field(default_factory=dict)
    response_metadata: dict[str, Any] = field(default_factory=dict)

    type: ClassVar[str] = "base"

    def __repr__(self) -> str:
        shown = [f"content={self.content!r}"]
        for f in dataclasses.fields(self)[1:]:
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
                continue
            shown.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def text(self) -> str:
        """The text of the message: ``content`` itself, or its text blocks joined."""
        if isinstance(self.content, str):
            return self.content
        parts = [
            b if isinstance(b, str) else str(b.get("text", ""))
            for b in self.content
            if isinstance(b, str) or b.get("type") == "text"
        ]
        return "".join(parts)

    def pretty_repr(self) -> str:
        """A titled, human-readable rendering like LangChain's ``pretty_repr``."""
        title = f" {self.type.title()} Message "
        pad = "=" * ((80 - len(title)) // 2)
        lines = [f"{pad}{title}{pad}{'=' if len(title) % 2 else ''}"]
        if self.name is not None:
            lines.append(f"Name: {self.name}")
        lines.extend(["", self.text])
        return "\n".join(lines)

    def pretty_print(self) -> None:
        """Print :meth:`pretty_repr`."""
        print(self.pretty_repr())


@dataclass(slots=True, repr=False)
class HumanMessage(BaseMessage):
    """A message from the user."""

    type: ClassVar[str] = "human"


@dataclass(slots=True, repr=False)
class AIMessage(BaseMessage):
    """A message from the model; ``tool_calls`` holds ``{"name", "args", "id", "type"}`` dicts."""

    _: KW_ONLY
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    invalid_tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage_metadata: dict[str, Any] | None = None

    type: ClassVar[str] = "ai"

    def pretty_repr(self) -> str:
        """The base rendering plus one block per tool call."""
        lines = [BaseMessage.pretty_repr(self)]
        if self.tool_calls:
            lines.append("Tool Calls:")
        for call in self.tool_calls:
            lines.append(f"  {call.get('name')} ({call.get('id')})")
            lines.append(f"  Call ID: {call.get('id')}")
            args = call.get("args") or {}
            lines.append("  Args:")
            lines.extend(f"    {k}: {v}" for k, v in args.items())
        return "\n".join(lines)


@dataclass(slots=True, repr=False)
class SystemMessage(BaseMessage):
    """Instructions for the model."""

    type: ClassVar[str] = "system"


@dataclass(slots=True, repr=False)
class ToolMessage(BaseMessage):
    """The result of a tool call, answering the ``AIMessage`` tool call ``tool_call_id``."""

    _: KW_ONLY
    tool_call_id: str
    artifact: Any = None
    status: Literal["success", "error"] = "success"

    type: ClassVar[str] = "tool"


@dataclass(slots=True, repr=False, init=False)
class RemoveMessage(BaseMessage):
    """Not a message but an instruction to ``add_messages``: delete the message with ``id``."""

    type: ClassVar[str] = "remove"

    def __init__(
        self,
        id: str | None,
        *,
        content: str = "",
        name: str | None = None,
        additional_kwargs: dict[str, Any] | None = None,
        response_metadata: dict[str, Any] | None = None,
    ) -> None:
        if content:
            raise ValueError(f"RemoveMessage(id={id!r}) takes no content; got {content!r}")
        self.content = ""
        self.id = id
        self.name = name
        self.additional_kwargs = additional_kwargs if additional_kwargs is not None else {}
        self.response_metadata = response_metadata if response_metadata is not None else {}


AnyMessage: TypeAlias = HumanMessage | AIMessage | SystemMessage | ToolMessage
"""The messages that live in a state (``RemoveMessage`` only travels in updates)."""

SERIALIZABLE_TYPES: tuple[type[BaseMessage], ...] = (
    HumanMessage,
    AIMessage,
    SystemMessage,
    ToolMessage,
    RemoveMessage,
)
"""tether's message dataclasses, for the serializer's default allowlist."""

# Attributes beyond the base ones that a message of each kind carries across families.
_EXTRA_FIELDS: Mapping[str, tuple[str, ...]] = {
    "ai": ("tool_calls", "invalid_tool_calls", "usage_metadata"),
    "tool": ("tool_call_id", "artifact", "status"),
}
_KIND_ALIASES: Mapping[str, str] = {
    "user": "human",
    "assistant": "ai",
    "developer": "system",
    "HumanMessageChunk": "human",
    "AIMessageChunk": "ai",
    "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool",
}


@dataclass(frozen=True)
class MessageClasses:
    """The message family in use: its classes by kind and, for LangChain, its helpers module."""

    family: Literal["langchain", "tether"]
    base: type[Any]
    human: type[Any]
    ai: type[Any]
    system: type[Any]
    tool: type[Any]
    remove: type[Any]
    any_message: Any
    lc: Any = None  # the ``langchain_core.messages`` module, for the langchain family

    @functools.cached_property
    def by_kind(self) -> dict[str, type[Any]]:
        """Class per message kind ("human", "ai", "system", "tool", "remove")."""
        return {
            "human": self.human,
            "ai": self.ai,
            "system": self.system,
            "tool": self.tool,
            "remove": self.remove,
        }

    @functools.cached_property
    def plain(self) -> frozenset[type[Any]]:
        """Exact classes that pass through coercion untouched."""
        return frozenset(self.by_kind.values())


_TETHER_CLASSES = MessageClasses(
    "tether", BaseMessage, HumanMessage, AIMessage, SystemMessage, ToolMessage, RemoveMessage,
    AnyMessage,
)  # fmt: skip


def _langchain_classes() -> MessageClasses | None:
    try:
        lc = importlib.import_module("langchain_core.messages")
    except ImportError:
        return None
    return MessageClasses(
        "langchain", lc.BaseMessage, lc.HumanMessage, lc.AIMessage, lc.SystemMessage,
        lc.ToolMessage, lc.RemoveMessage, lc.AnyMessage, lc,
    )  # fmt: skip


@functools.cache
def message_classes() -> MessageClasses:
    """The message family for this process: LangChain's if importable, else tether's (cached)."""
    choice = os.environ.get(_ENV_VAR, "auto").strip().lower() or "auto"
    if choice not in ("auto", "langchain", "tether"):
        raise ConfigurationError(
            f"{_ENV_VAR}={choice!r} is not a message family; use 'auto', 'langchain' or 'tether'"
        )
    if choice == "tether":
        return _TETHER_CLASSES
    found = _langchain_classes()
    if found is not None:
        return found
    if choice == "langchain":
        raise ConfigurationError(
            f"{_ENV_VAR}=langchain but langchain-core is not installed; "
            "run `pip install 'tether[langchain]'` or unset the variable"
        )
    return _TETHER_CLASSES


def convert_to_messages(messages: Iterable[Any]) -> list[Any]:
    """Coerce message-likes into messages of the active family (see :func:`coerce_messages`).

    Ids are left as given; ``add_messages`` is what assigns missing ones.
    """
    return coerce_messages(list(messages), assign_ids=False, where="messages")


def coerce_messages(values: list[Any], *, assign_ids: bool, where: str) -> list[Any]:
    """Return a new list of messages of the active family, one per item of ``values``.

    An item may be a message (of either family; LangChain chunks become full messages), a dict
    ``{"role" | "type": ..., "content": ..., "id"?, "name"?, "tool_calls"?, "tool_call_id"?}``,
    a ``(role, content)`` pair, or a string (a human message). With ``assign_ids``, a message
    without an id gets a fresh uuid4 id; a caller's message object is copied, never mutated.
    ``where`` names the list in errors (``right[2]: ...``). Raises ``InvalidUpdateError``.
    """
    classes = message_classes()
    plain = classes.plain
    out: list[Any] = []
    for i, value in enumerate(values):
        if type(value) in plain:
            msg, ours = value, False
        else:
            msg, ours = _coerce_one(value, classes, f"{where}[{i}]")
        if assign_ids and msg.id is None:
            if not ours:
                msg = copy.copy(msg)
            msg.id = str(uuid.uuid4())
        out.append(msg)
    return out


def _coerce_one(value: Any, classes: MessageClasses, where: str) -> tuple[Any, bool]:
    """One item to a message; the flag says whether the message object is newly made."""
    lc = classes.lc
    if isinstance(value, classes.base):
        if lc is not None and isinstance(value, lc.BaseMessageChunk):
            return lc.message_chunk_to_message(value), True
        return value, False
    if isinstance(value, BaseMessage) or (lc is None and _is_foreign_message(value)):
        return _translate(value, classes, where), True
    if lc is not None:
        try:
            return lc.convert_to_messages([value])[0], True
        except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
            raise _cannot(value, where, str(exc)) from exc
    if isinstance(value, str):
        return HumanMessage(content=value), True
    if isinstance(value, dict):
        return _from_dict(value, where), True
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return _build(value[0], value[1], {}, where), True
    raise _cannot(value, where, "unsupported type")


def _is_foreign_message(value: Any) -> bool:
    """A message object of the other family (duck-typed: LangChain is not imported here)."""
    return (
        type(value).__module__.startswith("langchain_core.")
        and isinstance(getattr(value, "type", None), str)
        and hasattr(value, "content")
    )


def _translate(msg: Any, classes: MessageClasses, where: str) -> Any:
    """Rebuild a message of one family as the same kind of message of ``classes``' family."""
    kind = _KIND_ALIASES.get(msg.type, msg.type)
    cls = classes.by_kind.get(kind)
    if cls is None:
        raise _cannot(msg, where, f"message type {msg.type!r} has no {classes.family} equivalent")
    if kind == "remove":
        return cls(id=msg.id)
    kwargs: dict[str, Any] = {
        "content": msg.content,
        "id": msg.id,
        "name": msg.name,
        "additional_kwargs": dict(msg.additional_kwargs or {}),
        "response_metadata": dict(msg.response_metadata or {}),
    }
    for name in _EXTRA_FIELDS.get(kind, ()):
        if hasattr(msg, name):
            kwargs[name] = getattr(msg, name)
    return cls(**kwargs)


def _from_dict(data: Mapping[str, Any], where: str) -> BaseMessage:
    rest = dict(data)
    role = rest.pop("role", None)
    if role is None:
        role = rest.pop("type", None)
    if role is None or "content" not in rest:
        raise _cannot(data, where, "a message dict needs 'role' (or 'type') and 'content'")
    content = rest.pop("content") or ""
    return _build(role, content, rest, where)


def _build(role: Any, content: Any, rest: dict[str, Any], where: str) -> BaseMessage:
    """Make a tether message of ``role`` from ``content`` and the dict's other keys."""
    kind = _KIND_ALIASES.get(role, role) if isinstance(role, str) else None
    if kind not in ("human", "ai", "system", "tool", "remove"):
        raise _cannot(role, where, f"unknown role {role!r}; use {_ROLES}")
    if kind == "remove":
        return RemoveMessage(id=rest.get("id"))
    kwargs: dict[str, Any] = {}
    for name in ("id", "name", "response_metadata", *_EXTRA_FIELDS.get(kind, ())):
        if name in rest:
            kwargs[name] = rest.pop(name)
    extra = rest.pop("additional_kwargs", None) or {}
    extra = {**rest, **extra}
    if role == "developer":
        extra["__openai_role__"] = "developer"
    kwargs["additional_kwargs"] = extra
    if kind == "ai" and kwargs.get("tool_calls"):
        kwargs["tool_calls"] = [_tool_call(c, where) for c in kwargs["tool_calls"]]
    if kind == "tool" and kwargs.get("tool_call_id") is None:
        raise _cannot(role, where, "a tool message needs 'tool_call_id'")
    cls = _TETHER_CLASSES.by_kind[kind]
    return cls(content=content, **kwargs)


def _tool_call(call: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A tool call in LangChain's shape, converting OpenAI's ``{"function": {...}}`` shape."""
    if "function" not in call:
        return {**call, "type": "tool_call"}
    args = call["function"].get("arguments") or {}
    if isinstance(args, str):
        try:
            args = json.loads(args) if args else {}
        except ValueError as exc:
            raise _cannot(call, where, f"tool call arguments are not JSON: {exc}") from exc
    return {
        "name": call["function"]["name"],
        "args": args,
        "id": call.get("id"),
        "type": "tool_call",
    }


def _cannot(value: Any, where: str, why: str) -> InvalidUpdateError:
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return InvalidUpdateError(
        f"{where}: cannot make a message from {shown} ({type(value).__name__}): {why}. "
        "Use a message object, a dict with 'role' and 'content', a (role, content) pair "
        "or a string."
    )


def message_to_dict(message: Any) -> dict[str, Any]:
    """``{"type": kind, "data": {fields...}}``, LangChain's ``message_to_dict`` shape."""
    if isinstance(message, BaseMessage):
        data = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
        data["type"] = message.type
        return {"type": message.type, "data": data}
    lc = message_classes().lc
    if lc is not None and isinstance(message, lc.BaseMessage):
        return dict(lc.message_to_dict(message))
    raise TypeError(f"message_to_dict takes a message, got {type(message).__name__}")


def message_from_dict(data: Mapping[str, Any]) -> Any:
    """The inverse of :func:`message_to_dict`, as a message of the active family."""
    try:
        kind, fields = data["type"], dict(data["data"])
    except (KeyError, TypeError) as exc:
        raise InvalidUpdateError(
            f"message_from_dict needs {{'type': ..., 'data': {{...}}}}, got {data!r}"
        ) from exc
    fields.pop("type", None)
    cls = message_classes().by_kind.get(_KIND_ALIASES.get(kind, kind))
    if cls is None:
        raise InvalidUpdateError(f"message_from_dict: unknown message type {kind!r}; use {_ROLES}")
    if cls is message_classes().remove:
        return cls(id=fields.get("id"))
    return cls(**fields)


__all__ = [
    "AIMessage",
    "AnyMessage",
    "BaseMessage",
    "HumanMessage",
    "MessageClasses",
    "REMOVE_ALL_MESSAGES",
    "RemoveMessage",
    "SERIALIZABLE_TYPES",
    "SystemMessage",
    "ToolMessage",
    "coerce_messages",
    "convert_to_messages",
    "message_classes",
    "message_from_dict",
    "message_to_dict",
]
