"""``AsyncRedisSaver``: the Redis saver under LangGraph's async name.

It is ``RedisSaver`` itself (async methods run the Redis calls in worker threads; sync ones
work too), so ``async with AsyncRedisSaver.from_conn_string(url)`` and
``with RedisSaver.from_conn_string(url)`` give the same saver.
"""

from __future__ import annotations

from tether.checkpoint.redis.saver import RedisSaver


class AsyncRedisSaver(RedisSaver):
    """``RedisSaver`` for code written ``async with AsyncRedisSaver.from_conn_string(url)``."""


__all__ = ["AsyncRedisSaver"]
