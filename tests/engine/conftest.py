"""Fixtures for the engine-semantics suite.

Every scenario runs once per saver in ``SAVER_FACTORIES`` (memory now; sqlite, postgres and
redis add one entry each). Tests marked ``tether_only`` pin places where tether deliberately
differs from LangGraph; they are skipped when ``tether`` is the LangGraph validation shim
(a fake ``tether`` package re-exporting LangGraph, flagged by ``__tether_shim__``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tether
from tether.checkpoint.memory import InMemorySaver

IS_LANGGRAPH_SHIM: bool = bool(getattr(tether, "__tether_shim__", False))


def _sqlite_file(tmp_path: Path) -> Any:
    if IS_LANGGRAPH_SHIM:
        pytest.skip("the LangGraph validation shim checks semantics on the memory saver only")
    from tether.checkpoint.sqlite import SqliteSaver

    return SqliteSaver(path=str(tmp_path / "engine.db"))


def _sqlite_memory(tmp_path: Path) -> Any:
    if IS_LANGGRAPH_SHIM:
        pytest.skip("the LangGraph validation shim checks semantics on the memory saver only")
    from tether.checkpoint.sqlite import SqliteSaver

    return SqliteSaver(path=":memory:")


def _redis(tmp_path: Path, cluster: bool = False) -> Any:
    import redis_service

    return redis_service.cluster_saver() if cluster else redis_service.fresh_saver()


def _postgres(tmp_path: Path) -> Any:
    if IS_LANGGRAPH_SHIM:
        pytest.skip("the LangGraph validation shim checks semantics on the memory saver only")
    import pg_service

    return pg_service.fresh_saver()


def _postgres_pgbouncer(tmp_path: Path) -> Any:
    if IS_LANGGRAPH_SHIM:
        pytest.skip("the LangGraph validation shim checks semantics on the memory saver only")
    import pg_service

    return pg_service.fresh_bounced_saver()


SAVER_FACTORIES: dict[str, Callable[[Path], Any]] = {
    "memory": lambda tmp_path: InMemorySaver(),
    "sqlite-file": _sqlite_file,
    "sqlite-memory": _sqlite_memory,
    "redis": _redis,
    "redis-cluster": lambda tmp_path: _redis(tmp_path, cluster=True),
    "postgres": _postgres,
    "postgres-pgbouncer": _postgres_pgbouncer,
}


_thread_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tether_only: tether intentionally differs from LangGraph here (skipped under the shim)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not IS_LANGGRAPH_SHIM:
        return
    skip = pytest.mark.skip(reason="tether-only behaviour; LangGraph differs on purpose")
    for item in items:
        if "tether_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=sorted(SAVER_FACTORIES), ids=lambda name: f"saver={name}")
def saver(request: pytest.FixtureRequest) -> Any:
    """A fresh, empty checkpoint saver from each registered backend."""
    made = SAVER_FACTORIES[request.param](request.getfixturevalue("tmp_path"))
    yield made
    close = getattr(made, "close", None)
    if callable(close):
        close()


@pytest.fixture
def checkpointer(saver: Any) -> Any:
    """Alias of ``saver`` for tests that read better with LangGraph's word."""
    return saver


@pytest.fixture
def thread(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A config addressing a new thread, unique per test."""
    return {"configurable": {"thread_id": f"{request.node.name}-{next(_thread_counter)}"}}
