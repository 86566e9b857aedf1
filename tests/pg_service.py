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
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
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


def statistic(conn: Any, query: str, params: Any) -> int:
    """A counter of the statistics views (``query``, one row of one number, 0 when none) as it
    stands after what ``conn`` ran so far: its statistics flushed first (the flush happens when
    the backend is next idle), read on a connection of its own."""
    import psycopg

    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("SELECT 1")
    with psycopg.connect(database_url(), autocommit=True) as reader:
        row = reader.execute(query, params).fetchone()
    return int(row[0]) if row else 0


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


def setup_concurrently(open_backend: Any, count: int = 6) -> list[BaseException]:
    """Call ``setup()`` on ``count`` backends from ``open_backend()`` at once, one thread
    each; the errors raised (none when setup is safe under concurrency)."""
    import threading

    errors: list[BaseException] = []

    def set_up() -> None:
        try:
            with open_backend() as backend:
                backend.setup()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=set_up) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


STORE_SHARED = "tether_store_tests"


def fresh_store(url: str | None = None, **options: Any) -> Any:
    """An empty ``PostgresStore`` in the session's shared store schema (emptied, as
    ``fresh_saver`` does, rather than a schema per test); ``url`` defaults to the database."""
    from tether.store.postgres import PostgresStore

    database = database_url()
    if "store_shared" not in _state:
        PostgresStore.from_conn_string(database, namespace=STORE_SHARED).setup()
        _state["store_shared"] = True
    import psycopg

    with psycopg.connect(database, autocommit=False) as conn:
        conn.execute(f"DELETE FROM {STORE_SHARED}.tether_store_items")
        conn.execute(f"DELETE FROM {STORE_SHARED}.tether_store_vectors")
        conn.execute(f"DELETE FROM {STORE_SHARED}.tether_store_meta WHERE name = 'dims'")
    return PostgresStore.from_conn_string(
        url or database, namespace=STORE_SHARED, max_size=2, **options
    )


_PGBOUNCER_INI = """\
[databases]
* = host={host} port={port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/users.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
logfile = {dir}/pgbouncer.log
"""


def pgbouncer_url() -> str:
    """This session's database through a PgBouncer in transaction mode (Debian's
    ``pgbouncer``, installed by ``.ci/run``), started on a free loopback port on first use."""
    if "bouncer_url" in _state:
        return str(_state["bouncer_url"])
    url = database_url()
    binary = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )
    if binary is None:
        _unavailable("pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)")
    import psycopg

    server = psycopg.conninfo.conninfo_to_dict(url)
    work = tempfile.mkdtemp(prefix="tether-pgbouncer-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    Path(work, "users.txt").write_text('"postgres" ""\n')
    Path(work, "pgbouncer.ini").write_text(
        _PGBOUNCER_INI.format(
            host=server.get("host", "127.0.0.1"),
            port=server.get("port", 5432),
            listen=port,
            dir=work,
        )
    )
    command = [str(binary)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(work, "postgres")
        for name in os.listdir(work):
            shutil.chown(os.path.join(work, name), "postgres")
        command += ["-u", "postgres"]
    proc = subprocess.Popen(
        [*command, f"{work}/pgbouncer.ini"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _state["bouncer"] = (proc, work)
    bounced = psycopg.conninfo.make_conninfo(url, host="127.0.0.1", port=str(port))
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(bounced, connect_timeout=2).close()
            break
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline or proc.poll() is not None:
                _unavailable(f"pgbouncer did not start: {exc}")
            time.sleep(0.05)
    _state["bouncer_url"] = bounced
    return bounced


def fresh_bounced_saver(**options: Any) -> Any:
    """``fresh_saver`` whose connections go through PgBouncer in transaction mode."""
    from tether.checkpoint.postgres import PostgresSaver

    fresh_saver().close()  # empties the shared namespace
    return PostgresSaver.from_conn_string(pgbouncer_url(), namespace=SHARED, max_size=4, **options)


def stop_pgbouncer() -> None:
    started = _state.pop("bouncer", None)
    _state.pop("bouncer_url", None)
    if started is None:
        return
    proc, work = started
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    shutil.rmtree(work, ignore_errors=True)


def drop_database() -> None:
    stop_pgbouncer()
    name = _state.pop("name", None)
    _state.pop("url", None)
    if name is None:
        return
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
