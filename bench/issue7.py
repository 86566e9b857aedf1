"""Issue 7 (storage engine, round two): W4 and floor tables, and its "Done means" targets.

Every target is computed from data measured in this run: W4 rates, W2/W2-add storage growth
and per-turn times, and W1's per-checkpoint persistence overhead against a raw SQLite commit.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from floors import CHECKPOINTS_PER_W1_INVOKE
from report import Section, mb, ms
from runner import CellResult
from w4 import THREADS, W4Result, rates

SQLITE_AT = {"NORMAL": "sqlite, durability=default", "FULL": "sqlite-fsync, durability=default"}
"""The W1/W2 configuration that runs both libraries at each ``synchronous`` setting."""


@dataclass
class Issue7Data:
    w4: list[W4Result] = field(default_factory=list)
    floors: dict[str, float] = field(default_factory=dict)  # synchronous -> raw commit ns
    payload_bytes: int = 0
    scale: list[Any] = field(default_factory=list)  # issue 10's scale-out results
    pg: Any = None  # postgres.PgData: PostgreSQL floors, W4 and scale-out (issue 9)
    redis_floor: Any = None  # issue10.RedisFloor: W1's round trips as no-op scripts


def _cells(sections: Sequence[Section]) -> dict[tuple[str, str], CellResult]:
    return {(s.key, c.config.name): c for s in sections for c in s.cells if not c.skipped}


def _med(values: Sequence[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}/s"


def _x(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}x"


def w4_table(data: Issue7Data) -> list[str]:
    if not data.w4:
        return []
    a, b = data.w4[0].sides[0].api.label, data.w4[0].sides[1].api.label
    first = data.w4[0]
    out = [
        f"## W4: saver API, {THREADS} threads x {first.puts // THREADS} puts, "
        f"{first.gets} get_tuple, {first.lists} list",
        "",
        "`SqliteSaver(sqlite3.connect(path, check_same_thread=False))` for both; rates are calls "
        "(list: checkpoints listed) per second of time spent inside the saver; ratio = "
        f"{a} / {b} (above 1 = {a} faster; for the file, below 1 = smaller).",
        "",
        f"| synchronous | measure | {a} | {b} | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in data.w4:
        ra, rb = (rates(s, result) for s in result.sides)
        for key, label in (("put", "put"), ("get", "get_tuple"), ("list", "listed checkpoints")):
            out.append(
                f"| {result.synchronous} | {label} | {_rate(ra[key])} | {_rate(rb[key])} | "
                f"{_x(ra[key], rb[key])} |"
            )
        size_a, size_b = ra["size"], rb["size"]
        out.append(
            f"| {result.synchronous} | file size | {mb(None if size_a is None else int(size_a))} | "
            f"{mb(None if size_b is None else int(size_b))} | {_x(size_a, size_b)} |"
        )
    floors = [_put_floor(result, b) for result in data.w4 if result.floor_ns]
    errors = [
        f"- failed: {s.api.label} ({r.synchronous}): `{s.error}`"
        for r in data.w4
        for s in r.sides
        if s.error
    ]
    return [*out, "", *floors, *([""] if floors else []), *errors, *([""] if errors else [])]


def _put_floor(result: W4Result, b: str) -> str:
    """A line setting the put target against the floor: the cheapest durable put SQLite does."""
    assert result.floor_ns is not None
    floor_us = result.floor_ns / 1000
    b_put = rates(result.sides[1], result)["put"]
    need = f"{1e6 / (2 * b_put):.1f} us per put" if b_put else "n/a"
    return (
        f"- floor at {result.synchronous}: one raw `INSERT` + `COMMIT` of a W4 checkpoint's "
        f"{result.floor_bytes} bytes in WAL mode takes {floor_us:.1f} us "
        f"({1e6 / floor_us:,.0f}/s); a put at 2x {b}'s rate would take {need}."
    )


def overhead(
    sections: Sequence[Section], data: Issue7Data, synchronous: str, side: int = 0
) -> tuple[float, float] | None:
    """(W1 persistence overhead per checkpoint in ns, that / one raw commit) for one side."""
    cells = _cells(sections)
    none, saved = cells.get(("W1", "no checkpointer")), cells.get(("W1", SQLITE_AT[synchronous]))
    floor = data.floors.get(synchronous)
    if none is None or saved is None or not floor:
        return None
    base, with_saver = _med(none.sides[side].samples), _med(saved.sides[side].samples)
    if base is None or with_saver is None:
        return None
    per_checkpoint = (with_saver - base) / CHECKPOINTS_PER_W1_INVOKE
    return per_checkpoint, per_checkpoint / floor


def floors_table(sections: Sequence[Section], data: Issue7Data) -> list[str]:
    if not data.floors:
        return []
    out = [
        "## Floors: W1 persistence overhead against one raw SQLite commit",
        "",
        f"Raw commit: one `INSERT` of a {data.payload_bytes}-byte checkpoint row + `COMMIT`, WAL "
        "mode, median of 300. Overhead: (W1 median with the SQLite saver - W1 median with no "
        f"checkpointer) / {CHECKPOINTS_PER_W1_INVOKE} checkpoints per invoke, default durability "
        "(LangGraph's async overlaps part of it with the next step).",
        "",
        "| synchronous | raw INSERT+COMMIT | library | overhead per checkpoint | x raw commit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for synchronous, floor in data.floors.items():
        for side in (0, 1):
            found = overhead(sections, data, synchronous, side)
            label = _label(sections, side)
            cost, times = ("—", "—") if found is None else (ms(found[0]), f"{found[1]:.1f}x")
            out.append(f"| {synchronous} | {ms(floor)} | {label} | {cost} | {times} |")
    return [*out, ""]


def _label(sections: Sequence[Section], side: int) -> str:
    for cell in _cells(sections).values():
        return str(cell.sides[side].api.label)
    return ("tether", "langgraph")[side]


def _growth(side_sizes: dict[int, int], size_at: Sequence[int]) -> float | None:
    hi, lo = side_sizes.get(size_at[-1]), side_sizes.get(size_at[1])
    return hi / lo if hi and lo else None


def _turn_growth(samples: Sequence[int]) -> float | None:
    first, last = _med(samples[:50]), _med(samples[-50:])
    return last / first if first and last else None


Row = list[str]


def _row(workload: str, config: str, label: str, value: float | None, ok: bool | None) -> Row:
    shown = "not measured" if value is None else f"{value:.3f}"
    status = "—" if ok is None else ("met" if ok else "NOT met")
    return ["7", workload, config, label, shown, status]


def target_rows(sections: Sequence[Section], data: Issue7Data, size_at: Sequence[int]) -> list[Row]:
    """One row per "Done means" line of issue 7 (value = the measured quantity)."""
    cells = _cells(sections)
    rows: list[Row] = []
    span = f"{size_at[-1]}/{size_at[1]}"
    for config in ("sqlite, durability=default", "memory, durability=default"):
        cell = cells.get(("W2-add", config))
        growth = ratio = None
        if cell is not None:
            growth = _growth(cell.sides[0].sizes, size_at)
            a, b = (s.sizes.get(size_at[-1]) for s in cell.sides)
            ratio = a / b if a and b else None
        rows.append(
            _row("W2-add", config, f"tether storage {span} ≤ 3.5", growth, _le(growth, 3.5))
        )
        rows.append(
            _row("W2-add", config, f"size at turn {size_at[-1]} ≤ 1/20", ratio, _le(ratio, 1 / 20))
        )
    for result in data.w4:
        ra, rb = (rates(s, result) for s in result.sides)
        info = "" if result.synchronous == "NORMAL" else " (info)"
        for key, label in (("put", "put"), ("get", "get_tuple"), ("list", "list")):
            value = ra[key] / rb[key] if ra[key] and rb[key] else None
            ok = None if info else _ge(value, 2.0)
            rows.append(
                _row("W4", f"sqlite {result.synchronous}", f"{label}/s ≥ 2x{info}", value, ok)
            )
        size = ra["size"] / rb["size"] if ra["size"] and rb["size"] else None
        ok = None if info else _le(size, 1.0)
        rows.append(_row("W4", f"sqlite {result.synchronous}", f"file size ≤ 1x{info}", size, ok))
    for synchronous in data.floors:
        found = overhead(sections, data, synchronous)
        value = None if found is None else found[1]
        info = "" if synchronous == "NORMAL" else " (info)"
        ok = None if info else _le(value, 3.0)
        rows.append(
            _row("W1", SQLITE_AT[synchronous], f"overhead/step ≤ 3x raw commit{info}", value, ok)
        )
    for key, merge in (("W2", "add_messages, LangChain messages"), ("W2-add", "operator.add")):
        for config in ("sqlite, durability=default", "memory, durability=default"):
            cell = cells.get((key, config))
            value = None if cell is None else _turn_growth(cell.sides[0].samples)
            label = f"tether last 50 / first 50 ≤ 1.5 ({merge})"
            rows.append(_row(key, config, label, value, _le(value, 1.5)))
    rows.append(
        ["7", "—", "make test", "0 skipped for missing langchain-core", "see `make test`", "—"]
    )
    return rows


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _ge(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit
