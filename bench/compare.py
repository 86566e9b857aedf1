"""Side-by-side benchmark of tether against LangGraph, in one process run.

Usage (from the repo root, in the bench venv that ``make bench`` creates)::

    .venv-bench/bin/python bench/compare.py --out bench/RESULTS.md   # what `make bench` runs
    .venv-bench/bin/python bench/compare.py --self-test --quick        # harness check, no tether

``--self-test`` runs LangGraph against itself (the "tether" side is LangGraph too): every ratio
should come out near 1.0, which checks the harness and shows the noise floor of this machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from configs import Config, build_configs, unavailable
from environment import describe, versions
from floors import raw_commit_ns, w1_checkpoint_bytes
from issue7 import Issue7Data, floors_table, target_rows, w4_table
from issue10 import bench_scaleout, expected_failure, scale_table
from issue10 import floor_table as redis_floor_table
from issue10 import measure_floor as measure_redis_floor
from issue10 import target_rows as redis_target_rows
from report import Section, chat_tables, failures, invoke_table, summary, targets_table
from runner import (
    W2_CHAT,
    CellResult,
    ChatPlan,
    ChatWorkload,
    InvokeWorkload,
    bench_chat,
    bench_invokes,
)
from stores import bench_stores
from w4 import bench_w4, measure_floor
from workloads import (
    Api,
    build_chat_append,
    build_fanout,
    build_linear,
    chat_append_input,
    check_chat,
    check_fanout,
    check_linear,
    fanout_input,
    linear_input,
    load_api,
)

import postgres

REPO = Path(__file__).resolve().parent.parent
W1 = InvokeWorkload("W1", "10-node linear graph", build_linear, linear_input, check_linear, 200)
W3 = InvokeWorkload(
    "W3", "fan-out to 8 parallel nodes + join", build_fanout, fanout_input, check_fanout, 100
)
W2_ADD = ChatWorkload(
    "W2-add",
    "conversation on one thread, invoke({'messages': []}) + operator.add",
    build_chat_append,
    chat_append_input,
    check_chat,
)
CHATS = {"W2": W2_CHAT, "W2-ADD": W2_ADD}
WORKLOADS = ("W1", "W2", "W2-ADD", "W3", "W4", "SCALE", "PG")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--out", type=Path, help="write the Markdown report here (e.g. bench/RESULTS.md)"
    )
    p.add_argument(
        "--self-test",
        action="store_true",
        help="run LangGraph against itself (no tether needed); ratios should be ~1.0",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fifth of the invokes and turns, for checking the harness",
    )
    p.add_argument("--no-sync", action="store_true", help="skip the durability='sync' rows")
    p.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads to run")
    p.add_argument("--rounds", type=int, default=6, help="alternating rounds for W1/W3")
    p.add_argument("--warmup", type=int, default=10, help="warm-up invokes per side for W1/W3")
    return p.parse_args(argv)


def load_apis(self_test: bool) -> list[Api]:
    """[candidate, baseline]: tether and LangGraph, or LangGraph twice for --self-test."""
    if self_test:
        return [load_api("langgraph", label="langgraph-as-tether"), load_api("langgraph")]
    try:
        candidate = load_api("tether")
    except ImportError as exc:
        sys.exit(
            f"tether's graph API does not import yet ({type(exc).__name__}: {exc}).\n"
            "Check the harness meanwhile with: "
            ".venv-bench/bin/python bench/compare.py --self-test --quick"
        )
    return [candidate, load_api("langgraph")]


def _scaled(wl: InvokeWorkload, quick: bool) -> InvokeWorkload:
    if not quick:
        return wl
    return InvokeWorkload(wl.key, wl.title, wl.build, wl.make_input, wl.check, wl.invokes // 5)


def _run_cells(
    key: str, configs: Sequence[Config], apis: list[Api], run: Callable[[Config], CellResult]
) -> list[CellResult]:
    cells = []
    for cfg in configs:
        why = unavailable(cfg, apis)
        if why:
            cells.append(CellResult(cfg, skipped=why))
            continue
        t0 = time.perf_counter()
        cells.append(run(cfg))
        print(f"  {key} {cfg.name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return cells


def run_all(
    args: argparse.Namespace, apis: list[Api], workdir: Path
) -> tuple[list[Section], ChatPlan, Issue7Data]:
    """Run the selected workloads over every configuration, in the order of ``WORKLOADS``."""
    configs = build_configs(with_sync=not args.no_sync)
    only = {w.strip().upper() for w in args.only.split(",")}
    plan = ChatPlan(turns=60, size_at=(10, 20, 40, 60)) if args.quick else ChatPlan()
    sections = []
    extra = Issue7Data()
    for key in WORKLOADS:
        if key not in only:
            continue
        if key in CHATS:
            wl = CHATS[key]
            durable = [c for c in configs if c.backend.name != "none" and c.durability is None]

            def chat(c: Config, wl: ChatWorkload = wl) -> CellResult:
                return bench_chat(c, apis, workdir, plan, wl)

            cells = _run_cells(wl.key, durable, apis, chat)
            sections.append(Section(wl.key, f"{plan.turns}-turn {wl.title}", cells))
            continue
        if key == "W4":
            extra.w4 = _run_w4(apis, workdir, args.quick)
            continue
        if key == "SCALE":
            if apis[0].RedisSaver is not None and not args.self_test:
                t0 = time.perf_counter()
                extra.scale = bench_scaleout(args.quick)
                print(f"  scale-out: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            continue
        if key == "PG":
            extra.pg = postgres.run_extras(apis, workdir, w1_checkpoint_bytes(), args.quick)
            continue
        invokes = _scaled(W1 if key == "W1" else W3, args.quick)

        def run(cfg: Config, wl: InvokeWorkload = invokes) -> CellResult:
            return bench_invokes(wl, cfg, apis, workdir, warmup=args.warmup, rounds=args.rounds)

        cells = _run_cells(key, configs, apis, run)
        sections.append(Section(key, f"{invokes.title}, {invokes.invokes} invokes", cells))
        if key == "W1":
            payload = w1_checkpoint_bytes()
            extra.payload_bytes = len(payload)
            extra.floors = {s: raw_commit_ns(workdir, s, payload) for s in ("NORMAL", "FULL")}
            if not args.self_test and any(c.backend.name == "redis" for c in configs):
                extra.redis_floor = measure_redis_floor(apis[0])
    return sections, plan, extra


def _run_w4(apis: list[Api], workdir: Path, quick: bool) -> list[Any]:
    if any(api.SqliteSaver is None for api in apis):
        print("  W4 skipped: a side has no SqliteSaver", file=sys.stderr)
        return []
    results = []
    for synchronous in ("NORMAL", "FULL"):
        t0 = time.perf_counter()
        results.append(bench_w4(apis, workdir, synchronous, quick))
        measure_floor(results[-1], workdir)
        print(f"  W4 synchronous={synchronous}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return results


METHOD = """\
- Each workload is written once (bench/workloads.py) against an API object holding
  `StateGraph`, `START`, `END`, `MessagesState`/`add_messages` and the saver classes; the same
  code runs on {a} and {b} in the same process.
