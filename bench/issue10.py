"""Issue 10 (the Redis backend): its targets, and the scale-out table.

Targets: tether's W1 per-invoke time on Redis no slower than on SQLite; W2's Redis memory
growing linearly (turn 300 / turn 100 <= 3.5); LangGraph's RedisSaver on plain Redis (its
error). Floor (measured right after W1, in the same run): the round trips one W1 invoke of
tether's RedisSaver makes, replayed as no-op ``EVALSHA``s through redis-py with the same keys and
arguments (a round trip of two scripts as a two-command pipeline), plus W1 with no checkpointer:
what an invoke would cost if the saver's client work and its scripts' server time were free.
Scale-out: K = 1, 2, 4, 8 worker processes, each running W1 invokes on its own threads
against one Redis, started together; the rate is all invokes over the wall time from the first
start to the last finish.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
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
NONE = "no checkpointer"


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


@dataclass
class RedisFloor:
    """One W1 invoke's round trips on tether's RedisSaver, and their cost as no-op scripts."""

    round_trips: int
    scripts: int
    bytes_sent: int
    noop_ns: float
    """Median of one invoke's round trips replayed as no-op ``EVALSHA``s through redis-py."""


def _record_invoke(api: Any, prefix: str) -> list[list[tuple[list[str], list[Any]]]]:
    """The script calls of one W1 invoke of tether's RedisSaver, per round trip."""
    from workloads import build_linear, linear_input

    with api.RedisSaver.from_conn_string(REDIS_URL, key_prefix=prefix) as saver:
        saver.setup()
        graph = build_linear(api, saver)
        graph.invoke(linear_input(0), {"configurable": {"thread_id": "floor-warm"}})
        trips: list[list[tuple[list[str], list[Any]]]] = []
        caller = saver._call
        many = caller.many

        def recording(calls: Any) -> Any:
            trips.append([(list(keys), list(args)) for _, keys, args in calls])
            return many(calls)

        caller.many = recording
        try:
            graph.invoke(linear_input(1), {"configurable": {"thread_id": "floor-probe"}})
        finally:
            caller.many = many
    return trips


def measure_floor(api: Any, samples: int = 200) -> RedisFloor | None:
    """``RedisFloor`` of tether's W1 (None without tether's RedisSaver or the server)."""
    if api.library != "tether" or api.RedisSaver is None:
        return None
    import redis

    prefix = f"tether-bench-floor:{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        trips = _record_invoke(api, prefix)
        sha = client.script_load("return {'ok'}")
        pipe = client.pipeline(transaction=False)

        def replay() -> None:
            for trip in trips:
                if len(trip) == 1:
                    keys, args = trip[0]
                    client.evalsha(sha, len(keys), *keys, *args)
                    continue
                for keys, args in trip:
                    pipe.evalsha(sha, len(keys), *keys, *args)
                pipe.execute()

        for _ in range(10):
            replay()
        times = []
        for _ in range(samples):
            t0 = time.perf_counter_ns()
            replay()
            times.append(time.perf_counter_ns() - t0)
        calls = [call for trip in trips for call in trip]
        sent = sum(len(_raw(part)) for keys, args in calls for part in [*keys, *args])
        return RedisFloor(len(trips), len(calls), sent, float(statistics.median(times)))
    except Exception as exc:  # the floor is information; a failure is reported, not fatal
        print(f"  Redis floor not measured: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    finally:
        try:
            _delete(prefix)
        finally:
            client.close()


def _raw(part: str | bytes) -> bytes:
    return part.encode() if isinstance(part, str) else part


def floor_table(sections: Sequence[Section], floor: RedisFloor | None) -> list[str]:
    """W1 on Redis against its floor: how much of tether's time is the network's."""
    if floor is None:
        return []
    cells = {(s.key, c.config.name): c for s in sections for c in s.cells if not c.skipped}
    med = {
        name: _median(cells[("W1", name)].sides[0].samples) if ("W1", name) in cells else None
        for name in (NONE, REDIS, SQLITE)
    }
    none, redis_w1, sqlite_w1 = med[NONE], med[REDIS], med[SQLITE]

    def ms(ns: float | None) -> str:
        return "—" if ns is None else f"{ns / 1e6:.3f} ms"

    total = none + floor.noop_ns if none is not None else None
    over = redis_w1 - total if redis_w1 is not None and total is not None else None
    per_trip = ms(over / floor.round_trips) if over is not None else "—"
    return [
        "## Redis W1 floor: round trips vs tether's own work",
        "",
        f"One W1 invoke of tether's RedisSaver makes {floor.round_trips} round trips "
        f"({floor.scripts} script calls, about {floor.bytes_sent:,} argument bytes). The floor "
        "replays them, right after W1, as no-op `EVALSHA`s (`return {'ok'}`) with the same keys "
        "and arguments through redis-py (median of 200 invokes' worth), and adds W1 with no "
        "checkpointer: an invoke whose saver did no client work and whose scripts took no server "
        "time. The rest of tether's time on Redis is its own (serializing, planning, framing, "
        "the scripts' work).",
        "",
        "| per W1 invoke | median |",
        "| --- | --- |",
        f"| tether, no checkpointer | {ms(none)} |",
        f"| {floor.round_trips} round trips as no-op scripts (redis-py) | {ms(floor.noop_ns)} |",
        f"| floor (the two above) | {ms(total)} |",
        f"| tether on Redis | {ms(redis_w1)} |",
        f"| tether on Redis over the floor | {ms(over)} ({per_trip} per round trip) |",
        f"| tether on SQLite (for the target) | {ms(sqlite_w1)} |",
        "",
    ]


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
