"""Fixtures of the crash suite, and the ``crash`` marker (``pytest -m crash`` selects it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._spawn import Children
from .children.graphs import Files


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "crash: real-process crash and concurrency tests (SIGKILL, os._exit, leases)"
    )


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    """Starts child scripts; kills any still running when the test ends."""
    logs = tmp_path / "logs"
    logs.mkdir()
    made = Children(logs)
    yield made
    made.close()


@pytest.fixture
def files(tmp_path: Path) -> Files:
    """A work folder for one test's counter file and markers."""
    work = tmp_path / "work"
    work.mkdir()
    return Files(work)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Path of the SQLite file the test's children share (created by the first saver)."""
    return tmp_path / "checkpoints.db"
