"""Root of the test tree: puts ``tests/`` on ``sys.path`` so the service helpers
(``redis_service``) import from every suite, and stops what they started."""

from __future__ import annotations

import pytest

import redis_service


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    redis_service.stop_cluster()
