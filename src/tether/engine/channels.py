"""Channels: the typed slots a graph's state lives in, and how each merges the writes of a step.

Every channel answers ``update(values) -> changed``, ``get()`` (``EmptyChannelError`` when empty),
``checkpoint()`` (the stored form, or ``MISSING``), ``restore(stored)`` and ``consume()``
(called once the tasks it triggered have run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tether.errors import InvalidUpdateError
from tether.types import Overwrite


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class EmptyChannelError(Exception):
    """Internal: a channel was read before it got a value."""


class Channel:
    """Base channel; ``clears_when_unwritten`` ones empty after a step without writes."""

    __slots__ = ("key", "value")
    clears_when_unwritten = False

    def __init__(self, key: str = "") -> None:
        self.key = key
        self.value: Any = MISSING

    def new(self) -> Channel:
        """An empty channel of the same kind and configuration."""
        clone = object.__new__(type(self))
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot != "value" and hasattr(self, slot):
                    setattr(clone, slot, getattr(self, slot))
        clone.value = MISSING
        return clone

    def restore(self, stored: Any) -> Channel:
        clone = self.new()
        if stored is not MISSING:
            clone.value = stored
        return clone

    def copy(self) -> Channel:
        return self.restore(self.checkpoint())

    def is_available(self) -> bool:
        return self.value is not MISSING

    def get(self) -> Any:
        if self.value is MISSING:
            raise EmptyChannelError(self.key)
        return self.value

    def checkpoint(self) -> Any:
        return self.value

    def consume(self) -> bool:
        return False

    def update(self, values: Sequence[Any]) -> bool:
        raise NotImplementedError


class LastValue(Channel):
    """Holds the last value written; two writes in one step is an error."""

    __slots__ = ()

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        if len(values) > 1:
            raise InvalidUpdateError(
                f"state key {self.key!r} got {len(values)} values in one step, but it keeps one "
                f"value: give it a reducer, e.g. Annotated[list, operator.add]"
            )
        value = values[-1]
        self.value = value.value if isinstance(value, Overwrite) else value
        return True


class EphemeralValue(LastValue):
    """A last-value channel that empties after a step in which nothing wrote to it."""

    __slots__ = ()
    clears_when_unwritten = True

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            if self.value is MISSING:
                return False
            self.value = MISSING
            return True
        self.value = values[-1]
        return True


class Reducer(Channel):
    """Folds every write into the value with a two-argument function (``operator.add``, ...)."""

    __slots__ = ("default_factory", "reducer")

    def __init__(
        self,
        key: str,
        reducer: Callable[[Any, Any], Any],
        default_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(key)
        self.reducer = reducer
        self.default_factory = default_factory

    def restore(self, stored: Any) -> Channel:
        clone = self.new()
        if stored is not MISSING:
            clone.value = stored
        elif self.default_factory is not None:
            clone.value = self.default_factory()
        return clone

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        overwrites = [v for v in values if isinstance(v, Overwrite)]
        if len(overwrites) > 1:
            raise InvalidUpdateError(
                f"state key {self.key!r} got {len(overwrites)} Overwrite values in one step"
            )
        if overwrites:
            self.value = overwrites[0].value
            return True
        current = self.value
        for value in values:
            current = value if current is MISSING else self.reducer(current, value)
        self.value = current
        return True


class Topic(Channel):
    """Collects every value written in a step (a list); used for ``Send`` packets."""

    __slots__ = ()
    clears_when_unwritten = True

    def is_available(self) -> bool:
        return bool(self.value) and self.value is not MISSING

    def get(self) -> Any:
        if not self.is_available():
            raise EmptyChannelError(self.key)
        return self.value

    def checkpoint(self) -> Any:
        return self.value if self.is_available() else MISSING

    def update(self, values: Sequence[Any]) -> bool:
        had = self.is_available()
        flat: list[Any] = []
        for value in values:
            if isinstance(value, list):
                flat.extend(value)
            else:
                flat.append(value)
        self.value = flat if flat else MISSING
        return had or bool(flat)


class Barrier(Channel):
    """Available once every named node wrote to it in some step: the trigger of a join."""

    __slots__ = ("names",)

    def __init__(self, key: str, names: frozenset[str]) -> None:
        super().__init__(key)
        self.names = names

    def restore(self, stored: Any) -> Channel:
        clone = self.new()
        clone.value = set(stored) if stored is not MISSING else set()
        return clone

    def is_available(self) -> bool:
        return isinstance(self.value, set) and self.value == self.names

    def get(self) -> Any:
        if not self.is_available():
            raise EmptyChannelError(self.key)
        return None

    def checkpoint(self) -> Any:
        return sorted(self.value) if isinstance(self.value, set) and self.value else MISSING

    def update(self, values: Sequence[Any]) -> bool:
        seen = self.value if isinstance(self.value, set) else set()
        before = len(seen)
        for name in values:
            if name not in self.names:
                raise InvalidUpdateError(f"join {self.key!r} does not wait for node {name!r}")
            seen.add(name)
        self.value = seen
        return len(seen) != before

    def consume(self) -> bool:
        if self.is_available():
            self.value = set()
            return True
        return False
