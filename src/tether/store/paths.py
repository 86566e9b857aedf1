"""Field paths: which text of a stored value gets embedded.

A path picks text out of an item's value: ``"$"`` is the whole value (as sorted JSON),
``"a.b"`` a nested field, ``"list[*].x"`` the ``x`` of every element (one text each),
``"list[0]"`` / ``"list[-1]"`` one element, ``"*"`` every value of a dict. Strings are taken as
they are, numbers and booleans as ``str()``, lists and dicts as sorted JSON; a missing field
or ``None`` gives no text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tether.errors import ConfigurationError

__all__ = ["parse_path", "texts_at"]

_TOKEN = re.compile(r"\[(\*|-?\d+)\]|([^.\[\]]+)")


def parse_path(path: str) -> tuple[str, ...]:
    """Split ``path`` into tokens (``"a[*].b"`` -> ``("a", "[*]", "b")``); ``"$"`` is ``()``.

    Raises ``ConfigurationError`` naming the path when it is not valid.
    """
    if not isinstance(path, str) or not path:
        raise ConfigurationError(f"index field path must be a non-empty string, got {path!r}")
    if path == "$":
        return ()
    tokens: list[str] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and tokens and pos + 1 < len(path) and path[pos + 1] != "[":
            pos += 1
        found = _TOKEN.match(path, pos)
        if found is None:
            raise ConfigurationError(
                f"index field path {path!r}: cannot read it at position {pos}; write fields "
                "as 'a.b', 'list[*].x', 'list[0]' or '$' (the whole value)"
            )
        tokens.append(f"[{found.group(1)}]" if found.group(1) else found.group(2))
        pos = found.end()
    return tuple(tokens)


def _as_text(node: Any) -> list[str]:
    if node is None:
        return []
    if isinstance(node, str):
        return [node]
    if isinstance(node, (bool, int, float)):
        return [str(node)]
    return [json.dumps(node, sort_keys=True, ensure_ascii=False, default=str)]


def _walk(node: Any, tokens: tuple[str, ...]) -> list[str]:
    if not tokens:
        return _as_text(node)
    token, rest = tokens[0], tokens[1:]
    if token == "[*]":
        return [t for child in node for t in _walk(child, rest)] if isinstance(node, list) else []
    if token.startswith("["):
        if not isinstance(node, list):
            return []
        index = int(token[1:-1])
        return _walk(node[index], rest) if -len(node) <= index < len(node) else []
    if token == "*" and isinstance(node, dict):
        return [t for child in node.values() for t in _walk(child, rest)]
    if isinstance(node, dict) and token in node:
        return _walk(node[token], rest)
    return []


def texts_at(value: dict[str, Any], path: str | tuple[str, ...]) -> list[str]:
    """The texts ``path`` selects in ``value`` (empty when the field is missing)."""
    tokens = parse_path(path) if isinstance(path, str) else path
    return _walk(value, tokens)
