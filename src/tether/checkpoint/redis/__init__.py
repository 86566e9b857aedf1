"""Redis / Valkey persistence: ``RedisSaver`` (sync and async methods) on core commands only.

Needs the ``redis`` driver: ``pip install "tether[redis]"``.
"""

from tether.checkpoint.redis.aio import AsyncRedisSaver
from tether.checkpoint.redis.saver import RedisSaver

__all__ = ["AsyncRedisSaver", "RedisSaver"]
