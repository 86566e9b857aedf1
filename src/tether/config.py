"""Helpers a running node calls to reach its config, store, stream writer and runtime.

Same names as LangGraph's ``langgraph.config``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tether import _runtime_context
from tether.errors import InvalidContextError


def _noop(_chunk: Any) -> None:
    return None


def get_config() -> dict[str, Any]:
    """The config of the node running now (LangGraph's ``get_config``)."""
    ctx = _runtime_context.current()
    if ctx is None:
        raise InvalidContextError("get_config() works only inside a running graph node")
    return ctx.config


def get_store() -> Any:
    """The store the graph was compiled with, inside a running node."""
    ctx = _runtime_context.current()
    return ctx.store if ctx else None


def get_stream_writer() -> Callable[[Any], None]:
    """A function that sends a chunk to ``stream_mode="custom"`` (a no-op when not streaming)."""
    ctx = _runtime_context.current()
    return ctx.writer if ctx else _noop


def get_runtime(context_schema: Any = None) -> Any:
    """The ``Runtime`` of the running node: context, store, stream_writer."""
    ctx = _runtime_context.current()
    return ctx.runtime if ctx else None
