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

from configs import Config, build_configs, unavailable
from environment import describe, versions
from report import Section, chat_tables, failures, invoke_table, summary, targets_table
from runner import CellResult, ChatPlan, InvokeWorkload, bench_chat, bench_invokes
from workloads import (
    Api,
    build_fanout,
    build_linear,
    check_fanout,
    check_linear,
    fanout_input,
    linear_input,
    load_api,
)

REPO = Path(__file__).resolve().parent.parent
W1 = InvokeWorkload("W1", "10-node linear graph", build_linear, linear_input, check_linear, 200)
W3 = InvokeWorkload(
    "W3", "fan-out to 8 parallel nodes + join", build_fanout, fanout_input, check_fanout, 100
)


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
    p.add_argument("--only", default="W1,W2,W3", help="comma-separated workloads to run")
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
) -> tuple[list[Section], ChatPlan]:
    """Run the selected workloads over every configuration, in the order W1, W2, W3."""
    configs = build_configs(with_sync=not args.no_sync)
    only = {w.strip().upper() for w in args.only.split(",")}
    plan = ChatPlan(turns=60, size_at=(10, 20, 40, 60)) if args.quick else ChatPlan()
    sections = []
    for key in ("W1", "W2", "W3"):
        if key not in only:
            continue
        if key == "W2":
            durable = [c for c in configs if c.backend.name != "none" and c.durability is None]
            cells = _run_cells(key, durable, apis, lambda c: bench_chat(c, apis, workdir, plan))
            sections.append(Section(key, f"{plan.turns}-turn conversation on one thread", cells))
            continue
        wl = _scaled(W1 if key == "W1" else W3, args.quick)

        def run(cfg: Config, wl: InvokeWorkload = wl) -> CellResult:
            return bench_invokes(wl, cfg, apis, workdir, warmup=args.warmup, rounds=args.rounds)

        cells = _run_cells(key, configs, apis, run)
        sections.append(Section(key, f"{wl.title}, {wl.invokes} invokes", cells))
    return sections, plan


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
- SQLite: `sqlite` rows use each saver as it comes (tether: WAL with `synchronous=NORMAL`,
  durable against a killed process, not against power loss; LangGraph: WAL with SQLite's default
  `synchronous=FULL`, a disk sync per commit). `sqlite-fsync` rows give tether
  `synchronous="FULL"` too, so both sync to disk on every commit.
- Storage size: in-memory savers: total length of the bytes objects held in the saver's
  containers (serialized checkpoints, blobs and writes); SQLite: `page_count * page_size` of the
  database file as a fresh connection sees it (WAL included).
- Target from the issue: for W1 and W3, with no checkpointer and with the in-memory saver
  (default durability), {a}'s per-invoke median is at most 1/3 of LangGraph's.
"""


def render(
    args: argparse.Namespace,
    apis: list[Api],
    sections: list[Section],
    plan: ChatPlan,
    elapsed: float,
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
    lines += ["", *targets_table(sections)]
    for sec in sections:
        lines += [f"## {sec.key}: {sec.title}", ""]
        if sec.key == "W2":
            lines += chat_tables(sec, plan.size_at)
        else:
            lines += invoke_table(sec)
    lines += failures(sections)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    apis = load_apis(args.self_test)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:
        sections, plan = run_all(args, apis, Path(tmp))
    elapsed = time.perf_counter() - t0
    text = render(args, apis, sections, plan, elapsed)
    if args.out:
        args.out.write_text(text)
    print("\n".join(summary(sections)))
    print(f"total {elapsed:.0f} s" + (f"; report written to {args.out}" if args.out else ""))
    return 1 if any(s.error for sec in sections for c in sec.cells for s in c.sides) else 0


if __name__ == "__main__":
    sys.exit(main())
