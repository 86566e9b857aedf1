"""The allowlist: which classes the serializer may write and rebuild, by stable name.

Stored bytes name a class as ``"module:qualname"``. Reading looks that name up in an
``Allowlist`` (name -> class) filled by code; it never imports a module or reads an attribute
named by stored bytes. Writing looks the exact ``type(value)`` up the same way.

Four kinds of class can be registered, each stored by its fields (never by pickle):
Enum (by value), dataclass (by fields), NamedTuple (by fields), pydantic v2 model (by fields).

``DEFAULT_ALLOWLIST`` holds tether's own value types and whatever ``register(cls)`` adds; every
serializer consults it after its own entries. Two optional sets join it lazily, the first time a
lookup misses: the classes in ``tether.messages.SERIALIZABLE_TYPES`` and, when langchain-core is
installed, LangChain's message classes. Both module names are fixed here, never read from bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from tether.errors import SerializationError

Kind = Literal["enum", "dataclass", "namedtuple", "pydantic"]

T = TypeVar("T", bound=type)

LANGCHAIN_MESSAGE_NAMES = (
    "AIMessage",
    "AIMessageChunk",
    "ChatMessage",
    "ChatMessageChunk",
    "FunctionMessage",
    "FunctionMessageChunk",
    "HumanMessage",
    "HumanMessageChunk",
    "RemoveMessage",
    "SystemMessage",
    "SystemMessageChunk",
    "ToolMessage",
    "ToolMessageChunk",
)


def qualified_name(cls: type) -> str:
    """The stable name a class is stored under: ``"module:qualname"``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def is_pydantic_model(cls: Any) -> bool:
    """Whether ``cls`` is a pydantic v2 ``BaseModel`` subclass (never imports pydantic)."""
    pydantic = sys.modules.get("pydantic")
    base = getattr(pydantic, "BaseModel", None)
    return base is not None and isinstance(cls, type) and issubclass(cls, base)


def kind_of(cls: Any) -> Kind | None:
    """Which registrable kind ``cls`` is, or ``None`` if it cannot be registered."""
    if not isinstance(cls, type):
        return None
    if issubclass(cls, enum.Enum):
        return "enum"
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return "namedtuple"
    if is_pydantic_model(cls):
        return "pydantic"
    if dataclasses.is_dataclass(cls) and not issubclass(cls, BaseException):
        return "dataclass"
    return None


@dataclasses.dataclass(frozen=True)
class Entry:
    """One allowed class: its stored name, its kind and (for dataclasses) its field names."""

    cls: type
    name: str
    kind: Kind
    fields: tuple[str, ...] = ()
    init_fields: frozenset[str] = frozenset()


def make_entry(cls: type) -> Entry:
    """Describe ``cls`` for the codec, or raise ``SerializationError`` if it cannot be stored."""
    kind = kind_of(cls)
    if kind is None:
        raise SerializationError(
            f"cannot register {cls!r}: tether stores classes by their fields and allows only "
            "Enum, dataclass, NamedTuple and pydantic v2 model classes; exceptions are always "
            "stored as StoredException; convert other values to one of these"
        )
    if kind != "dataclass":
        return Entry(cls, qualified_name(cls), kind)
    fields = dataclasses.fields(cls)
    return Entry(
        cls,
        qualified_name(cls),
        kind,
        tuple(f.name for f in fields),
        frozenset(f.name for f in fields if f.init),
    )


