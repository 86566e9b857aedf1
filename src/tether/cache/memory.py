"""``InMemoryCache``: a process-local cache (LangGraph's ``langgraph.cache.memory``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tether.cache.base import BaseCache, FullKey, Namespace
from tether.checkpoint.serde import SerializerProtocol


class InMemoryCache(BaseCache[Any]):
    """Serialized values in a dict, dropped when they expire; safe to share between threads."""

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self._cache: dict[Namespace, dict[str, tuple[str, bytes, float | None]]] = {}
        self._lock = threading.RLock()

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        now = time.time()
        found: dict[FullKey, Any] = {}
        with self._lock:
            for ns, key in keys:
                entries = self._cache.get(ns)
                if entries is None or key not in entries:
                    continue
                tag, data, expiry = entries[key]
                if expiry is not None and expiry <= now:
                    del entries[key]
                    continue
                found[(ns, key)] = self.serde.loads_typed((tag, data))
        return found

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        now = time.time()
        stored = {
            key: (*self.serde.dumps_typed(value), None if ttl is None else now + ttl)
            for key, (value, ttl) in pairs.items()
        }
        with self._lock:
            for (ns, key), entry in stored.items():
                self._cache.setdefault(ns, {})[key] = entry

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        with self._lock:
            if namespaces is None:
                self._cache.clear()
                return
            for ns in namespaces:
                self._cache.pop(ns, None)


__all__ = ["InMemoryCache"]
