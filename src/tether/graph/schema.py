"""State schemas (TypedDict, dataclass, pydantic model) turned into channels and back."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args, get_origin

from tether.engine.channels import Channel, LastValue, Reducer
from tether.errors import InvalidGraphError, InvalidUpdateError


def schema_hints(schema: Any) -> dict[str, Any]:
    """Field name -> annotation (with ``Annotated`` extras) of a state schema."""
    if schema is None:
        return {}
    pydantic_fields = getattr(schema, "model_fields", None)
    if isinstance(pydantic_fields, Mapping):
        hints: dict[str, Any] = {}
        for name, field in pydantic_fields.items():
            ann = field.annotation
            hints[name] = _annotated(ann, tuple(field.metadata)) if field.metadata else ann
        return hints
    try:
        return typing.get_type_hints(schema, include_extras=True)
    except Exception as exc:  # bad forward reference, not a class, ...
        raise InvalidGraphError(
            f"cannot read the fields of state schema {schema!r}: {exc}; use a TypedDict, a "
            f"dataclass or a pydantic model whose annotations resolve"
        ) from exc


def _annotated(base: Any, extras: tuple[Any, ...]) -> Any:
    args = (base, *extras)
    return Annotated[args]


def channel_for(key: str, annotation: Any) -> Channel:
    """``Annotated[T, reducer]`` becomes a reducer channel, ``Annotated[T, Topic(...)]`` (or any
    channel, or channel class) that channel; anything else keeps the last value."""
    annotation = _strip_required(annotation)
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        for extra in extras:
            if isinstance(extra, Channel) or (
                isinstance(extra, type) and issubclass(extra, Channel)
            ):
                from tether.channels import bind

                return bind(extra, key, base)
        for extra in reversed(extras):
            if callable(extra) and _takes_two_args(extra):
                return Reducer(key, extra, _default_factory(base))
        return LastValue(key)
    return LastValue(key)


def managed_keys(hints: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a schema that are managed values (``RemainingSteps``, ``IsLastStep``)."""
    from tether.managed import managed_value

    found = {key: managed_value(hint) for key, hint in hints.items()}
    return {key: manager for key, manager in found.items() if manager is not None}


def _required_wrappers() -> tuple[Any, ...]:
    modules: list[Any] = [typing]
    try:
        import typing_extensions

        modules.append(typing_extensions)
    except ImportError:  # pragma: no cover - typing_extensions is optional
        pass
    found = {getattr(m, n, None) for m in modules for n in ("Required", "NotRequired")}
    return tuple(w for w in found if w is not None)


_REQUIRED_WRAPPERS = _required_wrappers()


def _strip_required(annotation: Any) -> Any:
    """``NotRequired[X]`` and ``Required[X]`` (TypedDict markers) as ``X``."""
    if _REQUIRED_WRAPPERS and get_origin(annotation) in _REQUIRED_WRAPPERS:
        return get_args(annotation)[0]
    return annotation


def _takes_two_args(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (
        TypeError,
        ValueError,
    ):  # builtins such as operator.add have signatures; C types may not
        return True
    return len(params) >= 2


def _default_factory(base: Any) -> Callable[[], Any] | None:
    origin = get_origin(base) or base
    if origin in (list, dict, set, tuple, int, float, str):
        return origin
    return None


class SchemaAdapter:
    """Builds what a node reads (dict, dataclass or model) and checks what a node returns."""

    def __init__(self, schema: Any, keys: tuple[str, ...]) -> None:
        self.schema = schema
        self.keys = keys
        self.kind = _kind(schema)

    def build(self, values: Mapping[str, Any]) -> Any:
        if self.kind == "dict":
            return {k: values[k] for k in self.keys if k in values}
        return self.schema(**{k: values[k] for k in self.keys if k in values})


def _kind(schema: Any) -> str:
    if schema is None:
        return "dict"
    if dataclasses.is_dataclass(schema) or hasattr(schema, "model_fields"):
        return "object"
    return "dict"


def update_items(update: Any, node: str) -> list[tuple[str, Any]]:
    """The (key, value) pairs of what a node returned: a dict, a dataclass or a pydantic model."""
    if isinstance(update, Mapping):
        return list(update.items())
    if dataclasses.is_dataclass(update) and not isinstance(update, type):
        return [(f.name, getattr(update, f.name)) for f in dataclasses.fields(update)]
    fields_set = getattr(update, "model_fields_set", None)
    if fields_set is not None:
        data = update.__dict__
        return [(name, data[name]) for name in type(update).model_fields if name in data]
    raise InvalidUpdateError(
        f"node {node!r} returned {type(update).__name__} {update!r:.80}; a node must return a dict "
        f"of state updates (or None, a Command, or an instance of the state schema)"
    )