class Allowlist:
    """Classes a serializer may write and rebuild, looked up by exact type or stored name.

    Lookups try this list's own entries, then its ``parent`` (for serializers, the module-wide
    ``DEFAULT_ALLOWLIST``). Registering a second class under a name already taken points the
    name at the new class (re-running a notebook cell redefines a class); values of the old
    class still write.
    """

    def __init__(self, types: Iterable[type] = (), *, parent: Allowlist | None = None) -> None:
        self._by_type: dict[type, Entry] = {}
        self._by_name: dict[str, Entry] = {}
        self._parent = parent
        for cls in types:
            self.add(cls)

    def add(self, cls: type) -> None:
        """Allow ``cls``; raises ``SerializationError`` for a class that cannot be stored."""
        if cls in self._by_type:
            return
        entry = make_entry(cls)
        self._by_type[cls] = entry
        self._by_name[entry.name] = entry

    def copy(self, extra: Iterable[type] = ()) -> Allowlist:
        """A new list with this list's own entries plus ``extra``, under the same parent."""
        new = Allowlist(parent=self._parent)
        new._by_type = dict(self._by_type)
        new._by_name = dict(self._by_name)
        for cls in extra:
            new.add(cls)
        return new

    def by_type(self, cls: type) -> Entry | None:
        """The entry of exactly ``cls`` (subclasses are not covered), or ``None``."""
        entry = self._by_type.get(cls)
        if entry is None and self._parent is not None:
            return self._parent.by_type(cls)
        return entry

    def by_name(self, name: str) -> Entry | None:
        """The entry stored under ``name`` (``"module:qualname"``), or ``None``."""
        entry = self._by_name.get(name)
        if entry is None and self._parent is not None:
            return self._parent.by_name(name)
        return entry

    def types(self) -> frozenset[type]:
        """Every allowed class, including the parent's."""
        own = frozenset(self._by_type)
        return own | self._parent.types() if self._parent is not None else own

    def __contains__(self, cls: object) -> bool:
        return isinstance(cls, type) and self.by_type(cls) is not None


def _tether_types() -> tuple[type, ...]:
    from tether.types import Command, Interrupt, Overwrite, PregelTask, Send, StateSnapshot

    return (Send, Interrupt, Command, Overwrite, PregelTask, StateSnapshot)


def _tether_message_types() -> tuple[type, ...]:
    try:
        module = importlib.import_module("tether.messages")
    except ImportError:
        return ()
    types = getattr(module, "SERIALIZABLE_TYPES", ())
    return tuple(t for t in types if kind_of(t) is not None) if isinstance(types, tuple) else ()


def _langchain_types() -> tuple[type, ...]:
    try:
        messages = importlib.import_module("langchain_core.messages")
        documents = importlib.import_module("langchain_core.documents")
    except ImportError:
        return ()
    found: list[Any] = [getattr(messages, name, None) for name in LANGCHAIN_MESSAGE_NAMES]
    found.append(getattr(documents, "Document", None))
    return tuple(t for t in found if kind_of(t) is not None)


# (module prefix of a missed name or None for "any miss", loader): loaded once, on first need.
_LAZY_DEFAULTS: dict[str, tuple[str | None, Callable[[], tuple[type, ...]]]] = {
    "tether.messages": (None, _tether_message_types),
    "langchain_core": ("langchain_core", _langchain_types),
}
_lazy_loaded: set[str] = set()
_lazy_lock = threading.RLock()

DEFAULT_ALLOWLIST = Allowlist(_tether_types())
"""The module-wide allowlist every serializer falls back to; ``register`` adds to it."""


def load_lazy_defaults(missed_module: str) -> bool:
    """Load the optional default types a miss on ``missed_module`` may need; True if any new."""
    added = False
    for key, (prefix, loader) in _LAZY_DEFAULTS.items():
        if prefix is not None and not missed_module.startswith(prefix):
            continue
        with _lazy_lock:  # held while loading, so a concurrent miss waits for the types
            if key in _lazy_loaded:
                continue
            _lazy_loaded.add(key)
            for cls in loader():
                DEFAULT_ALLOWLIST.add(cls)
                added = True
    return added


def register(cls: T) -> T:
    """Allow ``cls`` in every serializer of this process; usable as a class decorator.

    ``cls`` must be an Enum, dataclass, NamedTuple or pydantic v2 model class.
    """
    DEFAULT_ALLOWLIST.add(cls)
    return cls
