"""PostgreSQL rows of the benchmark: tether's PostgresSaver against LangGraph's, same server.

The server is ``TETHER_BENCH_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/
postgres``); every saver gets a fresh database of its own (``tether_bench_<random>``), dropped
after. Two settings: the server's default ``synchronous_commit=on`` (every commit waits for a
WAL flush) and ``off`` (``options=-c synchronous_commit=off`` in both URLs).

- Backends ``postgres`` and ``postgres-commit-off`` for the W1/W2/W3 tables (``configs.py``).
- Floors: one raw ``INSERT`` + ``COMMIT`` of a W1 checkpoint's bytes, median of 300, per setting.
- W4 on PostgreSQL: the saver API alone (``w4.bench_w4`` with PostgreSQL savers).
- Scale-out: K worker processes, each invoking W1 on threads of its own against one database,
  for K = 1, 2, 4, 8: invokes per second of wall time for both libraries.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN_URL = os.environ.get("TETHER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
COMMIT = {"on": "", "off": "-c synchronous_commit=off"}
CONFIG_AT = {"on": "postgres, durability=default", "off": "postgres-commit-off, durability=default"}
SCALE_K = (1, 2, 4, 8)
_MODULE = {"tether": "tether.checkpoint.postgres", "langgraph": "langgraph.checkpoint.postgres"}


def unavailable(api: Any) -> str | None:
    """Why PostgreSQL rows cannot run for ``api`` (driver or server missing), or None."""
    try:
        importlib.import_module(_MODULE[api.library])
        import psycopg

        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:
        return f"PostgreSQL for {api.label}: {type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def fresh_database(commit: str = "on") -> Iterator[str]:
    """A new database on the server, as a connection string at ``commit``; dropped on exit."""
    import psycopg

    name = f"tether_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    params["dbname"] = name
    if COMMIT[commit]:
        params["options"] = COMMIT[commit]
    try:
        yield psycopg.conninfo.make_conninfo(**params)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stored_bytes(url: str) -> int:
    """Bytes of every table (with indexes and TOAST) outside the system schemas."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    return int(row[0]) if row else 0


@contextlib.contextmanager
def open_saver(library: str, url: str) -> Iterator[Any]:
    """The library's ``PostgresSaver`` on ``url``, set up; closed on exit."""
    cls = importlib.import_module(_MODULE[library]).PostgresSaver
    with cls.from_conn_string(url) as saver:
        saver.setup()
        yield saver


@contextlib.contextmanager
def opener(api: Any, workdir: Path, *, commit: str = "on") -> Iterator[Any]:
    """``configs.Backend`` opener: a saver on a fresh database, sized by its tables."""
    from configs import OpenSaver

    with fresh_database(commit) as url, open_saver(api.library, url) as saver:
        yield OpenSaver(saver, lambda: stored_bytes(url))


# --- floors -------------------------------------------------------------------------------


def raw_commit_ns(commit: str, payload: bytes, n: int = 300) -> float:
    """Median ns of one ``INSERT`` of ``payload`` + ``COMMIT`` at ``synchronous_commit``."""
    import psycopg

    with fresh_database(commit) as url, psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, data BYTEA)")
        conn.commit()
        samples = []
        for i in range(n + 20):
            t0 = time.perf_counter_ns()
            conn.execute("INSERT INTO t VALUES (%s, %s)", (f"{i:08d}", payload))
            conn.commit()
            if i >= 20:
                samples.append(time.perf_counter_ns() - t0)
    return float(statistics.median(samples))


def round_trip_ns(n: int = 300) -> float:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        samples = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            conn.execute("SELECT 1").fetchone()
            samples.append(time.perf_counter_ns() - t0)
    return float(statistics.median(samples))


# --- W4 -----------------------------------------------------------------------------------


def w4_opener(commit: str) -> Any:
    """A ``w4.OpenSide`` opening each library's saver on a fresh database."""
    from w4 import W4Side, empty_checkpoint

    def open_side(api: Any, workdir: Path, label: str) -> W4Side:
        stack = contextlib.ExitStack()
        url = stack.enter_context(fresh_database(commit))
        saver = stack.enter_context(open_saver(api.library, url))
        return W4Side(api, saver, empty_checkpoint(api), lambda: stored_bytes(url), stack.close)

    return open_side


