"""Checkpoint metadata as JSON in SQLite: writing it, and ``list()`` filters on it.

Non-finite floats (NaN, Infinity) are refused at write time with the key named: JSON has no
such numbers and SQLite's JSON functions reject the text Python would write for them. A row
whose metadata SQLite cannot parse (damaged, or written by an older tether) never matches a
filter and never fails one: every filter condition is guarded by ``json_valid``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from tether.errors import ConfigurationError, SerializationError

_INT64 = (-(2**63), 2**63 - 1)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _c_encoder() -> Any:
    """CPython's C encoder, built once: ``JSONEncoder.encode`` builds one per call (~10,000
    instructions of a put). No circular-reference markers: a cycle ends in RecursionError.
    None when this Python has no C encoder or builds it differently (``c_make_encoder`` is
    not public API): ``_encode`` then uses ``JSONEncoder.encode``, the same text."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        # markers, default, encoder, indent, separators, sort_keys, skipkeys, allow_nan
        return make(
            None,
            _ENCODER.default,
            json.encoder.encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            False,
        )
    except TypeError:
        return None


_encode_chunks = _c_encoder()


def _encode(meta: Mapping[str, Any]) -> str:
    if _encode_chunks is None:
        return _ENCODER.encode(meta)
    return "".join(_encode_chunks(meta, 0))


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")


def to_json(meta: Mapping[str, Any], thread_id: str, checkpoint_id: str) -> str:
    """The metadata as compact JSON; a non-finite float or a non-JSON value is refused."""
    try:
        return _encode(meta)
    except (TypeError, ValueError, RecursionError) as exc:
        # Only now look for the key to name: the walk costs more than the encoding.
        where = f"metadata of checkpoint {checkpoint_id!r} in thread {thread_id!r}"
        bad = _non_finite(meta, "")
        if bad is not None:
            raise SerializationError(
                f"{where}: metadata key {bad[0]!r} is {bad[1]!r}, which is not finite: JSON "
                f"cannot store NaN or Infinity; store None or a string such as 'nan' instead"
            ) from None
        raise SerializationError(
            f"{where} is not JSON: {exc}; keep config['metadata'] values to str, int, float, "
            f"bool, lists and dicts"
        ) from exc


def _non_finite(value: Any, path: str) -> tuple[str, float] | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, Mapping):
        items: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub_path, sub in items:
        found = _non_finite(sub, sub_path)
        if found is not None:
            return found
    return None


def filter_items(filter: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """The filter's (key, value) pairs; a key that is not a string is refused."""
    for key in filter or {}:
        if not isinstance(key, str):
            raise ConfigurationError(f"metadata filter keys must be strings, got {key!r}")
    return list((filter or {}).items())


def filter_sql(
    filter: Mapping[str, Any] | None, column: str = "metadata"
) -> tuple[str | None, list[Any], dict[str, Any]]:
    """``(condition, params, checked_in_python)`` for equality filters on top-level keys.

    Keys of letters, digits and ``_`` use a JSON path (passed as a parameter, never spliced
    in); any other key is matched by ``json_each``, which compares decoded keys, so keys with
    quotes, dots or control characters match exactly. Values SQL cannot compare exactly (lists,
    dicts, integers beyond 64 bits) are checked in Python after loading.
    """
    parts: list[str] = []
    params: list[Any] = []
    later: dict[str, Any] = {}
    for key, value in filter_items(filter):
        test, test_params, exact = _value_test(value)
        if not exact:
            later[key] = value
        if _PLAIN_KEY.fullmatch(key):
            path = f'$."{key}"'
            sql = test.format(value=f"json_extract({column}, ?)", type=f"json_type({column}, ?)")
            parts.append(sql)
            params += [path if p is _PATH else p for p in test_params]
        else:
            sql = test.format(value="j.value", type="j.type")
            parts.append(f"EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.key = ? AND {sql})")
            params += [key, *(p for p in test_params if p is not _PATH)]
    if not parts:
        return None, [], later
    condition = f"(CASE WHEN json_valid({column}) THEN ({' AND '.join(parts)}) ELSE 0 END)"
    return condition, params, later


_PATH = object()
"""Placeholder in a value test's parameters for the JSON path of a plain key."""


def _value_test(value: Any) -> tuple[str, list[Any], bool]:
    """A condition on ``{value}``/``{type}``, its parameters, and whether it is exact."""
    if value is None:
        return "{type} = 'null'", [_PATH], True
    if isinstance(value, bool):
        return "{type} = ?", [_PATH, "true" if value else "false"], True
    if isinstance(value, str):
        return "{type} = 'text' AND {value} = ?", [_PATH, _PATH, value], True
    if (isinstance(value, int) and _INT64[0] <= value <= _INT64[1]) or isinstance(value, float):
        return "{type} IN ('integer', 'real') AND {value} = ?", [_PATH, _PATH, value], True
    if isinstance(value, int):
        return "{type} IN ('integer', 'real')", [_PATH], False
    return "{type} IS NOT NULL", [_PATH], False
