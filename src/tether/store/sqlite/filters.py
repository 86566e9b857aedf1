"""Search filters compiled to SQLite SQL, with the same meaning as ``tether.store.filters``.

Every value reaches SQL as a parameter; field names become JSON paths passed as parameters
too, so no text of a filter is ever spliced into a statement. Numbers compare as numbers
(``json_type`` guards each comparison, so ``9 < 10`` and ``"9"`` never equals ``9``), strings
as strings, booleans only with booleans, ``$ne``/``$nin`` match a missing field.

A condition SQL cannot state exactly (equality with a list or dict, a subset match on a
nested dict, a field name holding ``"``) is returned as a *residual* filter, which the store
checks in Python with ``matches_filter``; SQL then only narrows the rows.
"""

from __future__ import annotations

from typing import Any

from tether.store.sqlfilters import Dialect, Fragment, compile_with, is_number

__all__ = ["compile_filter"]

_ORDERING = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_NUMBER = "('integer', 'real')"


def _path_sql(field: str) -> tuple[str, list[Any]] | None:
    """SQL choosing the JSON path of ``field``: the literal key if present, else the dotted path."""
    parts = field.split(".")
    if '"' in field or not all(parts):
        return None
    literal = f'$."{field}"'
    if len(parts) == 1:
        return "?", [literal]
    nested = "$" + "".join(f'."{part}"' for part in parts)
    return "(CASE WHEN json_type(value, ?) IS NOT NULL THEN ? ELSE ? END)", [
        literal,
        literal,
        nested,
    ]


def _equal(path: str, path_params: list[Any], expected: Any) -> tuple[str, list[Any]] | None:
    """SQL true when the field JSON-equals ``expected`` (never NULL), or None if not exact."""
    kind = f"json_type(value, {path})"
    if expected is None:
        return f"COALESCE({kind} = 'null', 0)", path_params
    if isinstance(expected, bool):
        return f"COALESCE({kind} = ?, 0)", [*path_params, "true" if expected else "false"]
    if is_number(expected) and abs(expected) < 2**53:
        sql = f"COALESCE({kind} IN {_NUMBER} AND json_extract(value, {path}) = ?, 0)"
        return sql, [*path_params, *path_params, expected]
    if isinstance(expected, str):
        sql = f"COALESCE({kind} = 'text' AND json_extract(value, {path}) = ?, 0)"
        return sql, [*path_params, *path_params, expected]
    return None


def _order(op: str, path: str, params: list[Any], operand: Any) -> Fragment | None:
    if is_number(operand) and not abs(operand) < 2**53:
        return None  # beyond exact float range: Python compares it
    kind = "'text'" if isinstance(operand, str) else _NUMBER
    check = "=" if isinstance(operand, str) else "IN"
    sql = (
        f"COALESCE(json_type(value, {path}) {check} {kind} AND "
        f"json_extract(value, {path}) {_ORDERING[op]} ?, 0)"
    )
    return sql, [*params, *params, operand]


_SQLITE = Dialect(path=_path_sql, equal=_equal, order=_order, true="1", false="0")


def compile_filter(filter: dict[str, Any] | None) -> tuple[str, list[Any], dict[str, Any]]:
    """``(where_sql, params, residual)`` for a validated filter: ``where_sql`` ("1" when
    empty) holds the exact conditions; ``residual`` the ones to check in Python."""
    return compile_with(_SQLITE, filter)
