"""Adapting a user's node function to the engine's ``call(input, config)``.

Signatures supported: ``(state)``, ``(state, config)``, plus keyword-only ``config``, ``store``,
``runtime`` and ``writer``. The signature is read once, at ``add_node`` time.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any

from tether import _runtime_context

_INJECTABLE = ("config", "store", "runtime", "writer")


def is_async_callable(fn: Any) -> bool:
    target = fn.func if isinstance(fn, functools.partial) else fn
    return asyncio.iscoroutinefunction(target) or asyncio.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )


def adapt(fn: Callable[..., Any]) -> Callable[[Any, dict[str, Any]], Any]:
    """Return ``call(input, config)`` that passes what ``fn`` asks for."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return lambda state, config: fn(state)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    wants_config_positional = len(positional) >= 2
    keyword = {p.name for p in params if p.kind == p.KEYWORD_ONLY and p.name in _INJECTABLE}
    if len(positional) >= 2 and positional[1].name in ("store", "runtime", "writer"):
        wants_config_positional = False
        keyword.add(positional[1].name)
    if not keyword:
        if wants_config_positional:
            return fn
        return lambda state, config: fn(state)

    def call(state: Any, config: dict[str, Any]) -> Any:
        kwargs = _injected(keyword, config)
        if wants_config_positional:
            return fn(state, config, **kwargs)
        return fn(state, **kwargs)

    return call


def _injected(names: set[str], config: dict[str, Any]) -> dict[str, Any]:
    ctx = _runtime_context.current()
    kwargs: dict[str, Any] = {}
    for name in names:
        if name == "config":
            kwargs[name] = config
        elif name == "store":
            kwargs[name] = ctx.store if ctx else None
        elif name == "runtime":
            kwargs[name] = ctx.runtime if ctx else None
        elif name == "writer":
            kwargs[name] = ctx.writer if ctx else _noop
    return kwargs


def _noop(_chunk: Any) -> None:
    return None
