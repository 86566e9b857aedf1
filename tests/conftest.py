"""Root of the test tree: puts ``tests/`` on ``sys.path`` so the service helpers
(``redis_service``, ``pg_service``) import from every suite, and stops or drops what they
started when the session ends."""

from __future__ import annotations

import os
from collections.abc import Iterator

# Every reused list prefix is checked against a full serialization (tether.checkpoint.appends):
# a test whose node changes stored state in place without returning it fails loudly.
os.environ.setdefault("TETHER_CHECK_APPENDS", "1")

import pytest

import pg_service
import redis_service


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    redis_service.stop_cluster()


@pytest.fixture(scope="session", autouse=True)
def _drop_service_databases() -> Iterator[None]:
    yield
    pg_service.drop_database()
