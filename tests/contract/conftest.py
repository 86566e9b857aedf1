"""The saver contract runs against every saver in ``SAVER_FACTORIES``, in sync and async form.

Adding a backend is one entry: a name and a function that takes the pytest ``request`` and
returns a context manager yielding a fresh, empty saver (cleanup on exit), e.g.::

    "sqlite-file": lambda request: SqliteSaver.from_conn_string(
        str(request.getfixturevalue("tmp_path") / "checkpoints.db")
    ),

Test ids read ``test_x[memory-sync]`` / ``test_x[memory-async]``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from saver_kit import MODES, Driver

import pg_service
import redis_service
from tether.checkpoint.base import BaseCheckpointSaver
from tether.checkpoint.memory import InMemorySaver
from tether.checkpoint.sqlite import SqliteSaver

SaverFactory = Callable[[pytest.FixtureRequest], AbstractContextManager[BaseCheckpointSaver]]

SAVER_FACTORIES: dict[str, SaverFactory] = {
    "memory": lambda request: nullcontext(InMemorySaver()),
    "sqlite-file": lambda request: SqliteSaver.from_conn_string(
        str(request.getfixturevalue("tmp_path") / "checkpoints.db")
    ),
    "sqlite-memory": lambda request: SqliteSaver.from_conn_string(":memory:"),
    "redis": lambda request: redis_service.fresh_saver(),
    "redis-cluster": lambda request: redis_service.cluster_saver(),
    "postgres": lambda request: pg_service.fresh_saver(),
    "postgres-pgbouncer": lambda request: pg_service.fresh_bounced_saver(),
}


@pytest.fixture(
    params=[(name, mode) for name in SAVER_FACTORIES for mode in MODES],
    ids=lambda param: f"{param[0]}-{param[1]}",
)
def saver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A fresh saver of each backend, driven through its sync or its async API."""
    name, mode = request.param
    with SAVER_FACTORIES[name](request) as raw:
        yield Driver(raw, mode)


@pytest.fixture(params=list(SAVER_FACTORIES))
def raw_saver(request: pytest.FixtureRequest) -> Iterator[BaseCheckpointSaver]:
    """A fresh saver of each backend, for tests that do not depend on sync vs async."""
    with SAVER_FACTORIES[request.param](request) as raw:
        yield raw


def _run_without_loop(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine that never suspends (sync mode: every call is a plain sync call)."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("a sync-mode contract test awaited something that suspends")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` contract tests: without a loop in sync mode, else ``asyncio.run``."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    coro = pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names})
    driver = pyfuncitem.funcargs.get("saver")
    if isinstance(driver, Driver) and driver.mode == "sync":
        _run_without_loop(coro)
    else:
        asyncio.run(coro)
    return True
