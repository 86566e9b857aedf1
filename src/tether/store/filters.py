"""Search filters and namespace patterns: what a match means, for every store backend.

A filter is a dict from a field to a condition. A field is a key of the item's value, or a
dotted path into nested dicts (``"profile.age"``); a key that exists literally (``"a.b"`` as
one key) wins over the path. A condition is

- a plain value: JSON equality (``1 == 1.0``; ``True`` is not ``1``; lists compare element by
  element);
- a dict of operators ``$eq $ne $gt $gte $lt $lte $in $nin``, all of which must hold
  (``$in``/``$nin`` take a list and test JSON equality with any of its elements; ``$nin``,
  like ``$ne``, matches a missing field);
- a dict without operators: each of its keys must match inside the field's dict (a subset
  match, as in LangGraph's ``InMemoryStore``).

Ordering operators compare numbers as numbers (``9 < 10``) and strings as strings; a field
of another type (or a missing one) does not match. ``$ne`` matches a missing field, like
MongoDB and LangGraph's ``InMemoryStore``. SQL backends must compile filters to these rules
(LangGraph's Postgres store compares ``$gt`` as text, so 9 > 10 there: a bug not to copy).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from tether.errors import InvalidStoreOperation

__all__ = [
    "FILTER_OPERATORS",
    "InvalidStoreOperation",
    "check_filter",
    "lookup_field",
    "matches_filter",
    "namespace_matches",
]


_MISSING: Any = object()
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
FILTER_OPERATORS: frozenset[str] = frozenset({"$eq", "$ne", "$in", "$nin", *_ORDERING})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_operator_dict(condition: Any) -> bool:
    return isinstance(condition, Mapping) and any(str(k).startswith("$") for k in condition)


def check_filter(filter: Mapping[str, Any] | None, *, path: str = "filter") -> None:
    """Raise ``InvalidStoreOperation`` naming the bad part of ``filter``; return if it is valid."""
    if filter is None:
        return
    if not isinstance(filter, Mapping):
        raise InvalidStoreOperation(
            f"{path} must be a dict of field -> condition, got {type(filter).__name__}"
        )
    for field, condition in filter.items():
        where = f"{path}[{field!r}]"
        if not isinstance(field, str) or not field:
            raise InvalidStoreOperation(f"{where}: filter fields must be non-empty strings")
        if _is_operator_dict(condition):
            _check_operators(condition, where)
        elif isinstance(condition, Mapping):
            check_filter(condition, path=where)


def _check_operators(condition: Mapping[str, Any], where: str) -> None:
    for op, operand in condition.items():
        if op not in FILTER_OPERATORS:
            raise InvalidStoreOperation(
                f"{where}: unknown operator {op!r}; use one of "
                f"{', '.join(sorted(FILTER_OPERATORS))}, or a plain value for equality"
            )
        if op in ("$in", "$nin") and not isinstance(operand, (list, tuple)):
            raise InvalidStoreOperation(
                f"{where}: {op} needs a list of values, got {type(operand).__name__} "
                f"{operand!r}; write {{{op!r}: [{operand!r}]}}"
            )
        if op in _ORDERING and not (_is_number(operand) or isinstance(operand, str)):
            raise InvalidStoreOperation(
                f"{where}: {op} needs a number or a string to compare with, "
                f"got {type(operand).__name__} {operand!r}"
            )


def lookup_field(value: Mapping[str, Any], field: str) -> Any:
    """The value at ``field`` (a key, else a dotted path), or a private sentinel if absent."""
    if field in value:
        return value[field]
    current: Any = value
    for part in field.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _json_equal(actual: Any, expected: Any) -> bool:
    if actual is _MISSING:
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(actual) == len(expected) and all(
            _json_equal(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        return actual.keys() == expected.keys() and all(
            _json_equal(actual[k], expected[k]) for k in actual
        )
    return type(actual) is type(expected) and bool(actual == expected)


def _apply_operator(op: str, actual: Any, operand: Any) -> bool:
    if op == "$eq":
        return _json_equal(actual, operand)
    if op == "$ne":
        return not _json_equal(actual, operand)
    if op == "$in":
        return any(_json_equal(actual, choice) for choice in operand)
    if op == "$nin":
        return not any(_json_equal(actual, choice) for choice in operand)
    if _is_number(actual) and _is_number(operand):
        return _ORDERING[op](actual, operand)
    if isinstance(actual, str) and isinstance(operand, str):
        return _ORDERING[op](actual, operand)
    return False


def _matches(actual: Any, condition: Any) -> bool:
    if _is_operator_dict(condition):
        return all(_apply_operator(op, actual, operand) for op, operand in condition.items())
    if isinstance(condition, Mapping):
        return isinstance(actual, Mapping) and matches_filter(actual, condition)
    return _json_equal(actual, condition)


def matches_filter(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's ``value`` satisfies ``filter`` (``None`` or ``{}`` match everything)."""
    if not filter:
        return True
    return all(_matches(lookup_field(value, f), cond) for f, cond in filter.items())


def namespace_matches(
    namespace: tuple[str, ...], path: tuple[str, ...], match_type: str = "prefix"
) -> bool:
    """Whether ``namespace`` starts (``"prefix"``) or ends (``"suffix"``) with ``path``.

    A ``"*"`` label in ``path`` matches any one label.
    """
    if not path:
        return True
    if len(path) > len(namespace):
        return False
    labels = namespace[: len(path)] if match_type == "prefix" else namespace[-len(path) :]
    return all(want in ("*", got) for want, got in zip(path, labels, strict=True))
