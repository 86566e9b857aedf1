"""``InMemoryStore``: the store contract in process memory, for tests, demos and short runs.

Items live in a dict per namespace. ``search`` lists them in insertion order, namespace by
namespace (an overwrite keeps its place; a delete and a new put moves the item last), as
LangGraph's InMemoryStore does: "the most recent memory is the last in the list". Values are
deep-copied on the way in and on the way out,
so mutating a dict after ``put`` or after ``get`` never changes what is stored (as with a
database backend). One lock makes every batch atomic with respect to other threads. The
async methods call the sync ones: nothing here blocks on I/O.

Not supported yet: semantic search (``InMemoryStore(index=...)`` raises; ``query=`` is
ignored) and TTL (``supports_ttl = False``; ``put(..., ttl=...)`` raises).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from tether.errors import ConfigurationError
from tether.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_ops,
)
from tether.store.filters import matches_filter, namespace_matches

__all__ = ["InMemoryStore"]

_TICK = timedelta(microseconds=1)


class InMemoryStore(BaseStore):
    """A dict-backed ``BaseStore``; everything is lost when the process exits.

    ``index`` exists for LangGraph's signature only: embedding indexes are not supported
    yet, and passing one raises ``ConfigurationError``.
    """

    supports_ttl = False

    def __init__(self, *, index: Any = None) -> None:
        if index is not None:
            raise ConfigurationError(
                "InMemoryStore(index=...): semantic search (embeddings and a vector index) is "
                "not supported by tether yet; create the store without index=. search(query=...) "
                "then ignores the query and returns the filter matches"
            )
        self._lock = threading.RLock()
        self._data: dict[tuple[str, ...], dict[str, Item]] = {}
        self._last_write: datetime | None = None

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Validate all ``ops``, then apply them in order under the store's lock."""
        checked = validate_ops(ops, supports_ttl=self.supports_ttl, store="InMemoryStore")
        with self._lock:
            return [self._apply(op) for op in checked]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Same as ``batch`` (no I/O, so nothing to await)."""
        return self.batch(ops)

    def _apply(self, op: Op) -> Result:
        if isinstance(op, GetOp):
            item = self._data.get(op.namespace, {}).get(op.key)
            return None if item is None else _copy_item(item)
        if isinstance(op, SearchOp):
            return self._search(op)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(op)
        self._write(op)
        return None

    def _now(self) -> datetime:
        """The current UTC time, strictly after the previous write's (clocks can stall)."""
        now = datetime.now(timezone.utc)
        if self._last_write is not None and now <= self._last_write:
            now = self._last_write + _TICK
        self._last_write = now
        return now

    def _write(self, op: PutOp) -> None:
        bucket = self._data.get(op.namespace)
        if op.value is None:
            if bucket is not None:
                bucket.pop(op.key, None)  # an emptied bucket keeps the namespace's place
            return
        bucket = self._data.setdefault(op.namespace, {})
        now = self._now()
        old = bucket.get(op.key)
        bucket[op.key] = Item(
            value=copy.deepcopy(op.value),
            key=op.key,
            namespace=op.namespace,
            created_at=old.created_at if old is not None else now,
            updated_at=now,
        )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        depth = len(op.namespace_prefix)
        hits = [
            item
            for namespace, bucket in self._data.items()
            if namespace[:depth] == op.namespace_prefix
            for item in bucket.values()
            if matches_filter(item.value, op.filter)
        ]
        page = hits[op.offset : op.offset + op.limit]
        return [
            SearchItem(
                item.namespace,
                item.key,
                copy.deepcopy(item.value),
                item.created_at,
                item.updated_at,
            )
            for item in page
        ]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conditions = op.match_conditions or ()
        found = {
            namespace if op.max_depth is None else namespace[: op.max_depth]
            for namespace, bucket in self._data.items()
            if bucket
            and all(namespace_matches(namespace, c.path, c.match_type) for c in conditions)
        }
        return sorted(found)[op.offset : op.offset + op.limit]


def _copy_item(item: Item) -> Item:
    return Item(
        value=copy.deepcopy(item.value),
        key=item.key,
        namespace=item.namespace,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )
