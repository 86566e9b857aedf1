"""``RedisStore``: the store contract on plain Redis (core commands only), cluster-safe.

Every key of a store starts with one hash tag, ``{<key_prefix>}``, so a store's keys share one
cluster slot (a store is as big as one node can hold). Namespace labels and keys are escaped
(``tether.checkpoint.redis.keys.escape``), so they match whole and exact: no glob, no wildcard
leaks. Indexes are sorted sets: the namespaces (ranged by lex for a prefix search and
``list_namespaces``, never a keyspace scan), each namespace's keys by expiry (so expired items
are left out by the read itself, between sweeps too) and every item with a TTL by expiry (for
``sweep_ttl``). Writes go through one Lua script (``script.WRITE``): a batch's consecutive
writes land in one script call, atomically; a read within a batch sees the writes before it.

``search`` lists newest ``updated_at`` first, as the SQL stores do; filters run in Python with
the shared rules (``tether.store.filters``); with a query, candidates (the prefix's live items)
are ranked by exact cosine over their stored vectors (``tether.store.vectors.rank``). One
script call (``script.CANDIDATES``) reads the candidates of a search.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from typing_extensions import Self

from tether.checkpoint.redis import connection
from tether.checkpoint.redis.keys import check_prefix, escape
from tether.errors import ConfigurationError
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
from tether.store.core import Embedded, StoreCore, Vector, dumps_value
from tether.store.filters import matches_filter, namespace_matches
from tether.store.redis.script import CANDIDATES, WRITE
from tether.store.ttl import TTLConfig
from tether.store.vectors import pack, rank
from tether.urls import mask_url

__all__ = ["RedisStore"]

_ITEM_FIELDS = ("v", "c", "u", "t", "e")
_SWEEP_CHUNK = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ns_name(namespace: tuple[str, ...]) -> str:
    return ".".join(escape(label) for label in namespace)


def _ns_labels(name: bytes | str) -> tuple[str, ...]:
    return tuple(unquote(label, errors="surrogatepass") for label in _text(name).split("."))


class RedisStore(StoreCore):
    """A store in Redis: sync and async methods (the async ones run the sync client in a
    worker thread).

    ``RedisStore.from_conn_string("redis://localhost:6379/0")`` (closed by ``with`` or
    ``close()``), or ``RedisStore(client)`` around a ``redis.Redis``/``RedisCluster`` you
    opened (``decode_responses=False``) and close. ``key_prefix`` keeps several stores apart
    on one server; ``index`` an ``IndexConfig`` for semantic search; ``ttl`` a ``TTLConfig``.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        url: str | None = None,
        key_prefix: str = "tether:store:",
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        **client_options: Any,
    ) -> None:
        if client is None and url is None:
            raise ConfigurationError(
                "RedisStore needs a client or a URL: RedisStore.from_conn_string('redis://...')"
            )
        self._configure(index, ttl)
        self.base = "{" + check_prefix(key_prefix) + "}"
        self._owns_client = client is None
        if client is None:
            assert url is not None
            client, _ = connection.open_client(url, **client_options)
        kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
        if kwargs.get("decode_responses"):
            raise ConfigurationError(
                "RedisStore needs a client with decode_responses=False (vectors are stored as "
                "bytes); open one without decode_responses, or pass a URL"
            )
        self.client = client
        self.url = mask_url(url) if url else connection.describe(client)
        self._script = client.register_script(WRITE)
        self._read = client.register_script(CANDIDATES)
        self.is_setup = False

    @classmethod
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        key_prefix: str = "tether:store:",
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        **client_options: Any,
    ) -> Self:
        """A store on the server at ``conn_string`` (``redis://``, ``rediss://``,
        ``redis+cluster://``); other keywords go to ``redis.Redis.from_url``."""
        return cls(url=conn_string, key_prefix=key_prefix, index=index, ttl=ttl, **client_options)

    def setup(self) -> None:
        """Check the server answers and that the index's dims match the stored vectors'."""
        if self.is_setup:
            return
        with connection.mapped(self.url, "set up the store"):
            self.client.ping()
            if self.embedder is not None:
                meta = self.base + ":meta"
                self.client.hsetnx(meta, "dims", self.embedder.dims)
                dims = int(self.client.hget(meta, "dims"))
                if dims != self.embedder.dims:
                    raise ConfigurationError(
                        f"the Redis store at {self.url} (key_prefix {self.base[1:-1]!r}) holds "
                        f"vectors of {dims} dims, but index dims is {self.embedder.dims}; use "
                        "the same dims, or another key_prefix"
                    )
        self.is_setup = True

    def close(self) -> None:
        """Stop the sweeper and close the client if the store opened it."""
        super().close()
        if self._owns_client:
            self.client.close()

    # --- batches ----------------------------------------------------------------------------

    def _apply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        self.setup()
        with connection.mapped(self.url, "run a store batch"):
            pending: list[Any] = []
            results: list[Result] = []
            for i, op in enumerate(ops):
                now = self._now()
                if isinstance(op, PutOp):
                    pending += self._write_args(op, embedded.documents.get(i, []), now)
                    results.append(None)
                    continue
                self._flush(pending, now)
                if isinstance(op, GetOp):
                    results.append(self._get(op, now, pending))
                elif isinstance(op, SearchOp):
                    results.append(self._search(op, embedded.queries.get(i), now, pending))
                elif isinstance(op, ListNamespacesOp):
                    results.append(self._list_namespaces(op, now))
            self._flush(pending, self._now())
            return results

    async def _aapply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        return await asyncio.to_thread(self._apply, ops, embedded)

    def _flush(self, pending: list[Any], now: datetime) -> int:
        """Run the pending script records (one atomic call); empty ``pending``."""
        if not pending:
            return 0
        args, pending[:] = [repr(now.timestamp()), *pending], []
        return int(self._script(keys=[self.base], args=args))

    def _item_key(self, ns: str, key: str) -> str:
        return f"{self.base}:i:{ns}:{key}"

    def _write_args(
        self, op: PutOp, documents: list[tuple[str, str, Vector]], now: datetime
    ) -> list[Any]:
        ns, key = _ns_name(op.namespace), escape(op.key)
        if op.value is None:
            return ["D", ns, key]
        stamp = now.isoformat()
        expires = "" if op.ttl is None else repr(now.timestamp() + op.ttl * 60)
        vectors = b"".join(pack(vector) for _, _, vector in documents)
        order = str((now - _EPOCH) // _MICROSECOND)  # exact, unlike timestamp() * 1e6
        ttl = "" if op.ttl is None else repr(float(op.ttl))
        return ["P", ns, key, dumps_value(op), stamp, stamp, order, ttl, expires, vectors]

    @staticmethod
    def _refresh_args(ns: str, key: str, ttl: Any, now: datetime) -> list[Any]:
        if not ttl:
            return []
        return ["R", ns, key, repr(now.timestamp() + float(_text(ttl)) * 60)]

    # --- reads ------------------------------------------------------------------------------

    def _get(self, op: GetOp, now: datetime, pending: list[Any]) -> Item | None:
        ns, key = _ns_name(op.namespace), escape(op.key)
        row = self.client.hmget(self._item_key(ns, key), *_ITEM_FIELDS)
        if row[0] is None or not _alive(row[4], now):
            return None
        if op.refresh_ttl:
            pending += self._refresh_args(ns, key, row[3], now)
        return _item(Item, op.namespace, op.key, row)

    def _candidates(self, op: SearchOp, now: datetime, fields: list[str]) -> list[list[Any]]:
        """``[ns, key, order, *fields]`` of every live item under the prefix, newest first
        (one script call: the namespaces, their live keys and the fields, server side)."""
        prefix = _ns_name(op.namespace_prefix) if op.namespace_prefix else ""
        flat = self._read(keys=[self.base], args=[repr(now.timestamp()), prefix, *fields])
        width = 3 + len(fields)
        rows = [
            [_text(flat[i]), _text(flat[i + 1]), int(flat[i + 2]), *flat[i + 3 : i + width]]
            for i in range(0, len(flat), width)
        ]
        rows.sort(key=lambda row: -row[2])
        return rows

    def _search(
        self, op: SearchOp, query: Vector | None, now: datetime, pending: list[Any]
    ) -> list[SearchItem]:
        fields = (["v"] if op.filter else []) + (["x"] if query is not None else [])
        rows = self._candidates(op, now, fields)
        if op.filter:
            rows = [row for row in rows if matches_filter(json.loads(row[3]), op.filter)]
        window = slice(op.offset, op.offset + op.limit)
        page: list[tuple[float | None, list[Any]]]
        if query is None:
            page = [(None, row) for row in rows[window]]
        else:
            width = len(pack(query))
            page = rank(query, [(row, list(_split(row[-1] or b"", width))) for row in rows])[window]
        pipe = self.client.pipeline(transaction=False)
        for _, row in page:
            pipe.hmget(self._item_key(row[0], row[1]), *_ITEM_FIELDS)
        found = []
        for (score, row), full in zip(page, pipe.execute(), strict=True):
            if full[0] is None:
                continue  # deleted between the two reads
            if op.refresh_ttl:
                pending += self._refresh_args(row[0], row[1], full[3], now)
            found.append(
                _item(SearchItem, _ns_labels(row[0]), _unescape(row[1]), full, score=score)
            )
        return found

    def _list_namespaces(self, op: ListNamespacesOp, now: datetime) -> list[tuple[str, ...]]:
        spaces = [_text(ns) for ns in self.client.zrangebylex(self.base + ":ns", "-", "+")]
        pipe = self.client.pipeline(transaction=False)
        for ns in spaces:
            pipe.zcount(f"{self.base}:n:{ns}", f"({now.timestamp()!r}", "+inf")
        conditions = op.match_conditions or ()
        found = {
            labels if op.max_depth is None else labels[: op.max_depth]
            for labels, count in zip(map(_ns_labels, spaces), pipe.execute(), strict=True)
            if count and all(namespace_matches(labels, c.path, c.match_type) for c in conditions)
        }
        return sorted(found)[op.offset : op.offset + op.limit]

    def sweep_ttl(self) -> int:
        """Delete expired items; return how many were deleted."""
        self.setup()
        removed = 0
        with connection.mapped(self.url, "sweep expired store items"):
            now = self._now()
            members = self.client.zrangebyscore(self.base + ":exp", "-inf", now.timestamp())
            for start in range(0, len(members), _SWEEP_CHUNK):
                pending: list[Any] = []
                for member in members[start : start + _SWEEP_CHUNK]:
                    ns, _, key = _text(member).partition("/")
                    pending += ["X", ns, key]
                removed += self._flush(pending, now)
        return removed


def _alive(expires: bytes | str | None, now: datetime) -> bool:
    return not expires or float(_text(expires)) > now.timestamp()


def _unescape(text: str) -> str:
    return unquote(text, errors="surrogatepass")


def _split(blob: bytes, width: int) -> Iterator[bytes]:
    for start in range(0, len(blob), width):
        yield blob[start : start + width]


def _item(
    cls: type[Any], namespace: tuple[str, ...], key: str, row: list[Any], **extra: Any
) -> Any:
    value, created, updated = row[0], row[1], row[2]
    return cls(
        namespace=namespace,
        key=key,
        value=json.loads(value),
        created_at=datetime.fromisoformat(_text(created)).astimezone(timezone.utc),
        updated_at=datetime.fromisoformat(_text(updated)).astimezone(timezone.utc),
        **extra,
    )
