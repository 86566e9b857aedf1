"""Caches of node and task results (LangGraph's ``langgraph.cache``): ``base.BaseCache``, the
contract, and ``memory.InMemoryCache``."""

from tether.cache.base import BaseCache, FullKey, Namespace

__all__ = ["BaseCache", "FullKey", "Namespace"]
