"""The table of checkpointer configurations the benchmark runs each workload under.

A configuration is a backend (none / memory / sqlite) plus a durability (the library's default,
or ``"sync"``). Adding a backend is one entry in ``BACKENDS``: how to open a saver for an ``Api``,
how to measure its storage size, and when it is available. SQLite is available when both sides'
``Api`` has a ``SqliteSaver`` (for tether: when ``tether.checkpoint.sqlite`` imports).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from workloads import Api

import postgres


@dataclass
class OpenSaver:
    """A saver opened for one side of one configuration, and how to size its storage."""

    saver: Any | None
    size: Callable[[], int] | None = None


Opener = Callable[[Api, Path], AbstractContextManager[OpenSaver]]


@dataclass(frozen=True)
class Backend:
    name: str
    size_label: str | None
    opener: Opener
    unavailable: Callable[[Api], str | None]


@dataclass(frozen=True)
class Config:
    """One row of the configuration table: a backend run with a durability."""

    backend: Backend
    durability: str | None  # None: the library's default

    @property
    def name(self) -> str:
        if self.backend.name == "none":
            return "no checkpointer"
        return f"{self.backend.name}, durability={self.durability or 'default'}"

    def invoke_kwargs(self) -> dict[str, Any]:
        return {} if self.durability is None else {"durability": self.durability}


def reachable_bytes(root: Any) -> int:
    """Total length of the distinct ``bytes`` objects reachable from ``root``.

    Walks dicts, lists, tuples, sets, dataclasses and plain objects' attributes, each object once
    (cycle safe, shared bytes counted once); strings count as UTF-8. Classes, functions, modules
    are not entered. Used as an in-memory saver's "storage size".
    """
    seen: set[int] = set()
    stack: list[Any] = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, ModuleType)) or callable(obj):
            continue
        seen.add(id(obj))
        if isinstance(obj, (bytes, bytearray, memoryview)):
            total += len(obj)
        elif isinstance(obj, str):
            total += len(obj.encode())
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        else:
            stack.extend(getattr(obj, n) for n in _attribute_names(obj))
    return total


def _attribute_names(obj: Any) -> list[str]:
    """Names in the instance ``__dict__`` and ``__slots__`` that are set on ``obj``."""
    names: list[str] = list(getattr(obj, "__dict__", {}))
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return [n for n in names if n not in ("__dict__", "__weakref__") and hasattr(obj, n)]


_NOT_STORAGE = frozenset({"serde", "_serde", "codec", "_codec", "lock", "_lock"})


def _memory_size(saver: Any) -> int:
    """Bytes held by an in-memory saver's own containers (its serializer is not walked)."""
    own = [getattr(saver, n) for n in _attribute_names(saver) if n not in _NOT_STORAGE]
    return reachable_bytes(own)


def sqlite_size(path: Path) -> int:
    """Logical database size (page_count * page_size) seen by a fresh connection, WAL included."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    return int(pages) * int(page_size)


@contextmanager
def _open_none(api: Api, workdir: Path) -> Iterator[OpenSaver]:
    yield OpenSaver(None)


@contextmanager
def _open_memory(api: Api, workdir: Path) -> Iterator[OpenSaver]:
    saver = api.InMemorySaver()
    yield OpenSaver(saver, lambda: _memory_size(saver))


_file_numbers = itertools.count(1)


@contextmanager
def _open_sqlite(api: Api, workdir: Path, *, synchronous: str = "NORMAL") -> Iterator[OpenSaver]:
    """Both libraries' savers in WAL mode at the same ``synchronous`` setting: tether through
    its option, LangGraph's (SQLite's default there is FULL) by a pragma on its connection."""
    path = workdir / f"{api.library}-{next(_file_numbers)}.sqlite"
    assert api.SqliteSaver is not None
    extra = {"synchronous": synchronous} if api.library == "tether" else {}
    with api.SqliteSaver.from_conn_string(str(path), **extra) as saver:
        if hasattr(saver, "setup"):
            saver.setup()
        if api.library != "tether":
            saver.conn.execute(f"PRAGMA synchronous = {synchronous}")
        yield OpenSaver(saver, lambda: sqlite_size(path))


REDIS_URL = os.environ.get("TETHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
"""The bench's Redis: db 11 of the local server; each saver writes under a key prefix of its
own and deletes its keys when done."""


def redis_bytes(client: Any, prefix: str) -> int:
    """``MEMORY USAGE`` summed over the keys under ``prefix`` (bench only: uses SCAN)."""
    return sum(
        int(client.memory_usage(key, samples=0) or 0)
        for key in client.scan_iter(match=prefix + "*", count=1000)
    )


@contextmanager
def _open_redis(api: Api, workdir: Path) -> Iterator[OpenSaver]:
    """tether's RedisSaver on plain Redis; LangGraph's, whose ``setup()`` needs the RediSearch
    and RedisJSON modules (a plain Redis answers ``unknown command 'FT...'``)."""
    assert api.RedisSaver is not None
    if api.library != "tether":
        with api.RedisSaver.from_conn_string(REDIS_URL) as saver:
            saver.setup()
            yield OpenSaver(saver)
        return
    prefix = f"tether-bench:{uuid.uuid4().hex[:8]}:"
    with api.RedisSaver.from_conn_string(REDIS_URL, key_prefix=prefix) as saver:
        saver.setup()
        try:
            yield OpenSaver(saver, lambda: redis_bytes(saver.client, prefix))
        finally:
            for key in saver.client.scan_iter(match=prefix + "*", count=1000):
                saver.client.delete(key)


def _redis_unavailable(api: Api) -> str | None:
    if api.RedisSaver is None:
        return api.redis_unavailable or f"{api.label} has no RedisSaver"
    return None


def _always(api: Api) -> str | None:
    return None


def _sqlite_unavailable(api: Api) -> str | None:
    if api.SqliteSaver is None:
        return api.sqlite_unavailable or f"{api.label} has no SqliteSaver"
    return None


BACKENDS: dict[str, Backend] = {
    "none": Backend("none", None, _open_none, _always),
    "memory": Backend("memory", "serialized bytes held", _open_memory, _always),
    "sqlite": Backend("sqlite", "database bytes", _open_sqlite, _sqlite_unavailable),
    "sqlite-fsync": Backend(
        "sqlite-fsync",
        "database bytes",
        lambda api, workdir: _open_sqlite(api, workdir, synchronous="FULL"),
        _sqlite_unavailable,
    ),
    "redis": Backend("redis", "Redis memory (MEMORY USAGE)", _open_redis, _redis_unavailable),
    "postgres": Backend("postgres", "table bytes", postgres.opener, postgres.unavailable),
    "postgres-commit-off": Backend(
        "postgres-commit-off",
        "table bytes",
        lambda api, workdir: postgres.opener(api, workdir, commit="off"),
        postgres.unavailable,
    ),
}


def build_configs(with_sync: bool) -> list[Config]:
    """Every backend at the default durability, then (if ``with_sync``) durable ones at "sync"."""
    configs = [Config(b, None) for b in BACKENDS.values()]
    if with_sync:
        configs += [
            Config(b, "sync")
            for b in BACKENDS.values()
            if b.name not in ("none", "sqlite-fsync", "postgres-commit-off")
        ]
    return configs


def unavailable(config: Config, apis: list[Api]) -> str | None:
    """Why ``config`` cannot run on all of ``apis``, or None if it can."""
    reasons = [r for api in apis if (r := config.backend.unavailable(api))]
    return "; ".join(reasons) or None
