"""Starting child scripts and inspecting what they left behind.

Children are ``python tests/crash/children/<script>.py ...`` processes using the same
interpreter. Their output goes to files (no pipe can fill up and stall a child); every wait has a
limit, and the ``children`` fixture kills whatever a test left running.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .children.graphs import Files

CHILDREN = Path(__file__).parent / "children"
PROCESS_LIMIT = 60.0
"""Longest any child may run, in seconds."""


@dataclass
class Finished:
    """A child that has exited: its exit code and output."""

    name: str
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"child {self.name} exited {self.returncode}\n--- stdout\n{self.stdout}"
            f"\n--- stderr\n{self.stderr}"
        )

    def report(self, kind: str) -> dict[str, Any] | None:
        """The JSON payload of the child's ``RESULT`` or ``ERROR`` line, if it printed one."""
        for line in self.stdout.splitlines():
            if line.startswith(f"{kind} "):
                data: dict[str, Any] = json.loads(line[len(kind) + 1 :])
                return data
        return None

    def result(self) -> dict[str, Any]:
        """The child's ``RESULT``; fails the test (with the child's output) if it has none."""
        data = self.report("RESULT")
        if self.returncode != 0 or data is None:
            pytest.fail(f"expected a finished run\n{self.describe()}")
        return data

    def error_class(self) -> str | None:
        data = self.report("ERROR")
        return None if data is None else str(data["cls"])


class Child:
    """A running child script."""

    def __init__(self, name: str, args: Sequence[str], logdir: Path) -> None:
        self.name = name
        self._out = logdir / f"{name}.out"
        self._err = logdir / f"{name}.err"
        with self._out.open("w") as out, self._err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILDREN / args[0]), *args[1:]],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
            )

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.running():
            self.proc.kill()
            self.proc.wait(PROCESS_LIMIT)

    def wait(self, limit: float = PROCESS_LIMIT) -> Finished:
        try:
            code = self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"child {self.name} still running after {limit}s\n{self.peek()}")
        return Finished(self.name, code, self._out.read_text(), self._err.read_text())

    def peek(self) -> str:
        return f"--- stdout\n{self._out.read_text()}\n--- stderr\n{self._err.read_text()}"


class Children:
    """Starts children for one test and kills any still running at teardown."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.started: list[Child] = []

    def start(self, name: str, script: str, *args: Any) -> Child:
        child = Child(name, [script, *map(str, args)], self.logdir)
        self.started.append(child)
        return child

    def run(self, name: str, script: str, *args: Any) -> Finished:
        return self.start(name, script, *args).wait()

    def close(self) -> None:
        for child in self.started:
            child.kill()


def wait_for_marker(files: Files, name: str, child: Child, limit: float = 30.0) -> None:
    """Wait until the marker exists; fail at once if ``child`` exits first, or after ``limit``."""
    path = files.marker(name)
    deadline = time.monotonic() + limit
    while not path.exists():
        if not child.running():
            pytest.fail(f"{child.name} exited before touching {name!r}\n{child.wait().describe()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{child.name} did not touch {name!r} within {limit}s\n{child.peek()}")
        time.sleep(0.01)


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` through a plain sqlite3 connection."""
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def sql(db: Path, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query`` through a plain sqlite3 connection (to look under the saver)."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(query).fetchall())
    finally:
        conn.close()


def base_args(db: Path | str, thread_id: str, files: Files) -> list[str]:
    return ["--db", str(db), "--thread", thread_id, "--workdir", str(files.workdir)]


def thread_config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def oldest_first(history: Sequence[Any]) -> list[Any]:
    """``get_state_history`` (newest first) reversed, after checking it is one unbroken chain:
    steps strictly increase and every checkpoint's parent is the one before it.
    """
    chain = list(reversed(history))
    for before, after in zip(chain, chain[1:]):
        assert after.metadata["step"] > before.metadata["step"], (before.config, after.config)
        assert after.parent_config is not None, after.config
        parent = after.parent_config["configurable"]["checkpoint_id"]
        assert parent == before.config["configurable"]["checkpoint_id"], (before, after)
    if chain:
        assert chain[0].parent_config is None, chain[0].parent_config
    return chain


@contextmanager
def graph_on(db: Path | str, builder: Any) -> Iterator[Any]:
    """The graph ``builder`` compiled over a fresh SqliteSaver on ``db`` (a RedisSaver for a
    ``redis://`` URL, keys under ``TETHER_TEST_REDIS_PREFIX``), in this process."""
    if str(db).startswith("redis"):
        import os

        from tether.checkpoint.redis import RedisSaver

        prefix = os.environ["TETHER_TEST_REDIS_PREFIX"]
        with RedisSaver.from_conn_string(str(db), key_prefix=prefix) as saver:
            yield builder.compile(checkpointer=saver)
        return
    from tether.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(str(db)) as saver:
        yield builder.compile(checkpointer=saver)
