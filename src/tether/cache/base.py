"""The cache contract: values under (namespace, key), each with an optional lifetime.

A graph compiled with ``cache=`` looks a node up before running it when the node has a
``CachePolicy``; a hit replays the stored writes instead of calling the node. Values go through
the cache's serializer (tether's msgpack serializer by default: never pickle), so a cached
value is a copy and the same classes are allowed as in checkpoints.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

from tether.checkpoint.serde import MsgpackSerializer, SerializerProtocol

ValueT = TypeVar("ValueT")

Namespace = tuple[str, ...]
"""Groups keys; ``clear(namespaces)`` drops whole groups (a node's entries, say)."""
FullKey = tuple[Namespace, str]


class BaseCache(ABC, Generic[ValueT]):
    """Get, set and clear cached values; async twins default to the sync methods."""

    serde: SerializerProtocol

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        self.serde = serde or MsgpackSerializer()

    @abstractmethod
    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The values stored under ``keys`` that exist and have not expired."""

    @abstractmethod
    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Store each ``key: (value, ttl_seconds)``; a ttl of None never expires."""

    @abstractmethod
    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Drop every value in ``namespaces`` (all values when None)."""

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        return self.get(keys)

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        self.set(pairs)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.clear(namespaces)


__all__ = ["BaseCache", "FullKey", "Namespace", "ValueT"]
