"""Issue 10 (the Redis backend): its targets, and the scale-out table.

Targets: tether's W1 per-invoke time on Redis no slower than on SQLite; W2's Redis memory
growing linearly (turn 300 / turn 100 <= 3.5); LangGraph's RedisSaver on plain Redis (its
error). Scale-out: K = 1, 2, 4, 8 worker processes, each running W1 invokes on its own threads
against one Redis, started together; the rate is all invokes over the wall time from the first
start to the last finish.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from configs import REDIS_URL
from report import Section

Row = list[str]
REDIS = "redis, durability=default"
SQLITE = "sqlite, durability=default"


def _median(values: Sequence[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _row(workload: str, config: str, label: str, value: str, ok: bool | None) -> Row:
    return [
        "10",
        workload,
        config,
        label,
        value,
        "—" if ok is None else ("met" if ok else "NOT met"),
    ]


def target_rows(sections: Sequence[Section], size_at: Sequence[int]) -> list[Row]:
    cells = {(s.key, c.config.name): c for s in sections for c in s.cells if not c.skipped}
    rows: list[Row] = []
    redis_w1, sqlite_w1 = cells.get(("W1", REDIS)), cells.get(("W1", SQLITE))
    if redis_w1 is not None and sqlite_w1 is not None:
        a, b = _median(redis_w1.sides[0].samples), _median(sqlite_w1.sides[0].samples)
        value = a / b if a and b else None
        shown = "not measured" if value is None else f"{value:.3f}"
        ok = None if value is None else value <= 1.0
        rows.append(_row("W1", REDIS, "tether redis / tether sqlite per invoke ≤ 1", shown, ok))
        error = redis_w1.sides[1].error if len(redis_w1.sides) > 1 else None
        rows.append(
            _row(
                "W1",
                REDIS,
                "LangGraph RedisSaver on plain Redis (info)",
                f"fails: {error}" if error else "ran",
                None,
            )
        )
    for key in ("W2", "W2-add"):
        cell = cells.get((key, REDIS))
        if cell is None:
            continue
        sizes = cell.sides[0].sizes
        hi, lo = sizes.get(size_at[-1]), sizes.get(size_at[1])
        growth = hi / lo if hi and lo else None
        shown = "not measured" if growth is None else f"{growth:.3f}"
        label = f"tether Redis memory {size_at[-1]}/{size_at[1]} ≤ 3.5"
        rows.append(_row(key, REDIS, label, shown, None if growth is None else growth <= 3.5))
    return rows


def expected_failure(cell: Any, side: Any) -> bool:
    """LangGraph's RedisSaver failing on plain Redis is the finding, not a bench failure."""
    return cell.config.backend.name == "redis" and side.api.library == "langgraph"


@dataclass
class ScaleResult:
    workers: int
    invokes: int
    seconds: float
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.invokes / self.seconds if self.seconds else 0.0


def _worker(index: int, invokes: int, prefix: str, start: Any, out: Any) -> None:
    try:
        from workloads import build_linear, check_linear, linear_input, load_api

        api = load_api("tether")
        with api.RedisSaver.from_conn_string(REDIS_URL, key_prefix=prefix) as saver:
            graph = build_linear(api, saver)
            for i in range(3):
                graph.invoke(linear_input(i), {"configurable": {"thread_id": f"warm-{index}-{i}"}})
            start.wait(60)
            t0 = time.perf_counter()
            for i in range(invokes):
                config = {"configurable": {"thread_id": f"scale-{index}-{i}"}}
                check_linear(graph.invoke(linear_input(i), config), i)
            out.put((t0, time.perf_counter(), None))
    except Exception as exc:
        out.put((0.0, 0.0, f"{type(exc).__name__}: {exc}"))


def bench_scaleout(quick: bool, counts: Sequence[int] = (1, 2, 4, 8)) -> list[ScaleResult]:
    """W1 invokes from K processes at once on distinct threads, for each K in ``counts``."""
    per_worker = 20 if quick else 100
    ctx = multiprocessing.get_context("fork")
    results = []
    for workers in counts:
        prefix = f"tether-bench-scale:{uuid.uuid4().hex[:8]}:"
        start, out = ctx.Barrier(workers + 1), ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(k, per_worker, prefix, start, out))
            for k in range(workers)
        ]
        for proc in procs:
            proc.start()
        start.wait(120)
        done = [out.get(timeout=600) for _ in procs]
        for proc in procs:
            proc.join(60)
        _delete(prefix)
        errors = [e for _, _, e in done if e]
        seconds = max(t1 for _, t1, _ in done) - min(t0 for t0, _, _ in done)
        results.append(
            ScaleResult(workers, per_worker * workers, seconds, errors[0] if errors else None)
        )
    return results


def _delete(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    finally:
        client.close()


def scale_table(results: Sequence[ScaleResult]) -> list[str]:
    if not results:
        return []
    base = results[0].rate or None
    lines = [
        "## Scale-out on Redis (tether, W1, one thread per invoke)",
        "",
        "| worker processes | invokes | seconds | invokes/s | vs 1 process |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.workers} | — | — | failed: `{r.error}` | — |")
            continue
        speed = f"{r.rate / base:.2f}x" if base else "—"
        lines.append(f"| {r.workers} | {r.invokes} | {r.seconds:.2f} | {r.rate:,.0f} | {speed} |")
    return [*lines, ""]
