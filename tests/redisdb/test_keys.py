"""Key layout on Redis: one hash tag (one cluster slot) per thread, ids escaped, bad input
refused with a tether error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis.crc import key_slot

import redis_service
from tether.checkpoint.redis.keys import ThreadKeys, escape
from tether.errors import BackendUnavailable, ConfigurationError

from .helpers import put_step, thread_keys

pytestmark = pytest.mark.services

AWKWARD = ["a", "a:*", "{a}", "a}b{", "", "x\x00y\nz", "ü 漢", "[ab]?", "a%3A%2A", "{ta}"]


@pytest.fixture
def saver() -> Iterator[Any]:
    with redis_service.fresh_saver() as made:
        yield made


def test_awkward_thread_ids_stay_apart_each_in_one_slot(saver: Any) -> None:
    for i, thread_id in enumerate(AWKWARD):
        stored = put_step(saver, thread_id, {"v": i, "log": [thread_id]}, ns="sub:{x}*")
        saver.put_writes(stored, [("log", [f"w{i}"])], f"task\x00{i}\n")
    for i, thread_id in enumerate(AWKWARD):
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": "sub:{x}*"}}
        found = saver.get_tuple(config)
        assert found is not None, thread_id
        assert found.checkpoint["channel_values"] == {"v": i, "log": [thread_id]}
        assert found.pending_writes == [(f"task\x00{i}\n", "log", [f"w{i}"])]
        keys = thread_keys(saver, thread_id)
        assert {key_slot(k) for k in keys} == {
            key_slot(ThreadKeys(saver.prefix, thread_id).thread.encode())
        }
        assert len(keys) >= 8, keys
    listed = {t.config["configurable"]["thread_id"] for t in saver.list(None)}
    assert listed == set(AWKWARD)


def test_escaped_ids_hold_no_key_syntax() -> None:
    for thread_id in AWKWARD:
        assert not set(escape(thread_id)) & set("{}:*?[] \x00\n")


def test_prefix_with_braces_is_refused() -> None:
    redis_service.require()
    from tether.checkpoint.redis import RedisSaver

    with pytest.raises(ConfigurationError, match="key_prefix"):
        RedisSaver.from_conn_string(redis_service.URL, key_prefix="app{1}:")


@pytest.mark.parametrize("url", ["postgres://x", "http://localhost:6379", "", None])
def test_a_url_that_is_not_redis_is_refused(url: Any) -> None:
    from tether.checkpoint.redis import RedisSaver

    with pytest.raises(ConfigurationError, match="URL"):
        RedisSaver.from_conn_string(url)


def test_unreachable_server_names_the_url_with_the_password_masked() -> None:
    from tether.checkpoint.redis import RedisSaver

    url = "redis://user:s3cret@127.0.0.1:1/0"
    with (
        RedisSaver.from_conn_string(url, socket_connect_timeout=1) as saver,
        pytest.raises(BackendUnavailable) as caught,
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
    message = str(caught.value)
    assert "redis://user:***@127.0.0.1:1/0" in message
    assert "s3cret" not in message


def test_saver_from_a_client_is_not_closed_by_it() -> None:
    redis_service.require()
    import redis

    from tether.checkpoint.redis import RedisSaver

    client = redis.Redis.from_url(redis_service.URL)
    prefix = redis_service.new_prefix()
    try:
        with RedisSaver(client, key_prefix=prefix) as saver:
            saver.setup()
            saver.setup()  # idempotent
            put_step(saver, "t", {"v": 1})
        assert client.ping()
        host_and_db = redis_service.URL.split("@")[-1].split("//")[-1]
        assert host_and_db in saver.url  # the client's own host and db, named in errors
    finally:
        redis_service.delete_prefix(client, prefix)
        client.close()


def test_a_tls_url_opens_a_tls_client_and_masks_its_password() -> None:
    import redis

    from tether.checkpoint.redis import RedisSaver

    with RedisSaver.from_conn_string("rediss://:pw@127.0.0.1:1/3") as saver:
        assert saver.url == "rediss://:***@127.0.0.1:1/3"
        assert saver.client.connection_pool.connection_class is redis.SSLConnection
