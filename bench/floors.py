"""Floors measured in the same run: what one raw SQLite commit of a checkpoint's bytes costs.

The per-step persistence overhead of a saver is (W1 with the saver - W1 with no checkpointer) per
checkpoint written; comparing it with one bare ``INSERT`` + ``COMMIT`` of the same number of
bytes, at the same ``synchronous`` setting in WAL mode, shows how close the saver is to the
cheapest durable write SQLite can do.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
import uuid
from pathlib import Path

import ormsgpack
from workloads import LINEAR_NODES

CHECKPOINTS_PER_W1_INVOKE = LINEAR_NODES + 2
"""The input checkpoint, the one after ``__start__``, and one per node."""


def w1_checkpoint_bytes() -> bytes:
    """The msgpack bytes of a W1 checkpoint as a one-row saver would store it (values inline)."""

    def version(n: int) -> str:
        return f"{n:032d}.{n:016x}"

    channels = ["__start__", "count", "last", *(f"branch:to:n{i}" for i in range(LINEAR_NODES))]
    checkpoint = {
        "v": 4,
        "id": str(uuid.uuid4()),
        "ts": "2026-01-01T00:00:00.000000+00:00",
        "channel_values": {"count": 5, "last": "node-5"},
        "channel_versions": {c: version(i + 1) for i, c in enumerate(channels)},
        "versions_seen": {f"n{i}": {f"branch:to:n{i}": version(i)} for i in range(LINEAR_NODES)},
        "updated_channels": ["count", "last"],
    }
    metadata = {"source": "loop", "step": 5, "parents": {}}
    return ormsgpack.packb({"checkpoint": checkpoint, "metadata": metadata})


def raw_commit_ns(workdir: Path, synchronous: str, payload: bytes, n: int = 300) -> float:
    """Median ns of one ``INSERT`` of ``payload`` + ``COMMIT`` in a WAL file at ``synchronous``."""
    path = workdir / f"floor-{synchronous.lower()}-{time.monotonic_ns()}.sqlite"
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, data BLOB)")
        samples = []
        for i in range(n + 20):
            key = f"{i:08d}"
            t0 = time.perf_counter_ns()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t VALUES (?, ?)", (key, payload))
            conn.execute("COMMIT")
            if i >= 20:  # the first commits grow the file and the WAL
                samples.append(time.perf_counter_ns() - t0)
    finally:
        conn.close()
    return float(statistics.median(samples))
