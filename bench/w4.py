"""W4: the saver API alone, on ``SqliteSaver(sqlite3.connect(path, check_same_thread=False))``.

20 threads x 100 ``put`` calls, each changing 10 channels that hold small (~80-byte) dicts; then
1,000 ``get_tuple`` calls (alternately a thread's head and one of its older checkpoints) and 60
``list`` calls (a whole thread each). Both libraries get the same calls in the same order; the
side that goes first alternates per thread and per batch. Both connections run in WAL mode at the
same ``synchronous`` setting, set on the connection the caller passes in.

The floor, measured in the same run at each setting: one raw ``INSERT`` + ``COMMIT`` of a W4
checkpoint's bytes (``measure_floor``, SQLite only), the cheapest durable put SQLite can do.
"""

from __future__ import annotations

import gc
import importlib
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ormsgpack
from configs import sqlite_size
from floors import raw_commit_ns
from workloads import Api

THREADS = 20
PUTS = 100
CHANNELS = 10
GETS = 1000
LISTS = 60


@dataclass
class W4Side:
    """One library's saver and its totals."""

    api: Api
    saver: Any
    empty_checkpoint: Callable[[], dict[str, Any]]
    measure: Callable[[], int]  # bytes stored
    close: Callable[[], None]
    heads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ns: dict[str, int] = field(default_factory=lambda: {"put": 0, "get": 0, "list": 0})
    listed: int = 0
    size: int = 0
    error: str | None = None


@dataclass
class W4Result:
    synchronous: str
    sides: list[W4Side]
    puts: int
    gets: int
    lists: int
    floor_ns: float | None = None  # one raw INSERT + COMMIT of a W4 checkpoint's bytes
    floor_bytes: int = 0


def small_dict(thread: int, step: int, channel: int) -> dict[str, Any]:
    """A ~80-byte dict (serialized) that differs per thread, step and channel."""
    return {"id": f"t{thread}-s{step}-c{channel}", "score": step * 0.5, "tags": ["a", "b"]}


def checkpoint_bytes(step: int = PUTS - 1) -> bytes:
    """The msgpack bytes of a W4 checkpoint as a one-row saver would store it (values inline)."""
    channels = [f"c{c}" for c in range(CHANNELS)]
    checkpoint = {
        "v": 4,
        "id": str(uuid.uuid4()),
        "ts": "2026-01-01T00:00:00.000000+00:00",
        "channel_values": {c: small_dict(0, step, i) for i, c in enumerate(channels)},
        "channel_versions": {c: f"{step + 1:032d}.{i:016x}" for i, c in enumerate(channels)},
        "versions_seen": {},
    }
    metadata = {"source": "loop", "step": step, "parents": {}}
    return ormsgpack.packb({"checkpoint": checkpoint, "metadata": metadata})


def _put_thread(side: W4Side, thread: int, puts: int) -> None:
    saver = side.saver
    thread_id = f"w4-{thread}"
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    versions: dict[str, Any] = {}
    configs = []
    for step in range(puts):
        checkpoint = side.empty_checkpoint()
        values = {f"c{c}": small_dict(thread, step, c) for c in range(CHANNELS)}
        new_versions = {ch: saver.get_next_version(versions.get(ch), None) for ch in values}
        versions.update(new_versions)
        checkpoint["channel_values"] = values
        checkpoint["channel_versions"] = dict(versions)
        metadata = {"source": "loop", "step": step, "parents": {}}
        t0 = time.perf_counter_ns()
        config = saver.put(config, checkpoint, metadata, new_versions)
        side.ns["put"] += time.perf_counter_ns() - t0
        configs.append(config)
    side.heads[thread_id] = configs


def _get(side: W4Side, i: int) -> None:
    thread_id = f"w4-{i % THREADS}"
    configs = side.heads[thread_id]
    if i % 2:
        config = configs[(i * 7) % len(configs)]
    else:
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    t0 = time.perf_counter_ns()
    found = side.saver.get_tuple(config)
    side.ns["get"] += time.perf_counter_ns() - t0
    if found is None or len(found.checkpoint["channel_values"]) != CHANNELS:
        raise AssertionError(f"W4 get_tuple {i}: unexpected {found!r}")


