"""``PostgresStore``: the store contract in PostgreSQL, shared by many processes.

The logic is the SQLite store's (``tether.store.sqlite.store``: one transaction per batch,
newest ``updated_at`` first, namespaces matched by whole labels with ``substr``, never
``LIKE``, TTL judged at read time so expired items never come back, semantic search as an
exact scan ranked by ``tether.store.vectors.rank``); this class supplies PostgreSQL's
connections (the checkpoint backend's ``Connections``: a health-checked pool, no prepared
statements unless asked, so PgBouncer in transaction mode works; driver errors mapped with the
password masked), its tables (``schema``) and its filters (``filters``: JSONB paths and values
as bound parameters). pgvector is not used: vectors are float64 bytes ranked in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from typing_extensions import Self

from tether.checkpoint.postgres import schema as saver_schema
from tether.checkpoint.postgres.connection import Connections, PgConn
from tether.checkpoint.postgres.saver import _split_connection
from tether.errors import ConfigurationError
from tether.store.base import GetOp, IndexConfig, Item, Op, PutOp, Result
from tether.store.core import Embedded, StoreCore, dumps_value
from tether.store.postgres import schema
from tether.store.postgres.filters import compile_filter
from tether.store.sqlite import schema as sqlite_schema
from tether.store.sqlite.store import _ALIVE, _COLUMNS, _UPSERT, SqliteStore, _item, _ts
from tether.store.ttl import TTLConfig
from tether.store.vectors import pack

__all__ = ["PostgresStore"]

_DROP_VECTORS = "WITH dropped AS (DELETE FROM tether_store_vectors WHERE prefix = ? AND key = ?) "
_DELETE_ITEM = "DELETE FROM tether_store_items WHERE prefix = ? AND key = ?"


class PostgresStore(SqliteStore):
    """A store in a PostgreSQL database: sync and async methods (async ones run the work in
    a worker thread; a transaction never spans an ``await``).

    ``PostgresStore.from_conn_string(url)`` opens its own pool (also a context manager that
    closes it); ``PostgresStore(conn)`` wraps a ``psycopg_pool.ConnectionPool`` or a
    ``psycopg.Connection``. ``namespace=`` names the PostgreSQL schema holding the tables
    (default ``public``). Tables are created on first use; ``setup()`` does it now, under an
    advisory lock, so any number of processes may call it. ``index``: an ``IndexConfig``;
    ``ttl``: a ``TTLConfig``.
    """

    _UPSERT_SQL = _UPSERT.format(value="?::jsonb", items="tether_store_items")
    _VECTOR_SQL = (
        "INSERT INTO tether_store_vectors VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (prefix, key, field, idx) DO UPDATE SET vector = EXCLUDED.vector"
    )
    _ORDER = "i.updated_at DESC, i.key DESC"
    _GET_SQL = (
        f"WITH hit AS (SELECT {_COLUMNS} FROM tether_store_items "
        f"WHERE prefix = ? AND key = ? AND {_ALIVE}), touched AS (UPDATE tether_store_items "
        "SET expires_at = ? + ttl_minutes * 60 WHERE ? AND prefix = ? AND key = ? AND "
        f"ttl_minutes IS NOT NULL AND {_ALIVE} RETURNING 1) SELECT * FROM hit"
    )
    """A get and its TTL refresh in one statement (SQLite's runs two)."""
    _compile_filter = staticmethod(compile_filter)

    def __init__(
        self,
        conn: Any = None,
        *,
        conn_string: str | None = None,
        namespace: str | None = None,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        prepare: bool = False,
        max_size: int = 10,
    ) -> None:
        self._configure(index, ttl)
        name = type(self).__name__
        pool, single = _split_connection(conn, name)
        if pool is None and single is None and conn_string is None:
            raise ConfigurationError(
                f"{name} needs a connection string, a psycopg_pool.ConnectionPool or a "
                f"psycopg.Connection: {name}.from_conn_string('postgresql://...')"
            )
        self.namespace = saver_schema.check_name(namespace or "public")
        self._pg = Connections(
            conn_string,
            self.namespace,
            pool=pool,
            conn=single,
            prepare=prepare,
            max_size=max_size,
            ensure=self._ensure,
        )
        self._where = f"{self._pg.where} schema {self.namespace!r}"
        self.is_setup = False

    @classmethod
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        **options: Any,
    ) -> Self:
        """A store on the database at ``conn_string`` (``postgresql://user:pw@host/db``).

        Use it as ``with PostgresStore.from_conn_string(url) as store:`` (closed on exit), or
        keep it and ``close()`` it. Options: ``namespace`` (the schema), ``prepare``
        (server-side prepared statements, off by default), ``max_size`` (pool size).
        """
        return cls(conn_string=conn_string, index=index, ttl=ttl, **options)

    def _ensure(self, conn: PgConn, where: str) -> None:
        schema.ensure(conn, where)
        if self.embedder is not None:
            sqlite_schema.check_dims(cast(Any, conn), self.embedder.dims, self._where)

    def setup(self) -> None:
        """Create the store's tables if they do not exist (idempotent; safe from many
        processes at once)."""
        self._pg.setup()
        self.is_setup = True

    def close(self) -> None:
        """Stop the sweeper and close the pool if the store opened it."""
        StoreCore.close(self)
        self._pg.close()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Any]:
        with self._pg.write("run a store batch") if write else self._pg.read() as conn:
            yield conn

    def _get(self, conn: Any, op: GetOp, now: datetime) -> Item | None:
        prefix, moment = ".".join(op.namespace), now.timestamp()
        where = (prefix, op.key, moment)
        row = conn.execute(self._GET_SQL, (*where, moment, op.refresh_ttl, *where)).fetchone()
        return None if row is None else cast(Item, _item(row, Item))

    def _refresh(self, conn: Any, keys: list[tuple[str, str]], now: datetime) -> None:
        """Refresh the TTL of the items ``keys`` names in one statement."""
        if keys:
            conn.execute(
                "UPDATE tether_store_items SET expires_at = ? + ttl_minutes * 60 "
                "WHERE (prefix, key) IN (SELECT * FROM unnest(?::text[], ?::text[])) "
                "AND ttl_minutes IS NOT NULL",
                (now.timestamp(), [k[0] for k in keys], [k[1] for k in keys]),
            )

    def _write(self, conn: Any, op: PutOp, documents: list[Any], now: datetime) -> None:
        """SQLite's write, its vector delete folded into the item's statement (one round
        trip for a put without vectors)."""
        address = (".".join(op.namespace), op.key)
        if op.value is None:
            conn.execute(_DROP_VECTORS + _DELETE_ITEM, (*address, *address))
            return
        moment = now.timestamp()
        expires = None if op.ttl is None else moment + op.ttl * 60
        stamp = _ts(now)
        row = (*address, dumps_value(op), stamp, stamp, op.ttl, expires, moment)
        conn.execute(_DROP_VECTORS + self._UPSERT_SQL, (*address, *row))
        conn.executemany(
            self._VECTOR_SQL,
            [(*address, path, n, pack(vec)) for n, (path, _, vec) in enumerate(documents)],
        )

    def _alone(self, op: Op, embedded: Embedded) -> Result:
        """A batch of one statement (a get, a put without vectors, a delete): its own
        transaction, without BEGIN and COMMIT round trips."""

        def work() -> Result:
            with self._pg.query("run a store batch") as conn:
                result = self._apply_one(cast(Any, conn), 0, op, embedded)
                if not conn.raw.autocommit:  # a caller's pool without autocommit
                    conn.raw.commit()
                return result

        return self._pg.retry_read(work)

    def _apply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        if len(ops) == 1 and (
            isinstance(ops[0], GetOp)
            or (isinstance(ops[0], PutOp) and not embedded.documents.get(0))
        ):
            return [self._alone(ops[0], embedded)]
        write = any(isinstance(op, PutOp) or getattr(op, "refresh_ttl", False) for op in ops)
        return cast(
            "list[Result]",
            self._pg.run(
                lambda conn: [
                    self._apply_one(cast(Any, conn), i, op, embedded) for i, op in enumerate(ops)
                ],
                "run a store batch",
                write=write,
            ),
        )
