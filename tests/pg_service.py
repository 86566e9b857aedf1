"""The PostgreSQL server the tests use: one fresh database per test session, dropped after.

``database_url()`` creates ``tether_test_<random>`` on the server at ``TETHER_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``) the first time a test asks for it,
never at import time. An unreachable server skips the test with the reason, or fails it when
``TETHER_REQUIRE_SERVICES=1``. ``fresh_saver()`` gives every test an empty saver of its own (a
new namespace, i.e. schema, in that database). ``drop_database()`` runs at session end
(``tests/conftest.py``).
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import Any

import pytest

ADMIN_URL = os.environ.get("TETHER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
_state: dict[str, Any] = {}
_counter = itertools.count()
SHARED = "tether_tests"


def _unavailable(reason: str) -> None:
    if os.environ.get("TETHER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"PostgreSQL is required (TETHER_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {reason}")


def admin_url() -> str:
    return ADMIN_URL


def url_for(dbname: str) -> str:
    import psycopg

    params = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**params)


def database_url() -> str:
    """The URL of this session's database, created on first use."""
    if "url" in _state:
        return str(_state["url"])
    if "error" in _state:
        _unavailable(_state["error"])
    try:
        import psycopg

        name = f"tether_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any failure to reach the server or create the database
        _state["error"] = str(exc).strip() or type(exc).__name__
        _unavailable(_state["error"])
    _state["name"] = name
    _state["url"] = url_for(name)
    return str(_state["url"])


def new_namespace() -> str:
    return f"t{os.getpid()}_{next(_counter)}"


def fresh_saver(**options: Any) -> Any:
    """An empty ``PostgresSaver``: the session's shared namespace, emptied (creating a schema
    per test costs ~0.2 s of DDL; deleting a test's few rows costs milliseconds)."""
    from tether.checkpoint.postgres import PostgresSaver
    from tether.checkpoint.postgres.schema import TABLES

    url = database_url()
    if "shared" not in _state:
        PostgresSaver.from_conn_string(url, namespace=SHARED).setup()
        _state["shared"] = True
    import psycopg

    with psycopg.connect(url, autocommit=False) as conn:
        for table in TABLES:
            if table != "tether_meta":
                conn.execute(f"DELETE FROM {SHARED}.{table}")
    return PostgresSaver.from_conn_string(url, namespace=SHARED, max_size=4, **options)


def drop_database() -> None:
    name = _state.pop("name", None)
    _state.pop("url", None)
    if name is None:
        return
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
