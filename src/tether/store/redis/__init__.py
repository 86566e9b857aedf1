"""The Redis store: ``from tether.store.redis import RedisStore`` (needs ``tether[redis]``).

``tether.store.redis.aio.AsyncRedisStore`` is the same store under LangGraph's async name.
"""

from tether.store.redis.store import RedisStore

__all__ = ["RedisStore"]
