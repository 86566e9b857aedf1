"""Plumbing shared by the child scripts: arguments, the saver with a crash seam, the report.

A child prints one line ``RESULT <json>`` when its run finishes, or ``ERROR <json>`` (with the
error's class name) and exits with ``ERROR_EXIT`` when tether raised one of its own errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graphs import WAIT_LIMIT, Files, touch, wait_for

from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import TetherError

ERROR_EXIT = 3
CRASH_EXIT = 137


class Seam:
    """A saver that crashes or pauses inside the commit that stores one chosen checkpoint.

    With ``arm_step`` set, the first ``_before_commit`` (inside a write transaction, before
    COMMIT) whose transaction holds a checkpoint row of step ``arm_step`` either ``os._exit``s
    or touches ``in-commit`` and waits for the ``release`` marker. The row is looked up in the
    open transaction, so the seam does not depend on which saver method wrote it.
    """

    arm_step: int | None = None
    action: str = "exit"
    files: Files | None = None
    _fired: bool = False

    def _before_commit(self, conn: Any) -> None:
        if self.arm_step is None or self._fired:
            return
        found = conn.execute(
            "SELECT 1 FROM checkpoints WHERE step = ? LIMIT 1", (self.arm_step,)
        ).fetchone()
        if found is None:
            return
        self._fired = True
        if self.action == "exit":
            os._exit(CRASH_EXIT)
        assert self.files is not None
        touch(self.files.marker("in-commit"))
        wait_for(self.files.marker("release"), WAIT_LIMIT)


class SeamSaver(Seam, SqliteSaver):
    """``SqliteSaver`` with the crash seam."""


def is_postgres(db: str) -> bool:
    """True when ``--db`` is a PostgreSQL connection string rather than a file."""
    return db.startswith(("postgresql://", "postgres://")) or "dbname=" in db


def parser(description: str) -> argparse.ArgumentParser:
    """Arguments every child takes: the database, the thread, the work folder, lease options."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--db", required=True, help="a SQLite file, or a PostgreSQL URL")
    p.add_argument("--namespace", default=None, help="PostgreSQL: the saver's namespace")
    p.add_argument("--thread", required=True)
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--lease-ttl", type=float, default=None)
    p.add_argument("--policy", choices=["reject", "wait"], default=None)
    p.add_argument("--busy-timeout", type=float, default=None)
    p.add_argument("--resume", action="store_true", help="invoke(None, config) instead of input")
    p.add_argument("--go", default=None, help="marker to wait for before running")
    p.add_argument("--use-async", action="store_true", help="run with ainvoke in asyncio.run")
    return p


@contextmanager
def open_saver(args: argparse.Namespace, cls: type[Any] = SqliteSaver) -> Iterator[Any]:
    """``cls.from_conn_string(db)``, with ``lease_ttl`` only when the test asked for one; a
    ``RedisSaver`` for a ``redis://`` URL; on PostgreSQL (``--db`` a URL) the same saver there,
    with the seam when ``cls`` has it."""
    kwargs: dict[str, Any] = {}
    if args.lease_ttl is not None:
        kwargs["lease_ttl"] = args.lease_ttl
    if args.db.startswith("redis"):  # the test put the key prefix in the environment
        from tether.checkpoint.redis import RedisSaver

        prefix = os.environ["TETHER_TEST_REDIS_PREFIX"]
        with RedisSaver.from_conn_string(args.db, key_prefix=prefix, **kwargs) as saver:
            yield saver
        return
    if is_postgres(args.db):
        from tether.checkpoint.postgres import PostgresSaver

        kwargs["namespace"] = args.namespace
        cls = (
            # The seam needs the step's rows in an open transaction: the step's function
            # call runs inside BEGIN ... COMMIT here (in production it is its own transaction).
            type("PgSeamSaver", (Seam, PostgresSaver), {"_STEP_IN_TRANSACTION": True})
            if issubclass(cls, Seam)
            else PostgresSaver
        )
    with cls.from_conn_string(args.db, **kwargs) as saver:
        yield saver


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``invoke``: sync durability plus the busy policy, if given."""
    options: dict[str, Any] = {"durability": "sync"}
    if args.policy is not None:
        options["busy_policy"] = args.policy
    if args.busy_timeout is not None:
        options["busy_timeout"] = args.busy_timeout
    return options


def invoke(graph: Any, start: Any, run_config: dict[str, Any], args: argparse.Namespace) -> Any:
    """``graph.invoke`` (or ``ainvoke`` under ``--use-async``) with ``run_options(args)``."""
    if args.use_async:
        return asyncio.run(graph.ainvoke(start, run_config, **run_options(args)))
    return graph.invoke(start, run_config, **run_options(args))


def config(args: argparse.Namespace, **metadata: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": args.thread}, "metadata": metadata}


def emit(kind: str, data: dict[str, Any]) -> None:
    print(f"{kind} {json.dumps(data, default=repr)}", flush=True)


def main(args: argparse.Namespace, body: Callable[[], dict[str, Any]]) -> None:
    """Run ``body`` and report; a tether error becomes ``ERROR {"cls": ...}`` and exit 3."""
    if args.go is not None and not wait_for(Files(args.workdir).marker(args.go)):
        emit("ERROR", {"cls": "NoGo", "message": f"marker {args.go!r} never appeared"})
        sys.exit(ERROR_EXIT)
    started = time.monotonic()
    try:
        result = body()
    except TetherError as exc:
        emit("ERROR", {"cls": type(exc).__name__, "message": str(exc)})
        sys.exit(ERROR_EXIT)
    emit("RESULT", {**result, "seconds": round(time.monotonic() - started, 3)})


def summary(values: dict[str, Any]) -> dict[str, Any]:
    """A run's final values, with a large ``big`` list shortened to its length and tags."""
    out = dict(values)
    big = out.pop("big", None)
    if big is not None:
        out["big_len"] = len(big)
        out["big_tags"] = sorted({s.split(":", 1)[0] for s in big})
    return out
