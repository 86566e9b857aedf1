"""Search filters compiled to SQL: the part every SQL dialect shares.

A dialect says how to reach a field (``path``), how to test JSON equality with one value
(``equal``) and how to order-compare with a number or a string (``order``); this module
combines them for ``$eq $ne $in $nin $gt $gte $lt $lte``, plain-value equality and
whole filters. A part a dialect cannot state exactly comes back as ``None`` and its whole
condition goes to the *residual* filter, which the store checks in Python with
``tether.store.filters.matches_filter`` (the rules every backend follows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Dialect", "Fragment", "compile_with", "is_number"]

Fragment = tuple[str, list[Any]]
"""SQL text with ``?`` placeholders, and its parameters in order."""


class Dialect(NamedTuple):
    """How one SQL engine states the parts of a filter (see the module docstring)."""

    path: Callable[[str], Fragment | None]
    equal: Callable[[str, list[Any], Any], Fragment | None]
    order: Callable[[str, str, list[Any], Any], Fragment | None]
    true: str
    false: str


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _operator(
    dialect: Dialect, op: str, path: str, params: list[Any], operand: Any
) -> Fragment | None:
    if op in ("$eq", "$ne"):
        equal = dialect.equal(path, params, operand)
        if equal is None:
            return None
        return equal if op == "$eq" else (f"NOT {equal[0]}", equal[1])
    if op in ("$in", "$nin"):
        parts = [dialect.equal(path, params, choice) for choice in operand]
        if any(part is None for part in parts):
            return None
        sql = " OR ".join(p[0] for p in parts if p) or dialect.false
        args = [arg for p in parts if p for arg in p[1]]
        return (f"({sql})" if op == "$in" else f"NOT ({sql})"), args
    return dialect.order(op, path, params, operand)


def _condition(dialect: Dialect, field: str, condition: Any) -> Fragment | None:
    located = dialect.path(field)
    if located is None:
        return None
    path, params = located
    if isinstance(condition, dict) and any(str(k).startswith("$") for k in condition):
        parts = [_operator(dialect, op, path, params, arg) for op, arg in condition.items()]
        if any(part is None for part in parts):
            return None
        return " AND ".join(p[0] for p in parts if p), [a for p in parts if p for a in p[1]]
    if isinstance(condition, dict):
        return None
    return dialect.equal(path, params, condition)


def compile_with(
    dialect: Dialect, filter: dict[str, Any] | None
) -> tuple[str, list[Any], dict[str, Any]]:
    """``(where_sql, params, residual)`` for a validated filter: ``where_sql`` (the dialect's
    true when empty) holds the exact conditions; ``residual`` the ones to check in Python."""
    clauses: list[str] = []
    params: list[Any] = []
    residual: dict[str, Any] = {}
    for field, condition in (filter or {}).items():
        compiled = _condition(dialect, field, condition)
        if compiled is None:
            residual[field] = condition
        else:
            clauses.append(f"({compiled[0]})")
            params.extend(compiled[1])
    return " AND ".join(clauses) or dialect.true, params, residual
