"""Which list values a checkpoint only extends, so the saver serializes just the new elements.

The saver's half, and the rule it relies on, are in ``tether.checkpoint.appends``. This module
decides when the engine vouches that a channel's new list value starts with the value stored at
the previous checkpoint of the run (or at the checkpoint the run loaded), unchanged. It does when

- the channel folds its writes with a reducer that builds a new list and never changes the old
  elements (``operator.add``, ``add_messages``; see ``APPEND_REDUCERS``);
- the new list starts with the elements of the previous value: the very objects, in order,
  or (where an element was replaced by another object) an object equal to it, as ``==`` says
  (``same_items``: identical elements are compared by pointer, no ``__eq__`` call);
- no write since the previous checkpoint holds any of them, so a node that edits a message and
  returns it (``{"messages": [msg]}``) or returns the whole list gets it serialized again;
- if nodes ran since the previous checkpoint, none of those elements is a dict, list, tuple,
  set or bytearray: changing plain data in place is idiomatic Python, and re-serializing it is
  cheap native code, so plain elements are always serialized again after a node ran. Objects
  of registered classes (LangChain messages, pydantic models, dataclasses) are not: a node that
  changes one in place must return it to have the change stored.

Between loading a checkpoint and storing the input step no node runs, so the first checkpoint
of a run reuses the loaded bytes for any element type.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tether.checkpoint.appends import Extends
from tether.engine.channels import Channel, Reducer
from tether.types import Overwrite

APPEND_REDUCERS: set[Callable[..., Any]] = {operator.add}
"""Reducers that return a new value and never change the elements of the old one."""

_PLAIN = frozenset({dict, list, tuple, set, bytearray})


def appends_only(reducer: Any) -> bool:
    """Whether ``reducer`` (or the function a ``functools.partial`` wraps) is in
    ``APPEND_REDUCERS``."""
    while isinstance(reducer, functools.partial):
        reducer = reducer.func
    return reducer in APPEND_REDUCERS


class _Stored:
    """A list value as stored at ``version``: its elements, kept in a private list that grows
    with the channel (only the added elements are looked at), and facts about them computed on
    first need and then kept up to date the same way."""

    __slots__ = ("elements", "ids", "types", "version")

    def __init__(self, version: str, elements: list[Any]) -> None:
        self.version = version
        self.elements = elements
        self.types: frozenset[type] | None = None
        """The elements' exact types."""
        self.ids: set[int] | None = None
        """``id()`` of every element (the elements are kept alive, so the ids stay theirs)."""

    def type_set(self) -> frozenset[type]:
        if self.types is None:
            self.types = frozenset(map(type, self.elements))
        return self.types

    def id_set(self) -> set[int]:
        if self.ids is None:
            self.ids = set(map(id, self.elements))
        return self.ids

    def grow_to(self, version: str, value: list[Any]) -> bool:
        """Become ``value`` (at ``version``) if it starts with these elements; else stay."""
        length = len(self.elements)
        added = value[length:]
        self.elements.extend(added)
        if not same_items(self.elements, value):
            del self.elements[length:]
            return False
        self.version = version
        if added and self.types is not None:
            self.types = self.types.union(map(type, added))
        if added and self.ids is not None:
            self.ids.update(map(id, added))
        return True


def append_channels(channels: Mapping[str, Channel]) -> frozenset[str]:
    """The channels whose values can be appended lists: those folding writes with a reducer in
    ``APPEND_REDUCERS``. Only these can get an ``Extends``."""
    return frozenset(
        key
        for key, channel in channels.items()
        if isinstance(channel, Reducer) and appends_only(channel.reducer)
    )


class Basis:
    """What a run last stored (or loaded) of each list channel, and what was written since.

    ``keys``: the channels that may hold appended lists (``append_channels``); with none, as
    in a graph of plain last-value keys, every method returns at once.
    """

    __slots__ = ("keys", "lists", "written")

    def __init__(self, keys: frozenset[str] = frozenset()) -> None:
        self.keys = keys
        self.lists: dict[str, _Stored] = {}
        self.written: list[Any] = []
        """Every object written since the last checkpoint (and a written list's elements)."""

    def loaded(self, channels: Mapping[str, Channel], versions: Mapping[str, Any]) -> None:
        """Start from a loaded checkpoint's values."""
        self.lists = {}
        self.written = []
        for key in self.keys:
            if key in versions:
                self._remember(key, channels.get(key), versions)

    def wrote(self, writes: Iterable[tuple[str, Any]]) -> None:
        """Note the values of writes about to be applied (and a written list's elements)."""
        if not self.keys:
            return
        written = self.written
        for _, written_value in writes:
            value = written_value.value if isinstance(written_value, Overwrite) else written_value
            written.append(value)
            if isinstance(value, list | tuple):
                written.extend(value)

    def extends(
        self,
        channels: Mapping[str, Channel],
        versions: Mapping[str, Any],
        new_versions: Mapping[str, Any],
        *,
        after_nodes: bool,
    ) -> dict[str, Extends]:
        """The hints for a checkpoint storing ``new_versions``; then remember its lists."""
        hints: dict[str, Extends] = {}
        if not self.keys:
            return hints
        for key in self.keys.intersection(new_versions):
            channel = channels.get(key)
            before = self.lists.get(key)
            value = channel.value if channel is not None else None
            if (
                before is not None
                and before.elements
                and type(value) is list
                and len(value) >= len(before.elements)
                and not (after_nodes and not _PLAIN.isdisjoint(before.type_set()))
                and _none_of(self.written, before)
            ):
                hint = Extends(before.version, len(before.elements))
                if before.grow_to(str(versions[key]), value):
                    hints[key] = hint
                    continue
            self._remember(key, channel, versions)
        self.written = []
        return hints

    def _remember(self, key: str, channel: Channel | None, versions: Mapping[str, Any]) -> None:
        """Remember the channel's list value at its version (if it is an appended list)."""
        if not (
            isinstance(channel, Reducer)
            and type(channel.value) is list
            and appends_only(channel.reducer)
        ):
            self.lists.pop(key, None)
            return
        self.lists[key] = _Stored(str(versions[key]), list(channel.value))


def _none_of(objects: list[Any], stored: _Stored) -> bool:
    """Whether none of ``objects`` is (by identity) one of ``stored``'s elements (an object of a
    type no element has cannot be one of them)."""
    types = stored.type_set()
    objects = [obj for obj in objects if type(obj) in types]
    return not objects or stored.id_set().isdisjoint(map(id, objects))


def same_items(kept: list[Any], items: list[Any]) -> bool:
    """``kept == items``, False if comparing two elements raised (``list.__eq__`` compares
    identical elements by pointer; only other objects get their ``__eq__`` called)."""
    try:
        return bool(kept == items)
    except Exception:  # say, an element holding an array whose == gives no single bool
        return False
