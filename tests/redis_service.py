"""The Redis server the tests use: the shared one, with a db index and key prefix of our own.

``TETHER_REDIS_URL`` names it (default ``redis://127.0.0.1:6379/10``: db 10 is tether's test
db). Every saver gets a fresh key prefix (``tether-test:<session>:<n>:``) and deletes the keys
under it when closed, so tests never touch keys they did not write. An unreachable server
skips the test, or fails it under ``TETHER_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import Any

import pytest

import tether

URL = os.environ.get("TETHER_REDIS_URL", "redis://127.0.0.1:6379/10")
SESSION = uuid.uuid4().hex[:8]
_counter = itertools.count()
_reachable: dict[str, str | None] = {}


def require(url: str = URL) -> None:
    """Skip (or fail, under ``TETHER_REQUIRE_SERVICES=1``) when the server does not answer."""
    if url not in _reachable:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            client.ping()
            _reachable[url] = None
        except redis.exceptions.RedisError as exc:
            _reachable[url] = f"Redis at {url} is unreachable: {exc}"
        finally:
            client.close()
    reason = _reachable[url]
    if reason is not None:
        if os.environ.get("TETHER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (TETHER_REQUIRE_SERVICES=1)")
        pytest.skip(reason)


def new_prefix() -> str:
    return f"tether-test:{SESSION}:{next(_counter)}:"


def delete_prefix(client: Any, prefix: str) -> None:
    """Delete the keys under ``prefix`` (test cleanup only: SCAN is never on a saver's path)."""
    for node_keys in _scan(client, prefix + "*"):
        for key in node_keys:
            client.delete(key)


def _scan(client: Any, pattern: str) -> Any:
    yield list(client.scan_iter(match=pattern, count=500))


def fresh_saver(url: str = URL, **options: Any) -> Any:
    """A ``RedisSaver`` on an empty key prefix; closing it deletes its keys."""
    if getattr(tether, "__tether_shim__", False):
        pytest.skip("the LangGraph validation shim checks semantics on the memory saver only")
    require(url)
    from tether.checkpoint.redis import RedisSaver

    class CleaningRedisSaver(RedisSaver):
        def close(self) -> None:
            if self._owns_client:
                delete_prefix(self.client, self.prefix)
            super().close()

    return CleaningRedisSaver.from_conn_string(url, key_prefix=new_prefix(), **options)
