"""Channels a state key can be annotated with (LangGraph's ``langgraph.channels``).

``Annotated[list[str], Topic(str, accumulate=True)]`` in a state schema gives that key the
channel's merge rule instead of the default (keep the last value). A channel class works too:
``Annotated[int, EphemeralValue]`` means ``EphemeralValue(int)``. Each class here takes
LangGraph's constructor arguments and is the engine's channel of the same behaviour.

- ``LastValue(typ)``: the last value written; two writes in one step is an error.
- ``AnyValue(typ)``: the last value written, several writes allowed (assumed equal); empties
  after a step in which nothing wrote it.
- ``EphemeralValue(typ, guard=True)``: the value written in the previous step only.
- ``UntrackedValue(typ, guard=True)``: the last value, never stored in checkpoints.
- ``Topic(typ, accumulate=False)``: every value written (lists are flattened), per step or
  accumulated across steps.
- ``BinaryOperatorAggregate(typ, operator)``: folds each write in with ``operator``.
- ``NamedBarrierValue(typ, names)``: available once every name in ``names`` was written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tether.engine import channels as _engine
from tether.engine.channels import MISSING, Channel, EmptyChannelError
from tether.errors import InvalidUpdateError

BaseChannel = Channel
"""The base class of every channel (LangGraph's name)."""


def _guard(key: str, values: Sequence[Any], what: str) -> None:
    if len(values) > 1:
        raise InvalidUpdateError(
            f"state key {key!r} ({what}) got {len(values)} values in one step, but it takes one "
            f"per step; pass guard=False to keep the last, or use a reducer"
        )


class LastValue(_engine.LastValue):
    """The last value written; two writes in one step is an error."""

    __slots__ = ("typ",)

    def __init__(self, typ: Any = Any, key: str = "") -> None:
        super().__init__(key)
        self.typ = typ


class AnyValue(_engine.EphemeralValue):
    """The last value written, several writes in one step allowed; empties when unwritten.

    (The engine's unguarded ephemeral channel behaves exactly so.)
    """

    __slots__ = ("typ",)

    def __init__(self, typ: Any = Any, key: str = "") -> None:
        super().__init__(key)
        self.typ = typ


class EphemeralValue(_engine.EphemeralValue):
    """The value written in the previous step; empties after a step that did not write it."""

    __slots__ = ("guard", "typ")

    def __init__(self, typ: Any = Any, guard: bool = True, key: str = "") -> None:
        super().__init__(key)
        self.typ = typ
        self.guard = guard

    def update(self, values: Sequence[Any]) -> bool:
        if self.guard:
            _guard(self.key, values, "EphemeralValue")
        return super().update(values)


class UntrackedValue(_engine.Channel):
    """The last value written, kept only while the run lasts: never stored in a checkpoint."""

    __slots__ = ("guard", "typ")

    def __init__(self, typ: Any = Any, guard: bool = True, key: str = "") -> None:
        super().__init__(key)
        self.typ = typ
        self.guard = guard

    def checkpoint(self) -> Any:
        return MISSING

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        if self.guard:
            _guard(self.key, values, "UntrackedValue")
        self.value = values[-1]
        return True


class Topic(_engine.Topic):
    """Every value written (list values are flattened): this step's, or all with ``accumulate``."""

    __slots__ = ("accumulate", "typ")

    def __init__(self, typ: Any = Any, accumulate: bool = False, key: str = "") -> None:
        super().__init__(key)
        self.typ = typ
        self.accumulate = accumulate

    @property
    def clears_when_unwritten(self) -> bool:  # type: ignore[override]
        return not self.accumulate

    def update(self, values: Sequence[Any]) -> bool:
        if not self.accumulate:
            return super().update(values)
        if not values:
            return False
        current = list(self.value) if self.is_available() else []
        for value in values:
            current.extend(value if isinstance(value, list) else [value])
        self.value = current
        return True


class BinaryOperatorAggregate(_engine.Reducer):
    """Folds every write into the value with ``operator`` (starting from ``typ()`` when it can)."""

    __slots__ = ("typ",)

    def __init__(self, typ: Any, operator: Callable[[Any, Any], Any], key: str = "") -> None:
        super().__init__(key, operator, _factory(typ))
        self.typ = typ
        if self.default_factory is not None:
            self.value = self.default_factory()


class NamedBarrierValue(_engine.Channel):
    """Reads ``None`` once every name in ``names`` was written; consuming it starts over."""

    __slots__ = ("names", "seen", "typ")

    def __init__(self, typ: Any, names: set[Any] | frozenset[Any], key: str = "") -> None:
        super().__init__(key)
        self.typ = typ
        self.names = frozenset(names)
        self.seen: set[Any] = set()

    def restore(self, stored: Any) -> Channel:
        clone = self.new()
        assert isinstance(clone, NamedBarrierValue)
        clone.seen = set(stored) if stored is not MISSING else set()
        clone.value = None if clone.seen == self.names else MISSING
        return clone

    def checkpoint(self) -> Any:
        return sorted(self.seen, key=repr) if self.seen else MISSING

    def update(self, values: Sequence[Any]) -> bool:
        before = len(self.seen)
        for name in values:
            if name not in self.names:
                raise InvalidUpdateError(
                    f"state key {self.key!r} waits for {sorted(self.names, key=repr)}, not {name!r}"
                )
            self.seen.add(name)
        if self.seen == self.names:
            self.value = None
        return len(self.seen) != before

    def consume(self) -> bool:
        if self.value is MISSING:
            return False
        self.seen = set()
        self.value = MISSING
        return True


def _factory(typ: Any) -> Callable[[], Any] | None:
    from typing import get_origin

    origin = get_origin(typ) or typ
    if not callable(origin):
        return None
    try:
        origin()
    except Exception:
        return None
    return origin


def bind(channel: Channel | type[Channel], key: str, annotation: Any) -> Channel:
    """The channel a state key annotated with ``channel`` gets (a fresh copy, named ``key``)."""
    made = channel(annotation) if isinstance(channel, type) else channel.restore(MISSING)
    made.key = key
    return made


__all__ = [
    "AnyValue",
    "BaseChannel",
    "BinaryOperatorAggregate",
    "EmptyChannelError",
    "EphemeralValue",
    "LastValue",
    "NamedBarrierValue",
    "Topic",
    "UntrackedValue",
]
