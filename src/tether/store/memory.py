"""``InMemoryStore``: the store contract in process memory, for tests, demos and short runs.

Items live in a dict per namespace. ``search`` lists them in insertion order, namespace by
namespace (an overwrite keeps its place; a delete and a new put moves the item last), as
LangGraph's InMemoryStore does: "the most recent memory is the last in the list"; with a
``query`` and an index, by exact cosine score instead. Values are deep-copied on the way in
and on the way out, so mutating a dict after ``put`` or after ``get`` never changes what is
stored (as with a database backend). One lock makes every batch atomic with respect to other
threads. Embedding happens before the lock is taken; nothing else blocks.
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tether.store.base import (
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from tether.store.core import Embedded, StoreCore, Vector
from tether.store.filters import matches_filter, namespace_matches
from tether.store.ttl import TTLConfig, expiry
from tether.store.vectors import pack, rank

__all__ = ["InMemoryStore"]


@dataclass
class _Record:
    item: Item
    ttl: float | None
    expires_at: datetime | None
    vectors: list[bytes] = field(default_factory=list)

    def alive(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class InMemoryStore(StoreCore):
    """A dict-backed store; everything is lost when the process exits.

    ``index``: an ``IndexConfig`` for semantic search (``tether.store.embed``). ``ttl``: a
    ``TTLConfig`` (``tether.store.ttl``); ``put(..., ttl=minutes)`` works without it.
    """

    def __init__(self, *, index: IndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        self._configure(index, ttl)
        self._lock = threading.RLock()
        self._data: dict[tuple[str, ...], dict[str, _Record]] = {}

    def _apply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        with self._lock:
            return [self._apply_one(i, op, embedded) for i, op in enumerate(ops)]

    def _apply_one(self, i: int, op: Op, embedded: Embedded) -> Result:
        now = self._now()
        if isinstance(op, GetOp):
            record = self._data.get(op.namespace, {}).get(op.key)
            if record is None or not record.alive(now):
                return None
            self._touch(record, op.refresh_ttl, now)
            return _copy(record.item, Item)
        if isinstance(op, SearchOp):
            return self._search(op, embedded.queries.get(i), now)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(op, now)
        self._write(op, [pack(vector) for _, _, vector in embedded.documents.get(i, [])], now)
        return None

    @staticmethod
    def _touch(record: _Record, refresh: bool, now: datetime) -> None:
        if refresh and record.ttl is not None:
            record.expires_at = expiry(now, record.ttl)

    def _write(self, op: PutOp, vectors: list[bytes], now: datetime) -> None:
        bucket = self._data.get(op.namespace)
        if op.value is None:
            if bucket is not None:
                bucket.pop(op.key, None)  # an emptied bucket keeps the namespace's place
            return
        bucket = self._data.setdefault(op.namespace, {})
        old = bucket.get(op.key)
        created = old.item.created_at if old is not None and old.alive(now) else now
        item = Item(
            value=_clone(op.value),
            key=op.key,
            namespace=op.namespace,
            created_at=created,
            updated_at=now,
        )
        bucket[op.key] = _Record(item, op.ttl, expiry(now, op.ttl), vectors)

    def _search(self, op: SearchOp, query: Vector | None, now: datetime) -> list[SearchItem]:
        depth = len(op.namespace_prefix)
        hits = (
            record
            for namespace, bucket in self._data.items()
            if namespace[:depth] == op.namespace_prefix
            for record in bucket.values()
            if record.alive(now) and matches_filter(record.item.value, op.filter)
        )
        page: list[tuple[float | None, _Record]]
        if query is None:  # store order: stop at the page's end
            page = [(None, r) for r in itertools.islice(hits, op.offset, op.offset + op.limit)]
        else:
            page = rank(query, [(r, r.vectors) for r in hits])[op.offset : op.offset + op.limit]
        for _, record in page:
            self._touch(record, op.refresh_ttl, now)
        return [_copy(record.item, SearchItem, score=score) for score, record in page]

    def _list_namespaces(self, op: ListNamespacesOp, now: datetime) -> list[tuple[str, ...]]:
        conditions = op.match_conditions or ()
        found = {
            namespace if op.max_depth is None else namespace[: op.max_depth]
            for namespace, bucket in self._data.items()
            if any(record.alive(now) for record in bucket.values())
            and all(namespace_matches(namespace, c.path, c.match_type) for c in conditions)
        }
        return sorted(found)[op.offset : op.offset + op.limit]

    def sweep_ttl(self) -> int:
        """Delete expired items; return how many were deleted."""
        with self._lock:
            now = self._now()
            removed = 0
            for bucket in self._data.values():
                expired = [key for key, record in bucket.items() if not record.alive(now)]
                for key in expired:
                    del bucket[key]
                removed += len(expired)
            return removed


_IMMUTABLE = (str, int, float, bool, type(None))


def _clone(value: Any) -> Any:
    """A deep copy, fast for JSON-like data (dicts, lists, str, numbers, bools, None)."""
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) is dict:
        return {key: _clone(child) for key, child in value.items()}
    if type(value) is list:
        return [_clone(child) for child in value]
    return copy.deepcopy(value)


def _copy(item: Item, cls: type[Any], **extra: Any) -> Any:
    return cls(
        value=_clone(item.value),
        key=item.key,
        namespace=item.namespace,
        created_at=item.created_at,
        updated_at=item.updated_at,
        **extra,
    )
