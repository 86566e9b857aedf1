"""Search filters compiled to PostgreSQL SQL over the JSONB value, with the meaning of
``tether.store.filters``.

Every value and every JSON path reaches SQL as a bound parameter; no text of a filter is
spliced into a statement. Numbers compare as ``numeric`` (``9 < 10``, and exactly: no float
rounding of large integers), strings byte-wise (``COLLATE "C"``, Python's order), booleans
only with booleans; ``$ne``/``$nin`` match a missing field. A key present literally
(``"a.b"``) wins over the dotted path, as in Python.

What SQL cannot state exactly (equality with a list or dict, a subset match on a nested
dict, a path step that could index an array) is returned as a *residual* filter, which the
store checks in Python; SQL then only narrows the rows.
"""

from __future__ import annotations

import math
from typing import Any

from tether.store.sqlfilters import Dialect, Fragment, compile_with, is_number

__all__ = ["compile_filter"]

_ORDERING = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _path_sql(field: str) -> tuple[str, list[Any]] | None:
    """The JSONB at ``field``: the literal key if present, else the dotted path (a JSON
    null there is a value, not SQL NULL, so COALESCE picks the literal key exactly)."""
    parts = field.split(".")
    if not all(parts) or any(part.lstrip("-").isdigit() for part in parts):
        return None  # '#>' would index into arrays where Python's lookup does not
    if len(parts) == 1:
        return "(value -> ?)", [field]
    return "COALESCE(value -> ?, value #> ?::text[])", [field, parts]


def _number(path: str, params: list[Any], op: str, operand: Any) -> tuple[str, list[Any]]:
    """A numeric comparison; CASE keeps PostgreSQL from casting a non-number to numeric."""
    sql = (
        f"COALESCE(CASE WHEN jsonb_typeof({path}) = 'number' "
        f"THEN ({path})::numeric {op} ?::numeric END, FALSE)"
    )
    return sql, [*params, *params, operand]


def _equal(path: str, params: list[Any], expected: Any) -> tuple[str, list[Any]] | None:
    """SQL true when the field JSON-equals ``expected`` (never NULL), or None if not exact."""
    if expected is None:
        return f"COALESCE(jsonb_typeof({path}) = 'null', FALSE)", params
    if isinstance(expected, bool):
        return f"COALESCE({path} = ?::jsonb, FALSE)", [*params, "true" if expected else "false"]
    if is_number(expected) and math.isfinite(expected):
        return _number(path, params, "=", expected)
    if isinstance(expected, str):
        sql = f"COALESCE(jsonb_typeof({path}) = 'string' AND ({path} #>> '{{}}') = ?, FALSE)"
        return sql, [*params, *params, expected]
    return None


def _order(op: str, path: str, params: list[Any], operand: Any) -> Fragment | None:
    if isinstance(operand, str):
        sql = (
            f"COALESCE(jsonb_typeof({path}) = 'string' AND "
            f"({path} #>> '{{}}') COLLATE \"C\" {_ORDERING[op]} ?, FALSE)"
        )
        return sql, [*params, *params, operand]
    if not math.isfinite(operand):
        return None
    return _number(path, params, _ORDERING[op], operand)


_POSTGRES = Dialect(path=_path_sql, equal=_equal, order=_order, true="TRUE", false="FALSE")


def compile_filter(filter: dict[str, Any] | None) -> tuple[str, list[Any], dict[str, Any]]:
    """``(where_sql, params, residual)`` for a validated filter: ``where_sql`` ("TRUE" when
    empty) holds the exact conditions; ``residual`` the ones to check in Python."""
    return compile_with(_POSTGRES, filter)
