"""Node and task caching: which cache entry a task maps to, and looking it up or filling it.

A node (or ``@task``) with a ``CachePolicy`` in a graph compiled with ``cache=`` is keyed by
``(("__pregel_ns_writes", <function's module.qualname>, <name>), hash(key))``, where the key is
``policy.key_func(input)`` or, by default, the serialized input. A hit replays the stored result
instead of running the function (LangGraph's rule).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

from tether.errors import ConfigurationError

CACHE_NS_WRITES = "__pregel_ns_writes"


@dataclasses.dataclass(frozen=True, slots=True)
class CacheEntry:
    """Where one task's result lives in the cache, and for how long it is kept."""

    key: tuple[tuple[str, ...], str]
    ttl: int | None


def identifier(fn: Any) -> str:
    """``module.qualname`` of a function (the middle part of its cache namespace)."""
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if module and name and "<lambda>" not in name:
        return f"{module}.{name}"
    return "__dynamic__"


def cache_namespace(fn: Any, name: str) -> tuple[str, ...]:
    return (CACHE_NS_WRITES, identifier(fn), name)


def cache_entry(
    policy: Any, namespace: tuple[str, ...], name: str, args: tuple[Any, ...], kwargs: Any
) -> CacheEntry:
    """The entry of a call with these arguments under ``policy``."""
    key_func: Callable[..., Any] | None = policy.key_func
    try:
        kw = dict(kwargs or {})
        raw = key_func(*args, **kw) if key_func is not None else _default_key(args, kw)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"the cache key_func of {name!r} failed on its input: {exc!r}; make it return a "
            f"str or bytes for every input"
        ) from exc
    if isinstance(raw, str):
        raw = raw.encode()
    if not isinstance(raw, bytes):
        raise ConfigurationError(
            f"the cache key_func of {name!r} returned {type(raw).__name__}; it must return a "
            f"str or bytes"
        )
    return CacheEntry((namespace, hashlib.blake2b(raw, digest_size=16).hexdigest()), policy.ttl)


def _default_key(args: tuple[Any, ...], kwargs: Any) -> bytes:
    from tether.checkpoint.serde import MsgpackSerializer
    from tether.errors import SerializationError

    try:
        tag, data = MsgpackSerializer().dumps_typed([list(args), dict(kwargs or {})])
    except SerializationError as exc:
        raise ConfigurationError(
            f"cannot make a cache key from this input ({exc}); pass "
            f"CachePolicy(key_func=...) returning a str for it"
        ) from exc
    return tag.encode() + b"\x00" + data


__all__ = ["CACHE_NS_WRITES", "CacheEntry", "cache_entry", "cache_namespace", "identifier"]