def _list(side: W4Side, i: int, expected: int) -> None:
    config = {"configurable": {"thread_id": f"w4-{i % THREADS}"}}
    t0 = time.perf_counter_ns()
    count = sum(1 for _ in side.saver.list(config))
    side.ns["list"] += time.perf_counter_ns() - t0
    side.listed += count
    if count != expected:
        raise AssertionError(f"W4 list {i}: {count} checkpoints, expected {expected}")


def _open(api: Api, workdir: Path, synchronous: str) -> W4Side:
    path = workdir / f"w4-{api.library}-{synchronous.lower()}-{time.monotonic_ns()}.sqlite"
    conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    saver = api.SqliteSaver(conn)
    if hasattr(saver, "setup"):
        saver.setup()
    conn.execute(f"PRAGMA synchronous = {synchronous}")

    def close() -> None:
        if api.library == "tether":
            saver.close()  # its worker threads; the connection stays the caller's
        conn.close()

    return W4Side(api, saver, empty_checkpoint(api), lambda: sqlite_size(path), close)


def empty_checkpoint(api: Api) -> Callable[[], dict[str, Any]]:
    return importlib.import_module(f"{api.library}.checkpoint.base").empty_checkpoint  # type: ignore[no-any-return]


OpenSide = Callable[[Api, Path, str], W4Side]


def _each(sides: list[W4Side], n: int, step: Callable[[W4Side, int], None]) -> None:
    """Run ``step(side, i)`` for i < n, in batches of 10 whose side order alternates."""
    for batch in range(0, n, 10):
        order = sides if (batch // 10) % 2 == 0 else list(reversed(sides))
        for side in order:
            if side.error is not None:
                continue
            try:
                for i in range(batch, min(n, batch + 10)):
                    step(side, i)
            except Exception as exc:
                side.error = f"{type(exc).__name__}: {exc}"


def bench_w4(
    apis: list[Api], workdir: Path, synchronous: str, quick: bool, open_side: OpenSide = _open
) -> W4Result:
    """W4 on the savers ``open_side`` opens (SQLite at ``synchronous`` by default)."""
    puts, gets, lists = (PUTS // 5, GETS // 5, LISTS // 5) if quick else (PUTS, GETS, LISTS)
    sides = [open_side(api, workdir, synchronous) for api in apis]
    try:
        gc.collect()
        for thread in range(THREADS):
            for side in sides if thread % 2 == 0 else reversed(sides):
                _guard(side, lambda s=side, t=thread: _put_thread(s, t, puts))
        gc.collect()
        _each(sides, gets, _get)
        gc.collect()
        _each(sides, lists, lambda s, i: _list(s, i, puts))
        for side in sides:
            side.size = side.measure()
    finally:
        for side in sides:
            side.close()
    return W4Result(synchronous, sides, puts * THREADS, gets, lists)


def measure_floor(result: W4Result, workdir: Path) -> None:
    """Set ``result``'s floor: one raw SQLite commit of a W4 checkpoint at its setting."""
    payload = checkpoint_bytes()
    result.floor_ns = raw_commit_ns(workdir, result.synchronous, payload)
    result.floor_bytes = len(payload)


def _guard(side: W4Side, call: Callable[[], None]) -> None:
    if side.error is not None:
        return
    try:
        call()
    except Exception as exc:
        side.error = f"{type(exc).__name__}: {exc}"


def rates(side: W4Side, result: W4Result) -> dict[str, float | None]:
    """puts/s, get_tuple/s, listed checkpoints/s and file bytes of one side."""
    if side.error is not None:
        return {"put": None, "get": None, "list": None, "size": None}

    def per_s(count: int, ns: int) -> float | None:
        return count / (ns / 1e9) if ns else None

    return {
        "put": per_s(result.puts, side.ns["put"]),
        "get": per_s(result.gets, side.ns["get"]),
        "list": per_s(side.listed, side.ns["list"]),
        "size": float(side.size),
    }
