"""``allowlist_from_schema``: the classes a state schema's type hints can put into state.

The graph compiler calls it on the state (and input/output) schemas and passes the result to
``serializer.with_allowlist(...)``, so classes named in the schema are stored without any
``register`` call.
"""

from __future__ import annotations

import enum
import inspect
import sys
import typing
from typing import Any

import typing_extensions

from tether.checkpoint.serde.allowlist import is_pydantic_model, kind_of

_LITERALS = frozenset({typing.Literal, typing_extensions.Literal})
_SKIPPED_ORIGINS = frozenset({typing.ClassVar, typing_extensions.ClassVar})


def allowlist_from_schema(schema: Any) -> set[type]:
    """Every Enum, dataclass, NamedTuple and pydantic class reachable from ``schema``'s hints.

    ``schema`` is a TypedDict, dataclass, NamedTuple or pydantic model class, or any type hint.
    The walk follows ``Annotated``, ``Optional``/``Union``/``X | Y``, generic containers
    (``list[...]``, ``dict[...]``, ``Sequence[...]``...), ``Literal`` (Enum members), type
    aliases, ``NewType``, TypeVar bounds and the fields of nested TypedDicts, dataclasses,
    NamedTuples and models. TypedDicts themselves are not returned (they are plain dicts at run
    time). A hint that cannot be resolved (a forward reference to a name not in scope) is
    skipped: values of such a class then need an explicit ``register``.
    """
    found: set[type] = set()
    _walk(schema, found, {})
    return found


def _walk(hint: Any, found: set[type], seen: dict[int, Any]) -> None:
    if id(hint) in seen:
        return
    seen[id(hint)] = hint  # keeps the hint alive, so its id is not reused during the walk
    origin = typing_extensions.get_origin(hint)
    if origin is not None:
        _walk_generic(hint, origin, found, seen)
    elif isinstance(hint, type):
        _walk_class(hint, found, seen)
    elif isinstance(hint, typing.TypeVar):
        for arg in (hint.__bound__, *hint.__constraints__):
            _walk(arg, found, seen)
    elif hasattr(hint, "__supertype__"):  # NewType
        _walk(hint.__supertype__, found, seen)
    elif hasattr(hint, "__value__"):  # 3.12 ``type X = ...`` aliases
        _walk(hint.__value__, found, seen)


def _walk_generic(hint: Any, origin: Any, found: set[type], seen: dict[int, Any]) -> None:
    args = typing_extensions.get_args(hint)
    if origin in _SKIPPED_ORIGINS:
        return
    if origin is typing_extensions.Annotated:
        _walk(args[0], found, seen)
        return
    if origin in _LITERALS:
        found.update(type(v) for v in args if isinstance(v, enum.Enum))
        return
    if isinstance(origin, type) and kind_of(origin) is not None:  # a generic class, Box[int]
        _walk_class(origin, found, seen)
    for arg in args:
        if isinstance(arg, list):  # Callable[[A, B], R]
            for inner in arg:
                _walk(inner, found, seen)
        else:
            _walk(arg, found, seen)


def _walk_class(cls: type, found: set[type], seen: dict[int, Any]) -> None:
    kind = kind_of(cls)
    if kind is not None:
        found.add(cls)
    if kind == "enum":
        return
    if kind is None and not typing_extensions.is_typeddict(cls):
        return
    for hint in _field_hints(cls).values():
        _walk(hint, found, seen)


def _field_hints(cls: type) -> dict[str, Any]:
    if is_pydantic_model(cls):
        fields: dict[str, Any] = getattr(cls, "model_fields", {})
        return {name: field.annotation for name, field in fields.items()}
    try:
        return typing_extensions.get_type_hints(cls, include_extras=True)
    except Exception:  # some forward reference does not resolve: resolve the others one by one
        return _resolve_each(cls)


def _resolve_each(cls: type) -> dict[str, Any]:
    """The hints of ``cls`` (and its bases) that resolve on their own; the others are dropped.

    String annotations come from the class's own source code, so evaluating them in the
    module that defined the class is what ``typing.get_type_hints`` does too.
    """
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        module = sys.modules.get(klass.__module__)
        globalns = dict(vars(module)) if module is not None else {}
        for name, hint in inspect.get_annotations(klass).items():
            ref = hint.__forward_arg__ if isinstance(hint, typing.ForwardRef) else hint
            if isinstance(ref, str):
                try:
                    ref = eval(ref, globalns, dict(vars(klass)))
                except Exception:
                    continue
            hints[name] = ref
    return hints
