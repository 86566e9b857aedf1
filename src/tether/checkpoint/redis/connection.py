"""Opening a Redis client from a URL, and turning driver errors into tether errors.

``redis://`` and ``rediss://`` (TLS) open a ``redis.Redis``; ``redis+cluster://`` and
``rediss+cluster://`` open a ``redis.cluster.RedisCluster`` from one node's address. The
driver is imported here, lazily: without it the error says which extra to install.
"""

from __future__ import annotations

from typing import Any

from tether.errors import BackendUnavailable, ConfigurationError, StorageError
from tether.urls import mask_url

_INSTALL = 'the Redis backend needs the redis driver: pip install "tether[redis]"'
_SCHEMES = ("redis://", "rediss://", "redis+cluster://", "rediss+cluster://", "unix://")


def driver() -> Any:
    """The ``redis`` module, or a ``ConfigurationError`` saying how to install it."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - the test group installs it
        raise ConfigurationError(_INSTALL) from exc
    return redis


def open_client(url: str, **options: Any) -> tuple[Any, bool]:
    """``(client, is_cluster)`` for a ``redis://``, ``rediss://`` or ``redis+cluster://`` URL."""
    if not isinstance(url, str) or not url.startswith(_SCHEMES):
        raise ConfigurationError(
            f"not a Redis URL: {mask_url(str(url))!r}; use redis://host:6379/0, rediss://... (TLS) "
            f"or redis+cluster://host:7000 for Redis Cluster"
        )
    redis = driver()
    if "+cluster://" in url:
        plain = url.replace("+cluster://", "://", 1)
        return redis.cluster.RedisCluster.from_url(plain, **options), True
    return redis.Redis.from_url(url, **options), False


def describe(client: Any) -> str:
    """A masked URL-like name of the server a client talks to."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if kwargs:
        scheme = "rediss" if kwargs.get("ssl") else "redis"
        return (
            f"{scheme}://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        )
    nodes = getattr(client, "startup_nodes", None) or []
    first = nodes[0] if nodes else None
    return f"redis+cluster://{getattr(first, 'name', '?')}"


class mapped:  # lower case: used as a function, ``with mapped(url, action):``
    """Run a block of driver calls; connection failures become ``BackendUnavailable`` naming
    ``url`` (password masked) and ``action`` (``action % args`` when ``args`` are given: built
    only on failure), other server errors ``StorageError``."""

    __slots__ = ("action", "args", "url")

    def __init__(self, url: str, action: str, *args: object) -> None:
        self.url, self.action, self.args = url, action, args

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None or not isinstance(exc, Exception):
            return
        redis = driver()
        action = self.action % self.args if self.args else self.action
        if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            raise BackendUnavailable(
                f"Redis at {mask_url(self.url)} is unreachable while trying to {action}: {exc}. "
                f"What was stored before stays stored; once the server answers, run again (a "
                f"thread resumes from its last checkpoint)"
            ) from exc
        if isinstance(exc, redis.exceptions.RedisError):
            raise StorageError(f"Redis at {mask_url(self.url)} refused to {action}: {exc}") from exc
