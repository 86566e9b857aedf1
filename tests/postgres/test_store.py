"""PostgresStore on a real server: exact namespaces (no LIKE leaks), filters compiled to SQL
with numbers as numbers, atomic batches, TTL hidden before the sweep and gone after, setup
under concurrency, URLs, errors, PgBouncer, the async name. The store contract itself runs in
tests/contract (the ``postgres`` factory)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

import pg_service
import tether
from tether.errors import BackendUnavailable, ConfigurationError, SerializationError
from tether.store.base import PutOp
from tether.store.postgres.filters import compile_filter

pytestmark = pytest.mark.services

LABELS = ["a", "a%", "a_", "_", "%", "a\\", "ab", "ü 漢", "[ab]?", "*", "a/b"]


@pytest.fixture
def store() -> Iterator[Any]:
    with pg_service.fresh_store() as opened:
        yield opened


def _rows(table: str) -> int:
    with psycopg.connect(pg_service.database_url()) as conn:
        row = conn.execute(f"SELECT count(*) FROM {pg_service.STORE_SHARED}.{table}").fetchone()
        assert row is not None
        return int(row[0])


def test_labels_with_like_wildcards_match_exactly(store: Any) -> None:
    for i, label in enumerate(LABELS):
        store.put((label, "m"), "k", {"i": i})
    for i, label in enumerate(LABELS):
        assert store.get((label, "m"), "k").value == {"i": i}
        assert [item.namespace for item in store.search((label,))] == [(label, "m")]
    assert sorted(store.list_namespaces()) == sorted((label, "m") for label in LABELS)
    assert store.list_namespaces(prefix=("a",)) == [("a", "m")]


def test_filters_run_in_sql_and_compare_numbers_as_numbers(store: Any) -> None:
    filters = [
        {"n": {"$gt": 9}},
        {"p.age": {"$lte": 10, "$ne": 2}},
        {"s": {"$in": ["b", 10]}},
        {"flag": True},
        {"gone": None},
    ]
    assert all(compile_filter(f)[2] == {} for f in filters)  # nothing left to Python
    for n in (2, 9, 10, 100):
        value = {"n": n, "p": {"age": n}, "s": "b" if n == 9 else str(n), "flag": n > 9}
        store.put(("f",), str(n), {**value, "gone": None} if n == 2 else value)
    keys = [sorted(item.key for item in store.search(("f",), filter=f)) for f in filters]
    assert keys == [["10", "100"], ["10", "9"], ["9"], ["10", "100"], ["2"]]
    store.put(("f",), "dotted", {"p.age": 5, "p": {"age": 50}})
    found = store.search(("f",), filter={"p.age": 5})
    assert [item.key for item in found] == ["dotted"]  # the literal key wins over the path


def test_a_failing_batch_writes_nothing(store: Any) -> None:
    with pytest.raises(SerializationError, match="NaN"):
        store.batch([PutOp(("n",), "ok", {"x": 1}), PutOp(("n",), "bad", {"x": math.nan})])
    assert store.get(("n",), "ok") is None
    assert _rows("tether_store_items") == 0


def test_expired_items_are_hidden_before_the_sweep_and_deleted_by_it() -> None:
    embed = {"dims": 2, "embed": lambda texts: [[1.0, float(len(t))] for t in texts]}
    with pg_service.fresh_store(index=embed) as store:
        start = datetime(2030, 1, 1, tzinfo=timezone.utc)
        store._clock = lambda: start
        store.put(("t",), "short", {"text": "x"}, ttl=1)
        store.put(("t", "kept"), "long", {"text": "y"})
        store._clock = lambda: start + timedelta(minutes=2)
        assert store.get(("t",), "short") is None
        assert [item.key for item in store.search(("t",), query="x")] == ["long"]
        assert store.list_namespaces() == [("t", "kept")]
        assert store.sweep_ttl() == 1
        assert (_rows("tether_store_items"), _rows("tether_store_vectors")) == (1, 1)


def test_connect_store_opens_a_postgres_store() -> None:
    params = psycopg.conninfo.conninfo_to_dict(pg_service.database_url())
    where = f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{params['dbname']}"
    url = f"postgresql://{params.get('user', 'postgres')}@{where}"
    with tether.connect_store(url, namespace=pg_service.STORE_SHARED) as store:
        assert type(store).__name__ == "PostgresStore"
        store.put(("u",), "k", {"v": 1})
        assert store.get(("u",), "k").value == {"v": 1}
        store.delete(("u",), "k")


def test_unreachable_server_is_backend_unavailable_with_masked_password() -> None:
    from tether.store.postgres import PostgresStore

    store = PostgresStore.from_conn_string("postgresql://postgres:s3cret@127.0.0.1:1/nowhere")
    with store, pytest.raises(BackendUnavailable, match="cannot be reached") as caught:
        store.put(("u",), "k", {"v": 1})
    assert "s3cret" not in str(caught.value)


def test_index_dims_must_match_the_stored_vectors() -> None:
    from tether.store.postgres import PostgresStore

    embed = {"dims": 2, "embed": lambda texts: [[1.0, 0.0] for _ in texts]}
    with pg_service.fresh_store(index=embed) as first:
        first.put(("u",), "k", {"text": "hello"})
    wider = {"dims": 3, "embed": lambda texts: [[1.0, 0.0, 0.0] for _ in texts]}
    url, ns = pg_service.database_url(), pg_service.STORE_SHARED
    second = PostgresStore.from_conn_string(url, namespace=ns, index=wider)
    with second, pytest.raises(ConfigurationError, match="2 dimensions"):
        second.get(("u",), "k")


def test_concurrent_setup_of_a_new_schema_all_succeed() -> None:
    from tether.store.postgres import PostgresStore

    url, ns = pg_service.database_url(), pg_service.new_namespace()
    opener = lambda: PostgresStore.from_conn_string(url, namespace=ns)  # noqa: E731
    assert pg_service.setup_concurrently(opener) == []
    with PostgresStore.from_conn_string(url, namespace=ns) as opened:
        opened.put(("u",), "k", {"v": 1})
        assert [item.key for item in opened.search(("u",))] == ["k"]


def test_store_through_pgbouncer_in_transaction_mode() -> None:
    with pg_service.fresh_store(pg_service.pgbouncer_url()) as store:
        store.batch([PutOp(("u", str(i)), f"k{i}", {"n": i}) for i in range(20)])
        assert len(store.search(("u",), filter={"n": {"$gte": 10}}, limit=50)) == 10
        assert len(store.list_namespaces(prefix=("u",))) == 20


def test_async_postgres_store_under_langgraphs_async_name() -> None:
    from tether.store.postgres.aio import AsyncPostgresStore

    url, ns = pg_service.database_url(), pg_service.STORE_SHARED

    async def scenario() -> Any:
        async with AsyncPostgresStore.from_conn_string(url, namespace=ns) as store:
            await store.setup()
            await store.aput(("async",), "k", {"v": 1})
            found = (await store.aget(("async",), "k")).value
            namespaces = await store.alist_namespaces(prefix=("async",))
            await store.adelete(("async",), "k")
            return found, namespaces

    assert asyncio.run(scenario()) == ({"v": 1}, [("async",)])


def test_wrong_connection_objects_are_refused_naming_the_store() -> None:
    from tether.store.postgres import PostgresStore

    with pytest.raises(ConfigurationError, match=r"PostgresStore\.from_conn_string\(url\)"):
        PostgresStore(pg_service.database_url())
    with pytest.raises(ConfigurationError, match="PostgresStore.*got dict"):
        PostgresStore({})
    with pytest.raises(ConfigurationError, match="connection string, a psycopg_pool"):
        PostgresStore()