# --- scale-out ----------------------------------------------------------------------------


def _worker(library: str, url: str, worker: int, invokes: int, start_at: float) -> float:
    """Invoke W1 ``invokes`` times on threads of its own; the seconds it took from ``start_at``."""
    from workloads import build_linear, check_linear, linear_input, load_api

    api = load_api(library)
    with open_saver(library, url) as saver:
        graph = build_linear(api, saver)
        for i in range(5):  # warm up: connections, caches
            graph.invoke(linear_input(i), {"configurable": {"thread_id": f"warm-{worker}-{i}"}})
        time.sleep(max(0.0, start_at - time.time()))
        for i in range(invokes):
            out = graph.invoke(linear_input(i), {"configurable": {"thread_id": f"w{worker}-{i}"}})
            check_linear(out, i)
        return time.time() - start_at


def scale_out(library: str, k: int, invokes: int) -> float:
    """Invokes per second of ``k`` processes against one fresh database."""
    ctx = multiprocessing.get_context("spawn")
    with fresh_database("on") as url:
        with open_saver(library, url):
            pass  # set up the schema once, before the workers race for it
        start_at = time.time() + 3.0 + k * 0.5
        with ctx.Pool(k) as pool:
            seconds = pool.starmap(
                _worker, [(library, url, w, invokes, start_at) for w in range(k)]
            )
    return k * invokes / max(seconds)


@dataclass
class PgData:
    """PostgreSQL measurements outside the W1/W2/W3 tables."""

    round_trip: float = 0.0
    floors: dict[str, float] = field(default_factory=dict)  # commit setting -> ns
    w4: list[Any] = field(default_factory=list)
    scale: dict[str, dict[int, float]] = field(default_factory=dict)  # label -> K -> invokes/s


