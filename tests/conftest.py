"""Session-wide fixtures: the services' databases are dropped when the session ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pg_service


@pytest.fixture(scope="session", autouse=True)
def _drop_service_databases() -> Iterator[None]:
    yield
    pg_service.drop_database()
