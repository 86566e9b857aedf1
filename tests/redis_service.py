"""The Redis server the tests use: the shared one, with a db index and key prefix of our own.

``TETHER_REDIS_URL`` names it (default ``redis://127.0.0.1:6379/10``: db 10 is tether's test
db). Every saver gets a fresh key prefix (``tether-test:<session>:<n>:``) and deletes the keys
under it when closed, so tests never touch keys they did not write. An unreachable server
skips the test, or fails it under ``TETHER_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import Any

import pytest

import tether

URL = os.environ.get("TETHER_REDIS_URL", "redis://127.0.0.1:6379/10")
SESSION = uuid.uuid4().hex[:8]
_counter = itertools.count()
_reachable: dict[str, str | None] = {}


def require(url: str = URL) -> None:
    """Skip (or fail, under ``TETHER_REQUIRE_SERVICES=1``) when the server does not answer."""
    if url not in _reachable:
        import redis

        plain = url.replace("+cluster://", "://", 1)
        client = redis.Redis.from_url(plain, socket_connect_timeout=2)
        try:
            client.ping()
            _reachable[url] = None
        except redis.exceptions.RedisError as exc:
            _reachable[url] = f"Redis at {url} is unreachable: {exc}"
        finally:
            client.close()
    reason = _reachable[url]
    if reason is not None:
        if os.environ.get("TETHER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (TETHER_REQUIRE_SERVICES=1)")
        pytest.skip(reason)


def new_prefix() -> str:
    return f"tether-test:{SESSION}:{next(_counter)}:"


def delete_prefix(client: Any, prefix: str) -> None:
    """Delete the keys under ``prefix`` (test cleanup only: SCAN is never on a saver's path)."""
    for key in list(client.scan_iter(match=prefix + "*", count=500)):
        client.delete(key)


def fresh_saver(url: str = URL, **options: Any) -> Any:
    """A ``RedisSaver`` on an empty key prefix; closing it deletes its keys."""
    if getattr(tether, "__tether_shim__", False):
        pytest.skip("the LangGraph validation shim checks semantics on the memory saver only")
    require(url)
    from tether.checkpoint.redis import RedisSaver

    class CleaningRedisSaver(RedisSaver):
        def close(self) -> None:
            if self._owns_client:
                delete_prefix(self.client, self.prefix)
            super().close()

    return CleaningRedisSaver.from_conn_string(url, key_prefix=new_prefix(), **options)


def binaries_or_skip(*names: str) -> None:
    """Skip (fail under ``TETHER_REQUIRE_SERVICES=1``) when a Redis binary is not installed."""
    import shutil

    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (apt-get install redis-server redis-tools)"
        if os.environ.get("TETHER_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def free_port() -> int:
    """A loopback port that is free, and so is the port 10000 above it (a cluster node's bus;
    hence ports below 30000)."""
    import random
    import socket

    for _ in range(200):
        port = random.randint(21000, 29999)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free loopback port pair found for a test redis-server")


class OwnServer:
    """A ``redis-server`` of one test, on a loopback port and data dir of its own, so it can be
    killed and restarted (never the shared server). Appends every write to its AOF with fsync,
    so a SIGKILL loses nothing it acknowledged."""

    def __init__(self, data_dir: Any, *extra: str, port: int | None = None) -> None:
        self.dir = data_dir
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc: Any = None

    def start(self, limit: float = 10.0) -> None:
        import subprocess
        import time

        import redis

        binaries_or_skip("redis-server")
        self.dir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "always"]
        args += ["--save", "", *self.extra]
        with (self.dir / "server.log").open("a") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        password = self._password()
        deadline = time.monotonic() + limit
        while True:
            client = redis.Redis(port=self.port, password=password, socket_connect_timeout=1)
            try:
                if client.ping():
                    return
            except redis.exceptions.BusyLoadingError:
                pass
            except redis.exceptions.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
            finally:
                client.close()
            time.sleep(0.02)

    def _password(self) -> str | None:
        if "--requirepass" in self.extra:
            return self.extra[self.extra.index("--requirepass") + 1]
        return None

    def kill(self) -> None:
        """SIGKILL the server (the process this object started) and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def url(self, db: int = 0) -> str:
        password = self._password()
        auth = f":{password}@" if password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"


class Cluster:
    """A real Redis Cluster of three masters on loopback ports, started once per session on
    first use (``redis-server --cluster-enabled yes`` + ``redis-cli --cluster create``) and
    stopped by ``stop_cluster`` (tests/conftest.py, at session end)."""

    def __init__(self) -> None:
        import tempfile
        from pathlib import Path

        self.root = Path(tempfile.mkdtemp(prefix="tether-redis-cluster-"))
        self.servers = [
            OwnServer(self.root / f"node{i}", "--cluster-enabled", "yes", "--appendonly", "no")
            for i in range(3)
        ]

    def start(self) -> None:
        import subprocess

        binaries_or_skip("redis-server", "redis-cli")
        for server in self.servers:
            server.start()
        nodes = [f"127.0.0.1:{s.port}" for s in self.servers]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0"],
            input="yes\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self._wait_ok()

    def _wait_ok(self, limit: float = 30.0) -> None:
        import time

        import redis

        deadline = time.monotonic() + limit
        for server in self.servers:
            client = redis.Redis(port=server.port)
            try:
                while client.cluster("info").get("cluster_state") != "ok":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the test Redis Cluster never reached state ok")
                    time.sleep(0.05)
            finally:
                client.close()

    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.servers[0].port}"

    def stop(self) -> None:
        import shutil

        for server in self.servers:
            server.kill()
        shutil.rmtree(self.root, ignore_errors=True)


_cluster: list[Cluster] = []


def cluster_url() -> str:
    """The URL of the session's Redis Cluster, started on first use."""
    if not _cluster:
        binaries_or_skip("redis-server", "redis-cli")
        made = Cluster()
        _cluster.append(made)
        made.start()
    return _cluster[0].url()


def cluster_saver(**options: Any) -> Any:
    """A saver on the session's Redis Cluster (started on first use), fresh key prefix."""
    return fresh_saver(cluster_url(), **options)


def stop_cluster() -> None:
    while _cluster:
        _cluster.pop().stop()
