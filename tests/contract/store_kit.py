"""Store factories for the store contract tests: one entry per backend.

An entry takes the pytest ``request`` and keyword options (``index=``, ``ttl=``) and returns
a context manager yielding a fresh, empty store that is closed on exit.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

import pg_service
import redis_service
import tether
from tether.store.base import BaseStore
from tether.store.memory import InMemoryStore
from tether.store.sqlite import SqliteStore


@contextmanager
def _memory_store(**options: Any) -> Iterator[BaseStore]:
    yield InMemoryStore(**options)


@contextmanager
def _sqlite(path: str, **options: Any) -> Iterator[BaseStore]:
    with SqliteStore.from_conn_string(path, **options) as store:
        yield store


def _sqlite_file(request: pytest.FixtureRequest, **options: Any) -> AbstractContextManager:
    folder = request.getfixturevalue("tmp_path_factory").mktemp("store")
    return _sqlite(str(folder / "store.db"), **options)


@contextmanager
def _redis(request: pytest.FixtureRequest, **options: Any) -> Iterator[BaseStore]:
    """A RedisStore on the test db with a fresh key prefix; its keys are deleted after."""
    if getattr(tether, "__tether_shim__", False):
        pytest.skip("the LangGraph validation shim has no tether RedisStore")
    redis_service.require()
    from tether.store.redis import RedisStore

    prefix = redis_service.new_prefix()
    store = RedisStore.from_conn_string(redis_service.URL, key_prefix=prefix, **options)
    try:
        yield store
    finally:
        redis_service.delete_prefix(store.client, "{" + prefix + "}")
        store.close()


@contextmanager
def _postgres(request: pytest.FixtureRequest, **options: Any) -> Iterator[BaseStore]:
    """A PostgresStore in the session's database: a shared schema, emptied first."""
    if getattr(tether, "__tether_shim__", False):
        pytest.skip("the LangGraph validation shim has no tether PostgresStore")
    with pg_service.fresh_store(**options) as store:
        yield store


StoreFactory = Callable[..., AbstractContextManager[BaseStore]]
STORE_FACTORIES: dict[str, StoreFactory] = {
    "memory": lambda request, **options: _memory_store(**options),
    "sqlite-memory": lambda request, **options: _sqlite(":memory:", **options),
    "sqlite-file": _sqlite_file,
    "redis": _redis,
    "postgres": _postgres,
}


MODES = ("sync", "async")


class Driver:
    """A store called through its sync methods, or (``mode="async"``) through their async
    twins run to completion with ``asyncio.run``. Other attributes pass through; ``.store``
    is the store itself."""

    def __init__(self, store: BaseStore, mode: str) -> None:
        self.store, self.mode = store, mode

    def __getattr__(self, name: str) -> Any:
        twin = getattr(self.store, "a" + name, None)
        if self.mode == "async" and twin is not None and inspect.iscoroutinefunction(twin):
            return lambda *args, **kwargs: asyncio.run(twin(*args, **kwargs))
        return getattr(self.store, name)


def driven(request: pytest.FixtureRequest, **options: Any) -> Iterator[Driver]:
    """For a fixture parametrized with ``(backend name, mode)``: a fresh store, driven."""
    name, mode = request.param
    with STORE_FACTORIES[name](request, **options) as store:
        yield Driver(store, mode)


PARAMS = {
    "params": [(name, mode) for name in STORE_FACTORIES for mode in MODES],
    "ids": lambda param: f"{param[0]}-{param[1]}",
}