- Every configuration gives each library its own saver (a fresh SQLite file per library for
  SQLite) and its own compiled graph; compile time is not measured.
- W1/W3: {warmup} warm-up invokes per library (excluded), then the measured invokes split over
  {rounds} rounds whose library order alternates (A B, B A, ...); every invoke uses a new
  `thread_id`. W2: 5 warm-up turns on a throwaway saver, then the two conversations advance turn
  by turn, alternating which library goes first; storage sizes are taken between turns (untimed).
- Each call is timed alone with `time.perf_counter_ns()`; output checks run outside the timed
  region; the garbage collector stays on (`gc.collect()` between batches). Tables show the median
  and the p90 (nearest rank) of all measured calls; ratio = {a} / {b} (below 1 = {a} faster).
- Durability: rows marked `durability=default` pass no `durability` argument, i.e. each library's
  own default: LangGraph's is `"async"` (the checkpoint write overlaps the next step and invoke
  returns after the last write finishes); tether's is `"sync"` (a step is stored before the
  next starts, so a crash never repeats a finished node). Rows marked `durability=sync` pass
  `durability="sync"` to both.
- SQLite: both libraries in WAL mode at the same `synchronous` setting. `sqlite` rows: NORMAL
  (tether's default, durable against a killed process, not against power loss; LangGraph's
  connection gets `PRAGMA synchronous=NORMAL`, its default being FULL). `sqlite-fsync` rows:
  FULL for both, a disk sync on every commit. W4 sets the pragma on the connection it passes to
  `SqliteSaver(conn)`, for both, at NORMAL and at FULL.
