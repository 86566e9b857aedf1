"""Find where inside a value an encoding failure comes from (the slow path, on failure only).

The fast path packs the whole value in ormsgpack's native code and tracks no paths; ormsgpack
reports only "Type is not msgpack serializable". When that happens, ``explain`` walks the value
in Python the way the codec would encode it and returns an ``UnstorableValue`` naming the first
offending value's path, e.g. ``value.messages[3].content``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import ormsgpack

from tether.checkpoint.serde._codec import (
    CONTAINER_CODES,
    ENUM,
    FIELD_CODES,
    PACK_OPTIONS,
    Codec,
    plain_scalar,
)
from tether.checkpoint.serde.base import PathSegment, UnstorableValue

MAX_DEPTH: Final = 200
"""Nesting the walker follows before it calls a value too deep (ormsgpack stops near 255)."""

_NATIVE: Final = frozenset({str, float, bool, type(None), bytes, bytearray})
_INT64_MIN: Final = -(2**63)
_UINT64_MAX: Final = 2**64 - 1


def explain(codec: Codec, obj: Any, error: Exception) -> UnstorableValue:
    """The first value inside ``obj`` the codec cannot store, with its path.

    ``error`` is what ormsgpack raised; its text is used when the walk finds nothing more precise.
    """
    found = _find(codec, obj, (), set(), 0)
    if found is not None:
        return found
    return UnstorableValue(f"cannot be stored: {error}", value_type=type(obj))


def _key_ok(key: Any) -> bool:
    try:
        ormsgpack.packb({key: None}, option=PACK_OPTIONS)
    except TypeError:
        return False
    return True


def _children(codec: Codec, obj: Any) -> Iterator[tuple[PathSegment, Any]]:
    """The values the codec stores inside ``obj``, with their path segments.

    Raises ``UnstorableValue`` right away (not on iteration) if ``obj`` itself is not allowed.
    """
    try:
        code, payload = codec.to_ext(obj)
    except UnstorableValue:
        if plain_scalar(obj)[0]:
            return iter(())
        raise
    if code in CONTAINER_CODES:
        return enumerate(payload)
    if code in FIELD_CODES:
        return iter(payload[1].items())
    if code == ENUM:
        return iter([("value", payload[1])])
    return iter(())


def _find(
    codec: Codec, obj: Any, path: tuple[PathSegment, ...], active: set[int], depth: int
) -> UnstorableValue | None:
    cls = type(obj)
    if cls in _NATIVE or (cls is int and _INT64_MIN <= obj <= _UINT64_MAX):
        return None
    if depth >= MAX_DEPTH:
        return UnstorableValue(
            f"nested more than {MAX_DEPTH} levels deep; flatten the value",
            value_type=cls,
            path=path,
        )
    if id(obj) in active:
        return UnstorableValue(
            "circular reference: the value contains itself; store a copy without the cycle",
            value_type=cls,
            path=path,
        )
    active.add(id(obj))
    try:
        return _find_inside(codec, obj, path, active, depth)
    finally:
        active.discard(id(obj))


def _find_inside(
    codec: Codec, obj: Any, path: tuple[PathSegment, ...], active: set[int], depth: int
) -> UnstorableValue | None:
    cls = type(obj)
    items: Iterator[tuple[PathSegment, Any]]
    if cls is dict:
        for key in obj:
            if not _key_ok(key):
                return UnstorableValue(
                    f"cannot store a dict key of {type(key)!r} ({key!r}); dict keys must be "
                    "str, int, float, bool, None or tuples of these",
                    value_type=type(key),
                    path=path,
                )
        items = iter(obj.items())
    elif cls is list:
        items = enumerate(obj)
    else:
        try:
            items = _children(codec, obj)
        except UnstorableValue as exc:
            return exc.at(path)
        except Exception as exc:  # a value whose own code fails while being encoded
            reason = f"cannot be stored: encoding it raised {exc!r}"
            return UnstorableValue(reason, value_type=cls, path=path)
    for segment, child in items:
        found = _find(codec, child, (*path, segment), active, depth + 1)
        if found is not None:
            return found
    return None
