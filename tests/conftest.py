"""Root of the test tree: puts ``tests/`` on ``sys.path`` so the service helpers
(``redis_service``, ``pg_service``) import from every suite, and stops or drops what they
started when the session ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pg_service
import redis_service


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    redis_service.stop_cluster()


@pytest.fixture(scope="session", autouse=True)
def _drop_service_databases() -> Iterator[None]:
    yield
    pg_service.drop_database()