- Floors: one raw `INSERT` + `COMMIT` of a W1 checkpoint's bytes at each setting (median of
  300), measured right after W1; W1's persistence overhead per checkpoint is reported as a
  multiple of it.
- Storage size: in-memory savers: total length of the bytes objects held in the saver's
  containers (serialized checkpoints, blobs and writes); SQLite: `page_count * page_size` of the
  database file as a fresh connection sees it (WAL included).
- Targets: every goal set by an issue, computed from this run (see the Targets table); rows
  marked "(info)" are reported, not judged.
"""


def all_targets(sections: list[Section], extra: Issue7Data, plan: ChatPlan) -> list[Any]:
    """Issue 7's targets, then issue 10's (Redis), then issue 9's (PostgreSQL) when measured."""
    rows = target_rows(sections, extra, plan.size_at) + redis_target_rows(sections, plan.size_at)
    if extra.pg is not None:
        rows += postgres.target_rows(sections, extra.pg, plan.size_at[-1])
    return rows


def render(
    args: argparse.Namespace,
    apis: list[Api],
    sections: list[Section],
    plan: ChatPlan,
    elapsed: float,
    extra: Issue7Data,
    store_lines: list[str] | None = None,
) -> str:
    a, b = apis[0].label, apis[1].label
    lines = [
        "# tether vs LangGraph: benchmark results",
        "",
        "Generated by `bench/compare.py` (`make bench`); do not edit by hand.",
        "",
    ]
    if args.self_test:
        lines += [
            "> **SELF-TEST**: both sides are LangGraph; ratios only show the harness's noise.",
            "",
        ]
    if args.quick:
        lines += [
            "> **QUICK RUN**: a fifth of the workload sizes; not comparable to a full run.",
            "",
        ]
    lines += ["## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in describe(REPO).items()]
    lines += [f"- bench run time: {elapsed:.0f} s", "", "## Package versions", ""]
    lines += [f"- {k}: {v}" for k, v in versions().items()]
    lines += ["", "## Method", "", METHOD.format(a=a, b=b, warmup=args.warmup, rounds=args.rounds)]
    lines += ["", *targets_table(sections, all_targets(sections, extra, plan))]
    for sec in sections:
        lines += [f"## {sec.key}: {sec.title}", ""]
        if sec.key in ("W2", "W2-add"):
            lines += chat_tables(sec, plan.size_at)
        else:
            lines += invoke_table(sec)
    lines += floors_table(sections, extra)
    lines += redis_floor_table(sections, extra.redis_floor)
    lines += w4_table(extra)
    lines += store_lines or []
    lines += scale_table(extra.scale)
    lines += postgres.tables(sections, extra.pg) if extra.pg else []
    lines += failures(sections)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    apis = load_apis(args.self_test)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:
        sections, plan, extra = run_all(args, apis, Path(tmp))
        store_lines = [] if args.self_test else bench_stores(Path(tmp), quick=args.quick)
    elapsed = time.perf_counter() - t0
    text = render(args, apis, sections, plan, elapsed, extra, store_lines)
    if args.out:
        args.out.write_text(text)
    print("\n".join(summary(sections)))
    print("\n".join(" | ".join(row[1:]) for row in all_targets(sections, extra, plan)))
    print(f"total {elapsed:.0f} s" + (f"; report written to {args.out}" if args.out else ""))
    failed = any(
        s.error and not expected_failure(c, s)
        for sec in sections
        for c in sec.cells
        for s in c.sides
    )
    failed = failed or any(s.error for r in extra.w4 for s in r.sides)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
