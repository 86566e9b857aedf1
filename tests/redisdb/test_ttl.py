"""TTL on Redis: every key of a thread expires together; refreshed on write (and read if
asked); pinned threads never expire; an expired thread is gone whole, never half."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import redis_service
from tether.errors import ConfigurationError

from .helpers import put_step, thread_keys, ttls

pytestmark = pytest.mark.services

FIVE_MINUTES = 5 * 60_000


@pytest.fixture
def ttl_saver(request: pytest.FixtureRequest) -> Iterator[Any]:
    options = getattr(request, "param", {"default_ttl": 5})
    with redis_service.fresh_saver(ttl=options) as saver:
        yield saver


def _store_two_namespaces(saver: Any, thread_id: str) -> dict[str, Any]:
    root = put_step(saver, thread_id, {"log": ["a"], "n": 1})
    put_step(saver, thread_id, {"inner": "x"}, ns="child:1")
    saver.put_writes(root, [("log", ["b"])], "task-1")
    return root


def test_every_key_of_a_thread_gets_the_ttl_on_write(ttl_saver: Any) -> None:
    _store_two_namespaces(ttl_saver, "t1")
    found = ttls(ttl_saver, "t1")
    names = {key.rsplit(b":", 2)[-2] + b":" + key.rsplit(b":", 1)[-1] for key in found}
    assert {b"n:cp", b"n:blobs", b"n:writes", b"nchild%3A1:cp"} <= names, names
    assert all(0 < ttl <= FIVE_MINUTES for ttl in found.values()), found


def test_pinned_thread_has_no_expiry_until_unpinned(ttl_saver: Any) -> None:
    root = _store_two_namespaces(ttl_saver, "pinned")
    ttl_saver.pin_thread("pinned")
    assert set(ttls(ttl_saver, "pinned").values()) == {-1}
    put_step(ttl_saver, "pinned", {"log": ["a", "c"]}, parent=root)
    assert set(ttls(ttl_saver, "pinned").values()) == {-1}, "a write must not unpin"

    ttl_saver.unpin_thread("pinned")
    assert all(0 < ttl <= FIVE_MINUTES for ttl in ttls(ttl_saver, "pinned").values())


@pytest.mark.parametrize(
    ("ttl_saver", "refreshed"),
    [({"default_ttl": 5, "refresh_on_read": True}, True), ({"default_ttl": 5}, False)],
    indirect=["ttl_saver"],
)
def test_reads_refresh_the_ttl_only_when_asked(ttl_saver: Any, refreshed: bool) -> None:
    _store_two_namespaces(ttl_saver, "read")
    for key in thread_keys(ttl_saver, "read"):
        ttl_saver.client.pexpire(key, 10_000)

    assert ttl_saver.get_tuple({"configurable": {"thread_id": "read"}}) is not None

    after = ttls(ttl_saver, "read").values()
    if refreshed:
        assert all(ttl > 10_000 for ttl in after), after
    else:
        assert all(ttl <= 10_000 for ttl in after), after


@pytest.mark.parametrize("ttl_saver", [{"default_ttl": 0.005}], indirect=True)
def test_an_expired_thread_is_gone_whole_never_half(ttl_saver: Any) -> None:
    """0.005 minutes = 300 ms. Until it expires every read sees the whole checkpoint with
    its writes; after, nothing of the thread is left and listing skips it."""
    _store_two_namespaces(ttl_saver, "short")
    config = {"configurable": {"thread_id": "short"}}
    deadline = time.monotonic() + 20
    while (found := ttl_saver.get_tuple(config)) is not None:
        assert found.checkpoint["channel_values"] == {"log": ["a"], "n": 1}
        assert found.pending_writes == [("task-1", "log", ["b"])]
        assert time.monotonic() < deadline, "the thread never expired"
        time.sleep(0.02)
    assert thread_keys(ttl_saver, "short") == []
    assert list(ttl_saver.list(None)) == []
    assert ttl_saver.client.zcard(ttl_saver.prefix + "threads") == 0


@pytest.mark.parametrize(
    "bad",
    [{"default_ttl": 0}, {"default_ttl": "5"}, {"ttl": 5}, {"refresh_on_read": "yes"}, 5],
)
def test_bad_ttl_options_are_refused(bad: Any) -> None:
    redis_service.require()
    from tether.checkpoint.redis import RedisSaver

    with pytest.raises(ConfigurationError, match="ttl"):
        RedisSaver.from_conn_string(redis_service.URL, ttl=bad)