def run_extras(apis: Sequence[Any], workdir: Path, payload: bytes, quick: bool) -> PgData:
    """Floors, W4 and scale-out, when every side can reach PostgreSQL."""
    import sys

    from w4 import bench_w4

    data = PgData()
    if any(unavailable(api) for api in apis):
        return data
    data.round_trip = round_trip_ns()
    data.floors = {c: raw_commit_ns(c, payload) for c in COMMIT}
    for commit in COMMIT:
        t0 = time.perf_counter()
        data.w4.append(bench_w4(list(apis), workdir, f"pg {commit}", quick, w4_opener(commit)))
        print(f"  W4 postgres commit={commit}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    invokes = 20 if quick else 100
    for api in apis:
        t0 = time.perf_counter()
        data.scale[api.label] = {k: scale_out(api.library, k, invokes) for k in SCALE_K}
        print(f"  scale-out {api.label}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return data


# --- report -------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _median(samples: Sequence[int]) -> float | None:
    return float(statistics.median(samples)) if samples else None


def _cell(sections: Sequence[Any], key: str, config: str) -> Any:
    for sec in sections:
        for cell in sec.cells:
            if sec.key == key and cell.config.name == config and not cell.skipped:
                return cell
    return None


def step_overhead(sections: Sequence[Any], commit: str, side: int) -> float | None:
    """W1 persistence cost per checkpoint (ns) of one side on PostgreSQL at ``commit``."""
    from floors import CHECKPOINTS_PER_W1_INVOKE

    none, saved = _cell(sections, "W1", "no checkpointer"), _cell(sections, "W1", CONFIG_AT[commit])
    if none is None or saved is None:
        return None
    base, with_saver = _median(none.sides[side].samples), _median(saved.sides[side].samples)
    if base is None or with_saver is None:
        return None
    return (with_saver - base) / CHECKPOINTS_PER_W1_INVOKE


def _invoke_ratio(sections: Sequence[Any], key: str, commit: str) -> float | None:
    cell = _cell(sections, key, CONFIG_AT[commit])
    if cell is None:
        return None
    a, b = (_median(side.samples) for side in cell.sides)
    return a / b if a and b else None


def tables(sections: Sequence[Any], data: PgData) -> list[str]:
    """Markdown: floors and per-step overhead, W4 on PostgreSQL, scale-out."""
    from report import ms
    from w4 import rates

    if not data.floors:
        return []
    labels = [side.api.label for side in data.w4[0].sides] if data.w4 else ["tether", "langgraph"]
    out = [
        "## PostgreSQL: W1 persistence overhead against one raw commit",
        "",
        f"Round trip (`SELECT 1`): {ms(data.round_trip)}. Raw commit: one `INSERT` of a W1 "
        "checkpoint's bytes + `COMMIT`, median of 300, on a fresh database.",
        "",
        "| synchronous_commit | raw INSERT+COMMIT | library | overhead per checkpoint | x raw |",
        "| --- | --- | --- | --- | --- |",
    ]
    for commit, floor in data.floors.items():
        for side, label in enumerate(labels):
            cost = step_overhead(sections, commit, side)
            shown = ("—", "—") if cost is None else (ms(cost), f"{cost / floor:.2f}x")
            out.append(f"| {commit} | {ms(floor)} | {label} | {shown[0]} | {shown[1]} |")
    out += ["", "## W4 on PostgreSQL: saver API alone", ""]
    out += [f"| synchronous_commit | measure | {labels[0]} | {labels[1]} | ratio |"]
    out += ["| --- | --- | --- | --- | --- |"]
    for result in data.w4:
        ra, rb = (rates(side, result) for side in result.sides)
        for key in ("put", "get", "list", "size"):
            a, b = ra[key], rb[key]
            ratio = f"{a / b:.2f}x" if a and b else "—"
            out.append(f"| {result.synchronous} | {key} | {_num(a)} | {_num(b)} | {ratio} |")
    out += ["", "## Scale-out: K processes on distinct threads, one database (W1 invokes/s)", ""]
    out += ["| library | " + " | ".join(f"K={k}" for k in SCALE_K) + " |"]
    out += ["| --- |" + " --- |" * len(SCALE_K)]
    for label, by_k in data.scale.items():
        out.append(f"| {label} | " + " | ".join(f"{by_k[k]:,.0f}" for k in SCALE_K) + " |")
    return [*out, ""]


def target_rows(sections: Sequence[Any], data: PgData, turns: int) -> list[list[str]]:
    """Issue 9's "Done means" lines, measured in this run."""
    from w4 import rates

    rows: list[list[str]] = []

    def row(workload: str, config: str, label: str, value: float | None, ok: bool | None) -> None:
        shown = "not measured" if value is None else f"{value:.3f}"
        status = "—" if ok is None else ("met" if ok else "NOT met")
        rows.append(["9", workload, config, label, shown, status])

    floor = data.floors.get("on")
    cost = step_overhead(sections, "on", 0)
    value = cost / floor if cost is not None and floor else None
    row(
        "W1",
        CONFIG_AT["on"],
        "tether overhead/step ≤ 1.5x raw commit",
        value,
        None if value is None else value <= 1.5,
    )
    for key in ("W1", "W3"):
        on, off = _invoke_ratio(sections, key, "on"), _invoke_ratio(sections, key, "off")
        row(key, CONFIG_AT["on"], "tether/langgraph per invoke ≈ 1/2 (info)", on, None)
        row(
            key,
            CONFIG_AT["off"],
            "tether/langgraph per invoke ≤ 1/3",
            off,
            None if off is None else off <= 1 / 3,
        )
    for result in data.w4:
        ra, rb = (rates(side, result) for side in result.sides)
        for key, label in (("get", "get_tuple"), ("list", "list")):
            v = ra[key] / rb[key] if ra[key] and rb[key] else None
            row("W4", result.synchronous, f"{label}/s ≥ 2x", v, None if v is None else v >= 2)
        commit = result.synchronous.split()[-1]
        put_ns = 1e9 / ra["put"] if ra["put"] else None
        v = put_ns / data.floors[commit] if put_ns and data.floors.get(commit) else None
        row("W4", result.synchronous, "put ≤ 1.5x raw commit", v, None if v is None else v <= 1.5)
    chat = _cell(sections, "W2", CONFIG_AT["on"])
    ratio = None
    if chat is not None:
        a, b = (side.sizes.get(turns) for side in chat.sides)
        ratio = a / b if a and b else None
    row(
        "W2",
        CONFIG_AT["on"],
        f"storage at turn {turns} ≤ 1/20",
        ratio,
        None if ratio is None else ratio <= 1 / 20,
    )
    return rows
