"""The serializer contract and the two value types the serializer exposes.

- ``SerializerProtocol``: LangGraph's two-method protocol; a saver accepts any object that has
  ``dumps_typed`` and ``loads_typed``.
- ``UnstorableValue``: the ``SerializationError`` raised when writing a value fails; it carries the
  path of the offending value so a saver can add its own root (``state.messages``).
- ``StoredException``: what an exception stored as a value (a task's error) reads back as.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol, runtime_checkable

from tether.errors import SerializationError

PathSegment = Hashable
"""One step into a value: a dict key, a list index or an attribute name."""


@runtime_checkable
class SerializerProtocol(Protocol):
    """Turns a value into ``(type_tag, bytes)`` and back. Savers store the pair as is."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Encode ``obj``; the tag says how the bytes were made (``"msgpack"``, ``"null"``...)."""
        ...

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Decode a pair produced by ``dumps_typed``."""
        ...


def format_path(root: str, path: Sequence[PathSegment]) -> str:
    """Render ``("messages", 3, "content")`` under ``root`` as ``root.messages[3].content``.

    Identifier-like strings (dict keys and attribute names) render as ``.name``; anything
    else renders as a subscript of its repr: ``[3]``, ``['two words']``.
    """
    parts = [root]
    for segment in path:
        if isinstance(segment, str) and segment.isidentifier():
            parts.append(f".{segment}")
        else:
            parts.append(f"[{segment!r}]")
    return "".join(parts)


class UnstorableValue(SerializationError):
    """A value (somewhere inside the object being written) that the serializer cannot store.

    ``path`` is where the value sits inside the written object, ``value_type`` its type and
    ``reason`` what is wrong with it. The message reads ``<root><path>: <reason>``; the root is
    ``"value"`` unless a caller that knows better (a saver writing channel ``messages``) calls
    ``err.with_root("state.messages")`` and raises the copy.
    """

    def __init__(
        self,
        reason: str,
        *,
        value_type: type,
        path: Sequence[PathSegment] = (),
        root: str = "value",
    ) -> None:
        self.reason = reason
        self.value_type = value_type
        self.path: tuple[PathSegment, ...] = tuple(path)
        self.root = root
        super().__init__(f"{format_path(root, self.path)}: {reason}")

    @property
    def location(self) -> str:
        """The rendered path, e.g. ``state.messages[3].content``."""
        return format_path(self.root, self.path)

    def with_root(self, root: str) -> UnstorableValue:
        """A copy of this error whose path starts at ``root`` instead of ``"value"``."""
        return type(self)(self.reason, value_type=self.value_type, path=self.path, root=root)

    def at(self, path: Sequence[PathSegment]) -> UnstorableValue:
        """A copy of this error located at ``path`` (under the same root)."""
        return type(self)(self.reason, value_type=self.value_type, path=path, root=self.root)


class StoredException(Exception):
    """An exception that was stored as a value and read back.

    The original class is never rebuilt (that would mean importing a name taken from stored
    bytes): only its qualified name and its message survive. ``str()`` is the original
    message and ``repr()`` looks like the original's, e.g. ``ValueError('boom')``.
    """

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name
        """``module:qualname`` of the original exception class, e.g. ``builtins:ValueError``."""
        self.message = message

    @property
    def short_type_name(self) -> str:
        """The original class name without its module, e.g. ``ValueError``."""
        return self.type_name.rpartition(":")[2] or self.type_name

    def __repr__(self) -> str:
        return f"{self.short_type_name}({self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredException):
            return NotImplemented
        return (self.type_name, self.message) == (other.type_name, other.message)

    def __hash__(self) -> int:
        return hash((self.type_name, self.message))
