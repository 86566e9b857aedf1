"""``AsyncRedisStore``: the Redis store under an async name, as ``AsyncSqliteStore``.

It is ``RedisStore`` itself: the async methods run the Redis calls in a worker thread, so
``async with AsyncRedisStore.from_conn_string(url) as store:`` works, and so do the sync ones.
"""

from __future__ import annotations

from tether.store.redis.store import RedisStore

__all__ = ["AsyncRedisStore"]


class AsyncRedisStore(RedisStore):
    """``RedisStore`` for code written ``async with AsyncRedisStore.from_conn_string(url)``."""
