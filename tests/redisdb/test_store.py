"""RedisStore on a real Redis: key layout (one slot, escaped labels), atomic batches, TTL
sweeps leaving no keys behind, URLs, errors, and Redis Cluster. The store contract itself runs
in tests/contract (the ``redis`` factory)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from redis.crc import key_slot

import redis_service
import tether
from tether.errors import BackendUnavailable, ConfigurationError, SerializationError
from tether.store.base import PutOp

pytestmark = pytest.mark.services

LABELS = ["a", "a:*", "{a}", "a}b{", "x\x00y\nz", "ü 漢", "[ab]?", "a%3A", "*", "a/b"]


def _open(url: str = redis_service.URL, **options: Any) -> Iterator[Any]:
    redis_service.require(url)
    from tether.store.redis import RedisStore

    prefix = redis_service.new_prefix()
    store = RedisStore.from_conn_string(url, key_prefix=prefix, **options)
    try:
        yield store
    finally:
        redis_service.delete_prefix(store.client, "{" + prefix + "}")
        store.close()


@pytest.fixture
def store() -> Iterator[Any]:
    yield from _open()


def _keys(store: Any) -> list[bytes]:
    pattern = store.base.replace("[", "\\[").replace("?", "\\?").replace("*", "\\*") + "*"
    return sorted(store.client.scan_iter(match=pattern, count=500))


def test_awkward_labels_and_keys_match_exactly_in_one_slot(store: Any) -> None:
    for i, label in enumerate(LABELS):
        store.put((label, "m"), label, {"i": i})
    for i, label in enumerate(LABELS):
        assert store.get((label, "m"), label).value == {"i": i}
        found = store.search((label,))
        assert [(item.namespace, item.key) for item in found] == [((label, "m"), label)]
    assert sorted(store.list_namespaces()) == sorted((label, "m") for label in LABELS)
    assert store.list_namespaces(prefix=("a",)) == [("a", "m")]
    assert len({key_slot(key) for key in _keys(store)}) == 1


def test_a_failing_batch_writes_nothing(store: Any) -> None:
    with pytest.raises(SerializationError, match="NaN"):
        store.batch([PutOp(("n",), "ok", {"x": 1}), PutOp(("n",), "bad", {"x": math.nan})])
    assert store.get(("n",), "ok") is None
    assert _keys(store) == []


def test_expired_items_are_hidden_before_the_sweep_and_leave_no_keys_after(store: Any) -> None:
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    store._clock = lambda: start
    store.put(("t",), "short", {"x": 1}, ttl=1)
    store.put(("t", "kept"), "long", {"x": 2})
    store._clock = lambda: start + timedelta(minutes=2)
    assert store.get(("t",), "short") is None
    assert [item.key for item in store.search(("t",))] == ["long"]
    assert store.list_namespaces() == [("t", "kept")]
    assert store.sweep_ttl() == 1
    store.delete(("t", "kept"), "long")
    assert _keys(store) == []


def test_refresh_on_read_moves_the_expiry(store: Any) -> None:
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    store._clock = lambda: start
    store.put(("t",), "k", {"x": 1}, ttl=2)
    store._clock = lambda: start + timedelta(minutes=1.5)
    assert store.search(("t",), refresh_ttl=True)[0].key == "k"
    store._clock = lambda: start + timedelta(minutes=3)
    assert store.get(("t",), "k", refresh_ttl=False) is not None
    assert store.sweep_ttl() == 0
    store._clock = lambda: start + timedelta(minutes=4)
    assert store.sweep_ttl() == 1


def test_connect_store_opens_a_redis_store() -> None:
    redis_service.require()
    prefix = redis_service.new_prefix()
    with tether.connect_store(redis_service.URL, key_prefix=prefix) as store:
        try:
            assert type(store).__name__ == "RedisStore"
            store.put(("u",), "k", {"v": 1})
            assert store.get(("u",), "k").value == {"v": 1}
        finally:
            redis_service.delete_prefix(store.client, "{" + prefix + "}")


def test_unreachable_server_is_backend_unavailable_with_masked_password() -> None:
    from tether.store.redis import RedisStore

    url = f"redis://:hunter2@127.0.0.1:{redis_service.free_port()}/0"
    store = RedisStore.from_conn_string(url, socket_connect_timeout=1)
    with store, pytest.raises(BackendUnavailable) as caught:
        store.put(("u",), "k", {"v": 1})
    assert "hunter2" not in str(caught.value) and "unreachable" in str(caught.value)


def test_index_dims_must_match_the_stored_vectors() -> None:
    redis_service.require()
    from tether.store.redis import RedisStore

    prefix = redis_service.new_prefix()
    embed = {"dims": 2, "embed": lambda texts: [[1.0, 0.0] for _ in texts]}
    with RedisStore.from_conn_string(redis_service.URL, key_prefix=prefix, index=embed) as first:
        first.put(("u",), "k", {"text": "hello"})
        wider = {"dims": 3, "embed": lambda texts: [[1.0, 0.0, 0.0] for _ in texts]}
        try:
            second = RedisStore.from_conn_string(redis_service.URL, key_prefix=prefix, index=wider)
            with second, pytest.raises(ConfigurationError, match="2 dims"):
                second.get(("u",), "k")
        finally:
            redis_service.delete_prefix(first.client, "{" + prefix + "}")


def test_bad_key_prefix_is_refused() -> None:
    from tether.store.redis import RedisStore

    with pytest.raises(ConfigurationError, match="key_prefix"):
        RedisStore.from_conn_string(redis_service.URL, key_prefix="a{b}")


def test_a_client_decoding_responses_is_refused() -> None:
    import redis

    from tether.store.redis import RedisStore

    client = redis.Redis.from_url(redis_service.URL, decode_responses=True)
    try:
        with pytest.raises(ConfigurationError, match="decode_responses=False"):
            RedisStore(client)
    finally:
        client.close()


def test_store_on_redis_cluster() -> None:
    for store in _open(redis_service.cluster_url()):
        assert store.client.__class__.__name__ == "RedisCluster"
        store.batch([PutOp(("u", str(i)), f"k{i}", {"n": i}) for i in range(20)])
        assert len(store.search(("u",), filter={"n": {"$gte": 10}}, limit=50)) == 10
        assert len(store.list_namespaces(prefix=("u",))) == 20
        store.delete(("u", "3"), "k3")
        assert store.get(("u", "3"), "k3") is None


def test_async_redis_store_under_langgraphs_async_name() -> None:
    redis_service.require()
    from tether.store.redis.aio import AsyncRedisStore

    prefix = redis_service.new_prefix()

    async def scenario() -> Any:
        async with AsyncRedisStore.from_conn_string(redis_service.URL, key_prefix=prefix) as st:
            try:
                await st.aput(("u",), "k", {"v": 1})
                return (await st.aget(("u",), "k")).value, await st.alist_namespaces()
            finally:
                redis_service.delete_prefix(st.client, "{" + prefix + "}")

    assert asyncio.run(scenario()) == ({"v": 1}, [("u",)])
