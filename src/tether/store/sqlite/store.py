"""``SqliteStore``: the store contract in a SQLite file (or ``:memory:``).

Each batch is one transaction on one connection, shared under a lock. ``search`` lists
newest ``updated_at`` first, as LangGraph's SQL stores do; filters run in SQL with every value
as a parameter (``tether.store.sqlite.filters``); namespaces match whole labels with
``substr`` comparisons, never ``LIKE``. Semantic search is an exact scan: the candidates'
vectors are read and ranked by cosine in Python, equal to a brute-force ranking.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from typing_extensions import Self

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
from tether.store.sqlite import schema
from tether.store.sqlite.filters import compile_filter
from tether.store.ttl import TTLConfig
from tether.store.vectors import pack, rank
from tether.urls import sqlite_path

__all__ = ["SqliteStore"]

_ALIVE = "(expires_at IS NULL OR expires_at > ?)"
_COLUMNS = "prefix, key, value, created_at, updated_at"
_UPSERT = (
    "INSERT INTO tether_store_items VALUES (?, ?, {value}, ?, ?, ?, ?) "
    "ON CONFLICT (prefix, key) DO UPDATE SET value = excluded.value, "
    "updated_at = excluded.updated_at, ttl_minutes = excluded.ttl_minutes, "
    "expires_at = excluded.expires_at, created_at = CASE WHEN "
    "({items}.expires_at IS NULL OR {items}.expires_at > ?) "
    "THEN {items}.created_at ELSE excluded.created_at END"
)


def _ts(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _prefix_sql(prefix: tuple[str, ...], column: str = "prefix") -> tuple[str, list[Any]]:
    if not prefix:
        return "TRUE", []
    text = ".".join(prefix)
    return f"({column} = ? OR substr({column}, 1, ?) = ?)", [text, len(text) + 1, text + "."]


class SqliteStore(StoreCore):
    """A store in SQLite. ``SqliteStore.from_conn_string("app.db")`` opens (and creates) a
    file; ``SqliteStore(conn)`` wraps your ``sqlite3`` connection (``check_same_thread=False``
    if several threads use it). Tables are created on first use (``setup()`` does it now).

    ``index``: an ``IndexConfig`` for semantic search; ``ttl``: a ``TTLConfig``.

    The class attributes below are the SQL that differs between SQLite and PostgreSQL
    (``tether.store.postgres`` runs this class's logic with its own).
    """

    _UPSERT_SQL = _UPSERT.format(value="?", items="tether_store_items")
    _VECTOR_SQL = "INSERT OR REPLACE INTO tether_store_vectors VALUES (?, ?, ?, ?, ?)"
    _ORDER = "i.updated_at DESC, i.rowid DESC"
    _compile_filter = staticmethod(compile_filter)

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        self._configure(index, ttl)
        conn.isolation_level = None  # the store issues BEGIN/COMMIT itself
        self.conn = conn
        self._where = "the SQLite store"
        self._lock = threading.RLock()
        self._owned = False
        self.is_setup = False

    @classmethod
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> Self:
        """A store on the file at ``conn_string`` (a path, ``sqlite:///path`` or ``:memory:``).

        Use it as ``with SqliteStore.from_conn_string(path) as store:`` (closed on exit) or
        keep it and call ``close()``.
        """
        path = sqlite_path(conn_string)
        try:
            conn = schema.connect(path)
        except sqlite3.Error as error:
            raise schema.translate(error, repr(path), "open the store") from error
        store = cls(conn, index=index, ttl=ttl)
        store._where = "an in-memory SQLite store" if path == ":memory:" else f"SQLite {path!r}"
        store._owned = True
        try:
            store.setup()
        except BaseException:
            conn.close()
            raise
        return store

    def setup(self) -> None:
        """Create the store's tables if they do not exist (idempotent)."""
        with self._lock:
            if self.is_setup:
                return
            try:
                schema.create(self.conn, self._where)
                if self.embedder is not None:
                    schema.check_dims(self.conn, self.embedder.dims, self._where)
            except sqlite3.Error as error:
                raise schema.translate(error, self._where, "create the store tables") from error
            self.is_setup = True

    def close(self) -> None:
        """Stop the sweeper and close the connection if the store opened it."""
        super().close()
        if self._owned:
            self.conn.close()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        self.setup()
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise schema.translate(error, self._where, "run a store batch") from error

    def _apply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        write = any(isinstance(op, PutOp) or getattr(op, "refresh_ttl", False) for op in ops)
        with self._transaction(write) as conn:
            return [self._apply_one(conn, i, op, embedded) for i, op in enumerate(ops)]

    async def _aapply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        return await asyncio.to_thread(self._apply, ops, embedded)

    def _apply_one(self, conn: sqlite3.Connection, i: int, op: Op, embedded: Embedded) -> Result:
        now = self._now()
        if isinstance(op, GetOp):
            return self._get(conn, op, now)
        if isinstance(op, SearchOp):
            return self._search(conn, op, embedded.queries.get(i), now)
        if isinstance(op, ListNamespacesOp):
            return self._list_namespaces(conn, op, now)
        self._write(conn, op, embedded.documents.get(i, []), now)
        return None

    def _get(self, conn: sqlite3.Connection, op: GetOp, now: datetime) -> Item | None:
        prefix = ".".join(op.namespace)
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM tether_store_items WHERE prefix = ? AND key = ? AND {_ALIVE}",
            (prefix, op.key, now.timestamp()),
        ).fetchone()
        if row is None:
            return None
        if op.refresh_ttl:
            self._refresh(conn, [(prefix, op.key)], now)
        return _item(row, Item)

    def _refresh(
        self, conn: sqlite3.Connection, keys: list[tuple[str, str]], now: datetime
    ) -> None:
        if self.supports_ttl and keys:
            conn.executemany(
                "UPDATE tether_store_items SET expires_at = ? + ttl_minutes * 60 "
                "WHERE prefix = ? AND key = ? AND ttl_minutes IS NOT NULL",
                [(now.timestamp(), prefix, key) for prefix, key in keys],
            )

    def _write(
        self,
        conn: sqlite3.Connection,
        op: PutOp,
        documents: list[tuple[str, str, Vector]],
        now: datetime,
    ) -> None:
        prefix = ".".join(op.namespace)
        conn.execute(
            "DELETE FROM tether_store_vectors WHERE prefix = ? AND key = ?", (prefix, op.key)
        )
        if op.value is None:
            conn.execute(
                "DELETE FROM tether_store_items WHERE prefix = ? AND key = ?", (prefix, op.key)
            )
            return
        stamp, moment = _ts(now), now.timestamp()
        expires = None if op.ttl is None else moment + op.ttl * 60
        conn.execute(
            self._UPSERT_SQL,
            (prefix, op.key, dumps_value(op), stamp, stamp, op.ttl, expires, moment),
        )
        conn.executemany(
            self._VECTOR_SQL,
            [(prefix, op.key, path, n, pack(vec)) for n, (path, _, vec) in enumerate(documents)],
        )

    def _search(
        self, conn: sqlite3.Connection, op: SearchOp, query: Vector | None, now: datetime
    ) -> list[SearchItem]:
        where_ns, ns_params = _prefix_sql(op.namespace_prefix, "i.prefix")
        where_filter, filter_params, residual = self._compile_filter(op.filter)
        where = f"{where_ns} AND {_ALIVE.replace('expires_at', 'i.expires_at')} AND {where_filter}"
        params = [*ns_params, now.timestamp(), *filter_params]
        if query is not None:
            page = self._ranked_page(conn, op, query, where, params, residual)
        else:
            page_sql, page_params = (
                ("", []) if residual else (" LIMIT ? OFFSET ?", [op.limit, op.offset])
            )
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM tether_store_items AS i WHERE {where} "
                f"ORDER BY {self._ORDER}{page_sql}",
                [*params, *page_params],
            ).fetchall()
            if residual:
                rows = [r for r in rows if matches_filter(json.loads(r[2]), residual)]
                rows = rows[op.offset : op.offset + op.limit]
            page = [(None, row) for row in rows]
        if op.refresh_ttl:
            self._refresh(conn, [(row[0], row[1]) for _, row in page], now)
        return [_item(row, SearchItem, score=score) for score, row in page]

    def _ranked_page(
        self,
        conn: sqlite3.Connection,
        op: SearchOp,
        query: Vector,
        where: str,
        params: list[Any],
        residual: dict[str, Any],
    ) -> list[tuple[float | None, tuple]]:
        """Rank every candidate by its vectors; read whole rows for the page only."""
        candidates: dict[tuple[str, str], list[bytes]] = {}  # in store order
        rejected: set[tuple[str, str]] = set()
        for prefix, key, blob, value in conn.execute(
            f"SELECT i.prefix, i.key, v.vector, {'i.value' if residual else 'NULL'} "
            "FROM tether_store_items AS i LEFT JOIN tether_store_vectors AS v "
            f"ON v.prefix = i.prefix AND v.key = i.key WHERE {where} "
            f"ORDER BY {self._ORDER}",
            params,
        ):
            address = (prefix, key)
            fresh = address not in candidates and address not in rejected
            if fresh and residual and not matches_filter(json.loads(value), residual):
                rejected.add(address)
            if address in rejected:
                continue
            blobs = candidates.setdefault(address, [])
            if blob is not None:
                blobs.append(blob)
        ranked = rank(query, list(candidates.items()))[op.offset : op.offset + op.limit]
        select = f"SELECT {_COLUMNS} FROM tether_store_items WHERE prefix = ? AND key = ?"
        return [(score, conn.execute(select, address).fetchone()) for score, address in ranked]

    def _list_namespaces(
        self, conn: sqlite3.Connection, op: ListNamespacesOp, now: datetime
    ) -> list[tuple[str, ...]]:
        rows = conn.execute(
            f"SELECT DISTINCT prefix FROM tether_store_items WHERE {_ALIVE}", (now.timestamp(),)
        ).fetchall()
        conditions = op.match_conditions or ()
        found = {
            namespace if op.max_depth is None else namespace[: op.max_depth]
            for namespace in (tuple(row[0].split(".")) for row in rows)
            if all(namespace_matches(namespace, c.path, c.match_type) for c in conditions)
        }
        return sorted(found)[op.offset : op.offset + op.limit]

    def sweep_ttl(self) -> int:
        """Delete expired items (and their vectors); return how many items were deleted."""
        with self._transaction(write=True) as conn:
            moment = self._now().timestamp()
            conn.execute(
                "DELETE FROM tether_store_vectors WHERE (prefix, key) IN (SELECT prefix, key "
                "FROM tether_store_items WHERE expires_at IS NOT NULL AND expires_at <= ?)",
                (moment,),
            )
            cursor = conn.execute(
                "DELETE FROM tether_store_items WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (moment,),
            )
            return cursor.rowcount


def _item(row: tuple, cls: type[Any], **extra: Any) -> Any:
    prefix, key, value, created_at, updated_at = row
    return cls(
        namespace=tuple(prefix.split(".")),
        key=key,
        value=json.loads(value),
        created_at=datetime.fromisoformat(created_at),
        updated_at=datetime.fromisoformat(updated_at),
        **extra,
    )
