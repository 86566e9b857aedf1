"""Adapting a user's node function to the engine's ``call(input, config)``.

Signatures supported: ``(state)``, ``(state, config)``, plus keyword-only ``config``, ``store``,
``runtime`` and ``writer``. The signature is read once, at ``add_node`` time.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from tether import _runtime_context

_INJECTABLE = ("config", "store", "runtime", "writer")


def inferred_input_schema(fn: Any) -> Any:
    """The class annotating ``fn``'s first parameter if it has fields (LangGraph's rule), or None.

    A node written ``def node_2(state: Node2Input)`` reads the channels of ``Node2Input``, not
    the graph's whole state.
    """
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else None
    if target is None and inspect.ismethod(getattr(fn, "__call__", None)):  # noqa: B004
        target = fn.__call__
    if target is None:
        return None
    try:
        hints = typing.get_type_hints(target)
        first = next(iter(inspect.signature(target).parameters), None)
    except (NameError, TypeError, ValueError):
        return None
    hint = hints.get(first) if first is not None else None
    if not isinstance(hint, type):
        return None
    try:
        return hint if typing.get_type_hints(hint) else None
    except (NameError, TypeError):
        return None


def is_async_callable(fn: Any) -> bool:
    target = fn.func if isinstance(fn, functools.partial) else fn
    return asyncio.iscoroutinefunction(target) or asyncio.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )


def adapt(fn: Callable[..., Any]) -> Callable[[Any, dict[str, Any]], Any]:
    """Return ``call(input, config)`` that passes what ``fn`` asks for, by parameter name.

    The first parameter gets the state; a parameter named ``config`` gets the config, and
    ones named ``store``, ``runtime`` or ``writer`` get those (LangGraph's rule).
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return lambda state, config: fn(state)
    named = [
        p.name
        for p in params[1:]
        if p.name in _INJECTABLE
        and p.kind not in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if not named:
        return lambda state, config: fn(state)
    if named == ["config"]:
        return lambda state, config: fn(state, config=config)
    wanted = set(named)

    def call(state: Any, config: dict[str, Any]) -> Any:
        return fn(state, **_injected(wanted, config))

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
