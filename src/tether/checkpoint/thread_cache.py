"""A bounded, thread-safe map whose keys start with a thread id: what a saver remembers of the
threads it wrote or read last (least recently used entries go first)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=tuple[str, ...])
V = TypeVar("V")


class ThreadCache(Generic[K, V]):
    """Keys are tuples whose first item is a thread id; at most ``max_entries`` (None: no
    bound) entries are kept."""

    def __init__(self, max_entries: int | None = 1024) -> None:
        self._entries: collections.OrderedDict[K, V] = collections.OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        """One entry (``put_many``'s rule, without building and walking a list)."""
        entries = self._entries
        with self._lock:
            entries[key] = value
            entries.move_to_end(key)
            if self._max is not None and len(entries) > self._max:
                entries.popitem(last=False)

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        with self._lock:
            for key, value in items:
                self._entries[key] = value
                self._entries.move_to_end(key)
            while self._max is not None and len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def forget_keys(self, keys: Iterable[K]) -> None:
        """Forget these entries (absent ones are ignored)."""
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def forget(self, thread_ids: Iterable[str] | None = None) -> None:
        """Forget every entry, or those of the given threads."""
        with self._lock:
            if thread_ids is None:
                self._entries.clear()
                return
            wanted = set(thread_ids)
            for key in [k for k in self._entries if k[0] in wanted]:
                del self._entries[key]
