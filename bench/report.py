"""Render benchmark results as RESULTS.md tables and a short stdout summary.

Side 0 of every ``CellResult`` is tether (the candidate), side 1 is LangGraph (the baseline);
every ratio is candidate / baseline, so below 1.0 means tether is faster or smaller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runner import CellResult, Side, median_ns, p90_ns

TARGET_RATIO = 1 / 3
TARGET_WORKLOADS = ("W1", "W3")
TARGET_CONFIGS = ("no checkpointer", "memory, durability=default")


@dataclass
class Section:
    key: str
    title: str
    cells: list[CellResult]


def ms(ns: float | None) -> str:
    if ns is None:
        return "—"
    return f"{ns / 1e9:.2f} s" if ns >= 1e9 else f"{ns / 1e6:.3f} ms"


def mb(n: int | None) -> str:
    return "—" if n is None else f"{n / 1e6:.2f} MB"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}x"


def _med(values: Sequence[int]) -> float | None:
    return median_ns(values) if values else None


def _p90(values: Sequence[int]) -> float | None:
    return p90_ns(values) if values else None


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def target_status(key: str, cell: CellResult) -> str:
    """ "met" / "NOT met" for the issue's target rows, "—" elsewhere."""
    if key not in TARGET_WORKLOADS or cell.config.name not in TARGET_CONFIGS:
        return "—"
    a, b = (_med(s.samples) for s in cell.sides)
    if a is None or b is None:
        return "not measured"
    return "met" if a <= TARGET_RATIO * b else "NOT met"


def _cell_or_error(side: Side, value: str) -> str:
    return "error" if side.error and value == "—" else value


def invoke_table(section: Section) -> list[str]:
    """W1/W3: per-invoke median and p90 of each side, their ratios and the target."""
    a_label, b_label = _labels(section.cells)
    header = [
        "configuration",
        f"{a_label} median",
        f"{b_label} median",
        "ratio",
        f"{a_label} p90",
        f"{b_label} p90",
        "p90 ratio",
        "n",
        "target ≤ 1/3",
    ]
    rows = []
    for cell in section.cells:
        if cell.skipped:
            rows.append([cell.config.name, "skipped (see below)", *["—"] * 7])
            continue
        a, b = cell.sides
        am, bm, ap, bp = _med(a.samples), _med(b.samples), _p90(a.samples), _p90(b.samples)
        rows.append(
            [
                cell.config.name,
                _cell_or_error(a, ms(am)),
                _cell_or_error(b, ms(bm)),
                ratio(am, bm),
                _cell_or_error(a, ms(ap)),
                _cell_or_error(b, ms(bp)),
                ratio(ap, bp),
                f"{len(a.samples)} / {len(b.samples)}",
                target_status(section.key, cell),
            ]
        )
    return _table(header, rows) + skipped_notes(section.cells)


def skipped_notes(cells: Sequence[CellResult]) -> list[str]:
    """One line per distinct skip reason, naming the configurations it applies to."""
    by_reason: dict[str, list[str]] = {}
    for cell in cells:
        if cell.skipped:
            by_reason.setdefault(cell.skipped, []).append(cell.config.name)
    lines = [f"- skipped {'; '.join(names)}: {why}" for why, names in by_reason.items()]
    return [*lines, ""] if lines else []


def _labels(cells: Sequence[CellResult]) -> tuple[str, str]:
    for cell in cells:
        if cell.sides:
            return cell.sides[0].api.label, cell.sides[1].api.label
    return "tether", "langgraph"


def _turn_times(cells: Sequence[CellResult], a: str, b: str) -> list[str]:
    header = ["configuration", f"{a} median", f"{b} median", "ratio", f"{a} p90", f"{b} p90"]
    header += [f"{a} first 50 → last 50 (median)", f"{b} first 50 → last 50 (median)"]
    rows = []
    for cell in cells:
        meds = [_med(s.samples) for s in cell.sides]
        row = [cell.config.name, *map(ms, meds), ratio(*meds)]
        row += [ms(_p90(s.samples)) for s in cell.sides]
        row += [f"{ms(_med(s.samples[:50]))} → {ms(_med(s.samples[-50:]))}" for s in cell.sides]
        rows.append(row)
    return _table(header, rows)


def _sizes(cells: Sequence[CellResult], size_at: Sequence[int]) -> list[str]:
    rows = []
    for cell in cells:
        for side in cell.sides:
            if side.opened.size is not None:
                sized = [mb(side.sizes.get(t)) for t in size_at]
                rows.append([cell.config.name, side.api.label, *sized, _growth(side)])
    return _table(["configuration", "library", *(f"turn {t}" for t in size_at), "300/100"], rows)


def _reads(cells: Sequence[CellResult], a: str, b: str) -> list[str]:
    header = ["configuration", f"{a} get_state", f"{b} get_state", "ratio"]
    header += [f"{a} history", f"{b} history", "ratio"]
    rows = []
    for cell in cells:
        gets = [_med(s.extra.get("get_state", [])) for s in cell.sides]
        hist = [_med(s.extra.get("history", [])) for s in cell.sides]
        count = [s.extra.get("history_len", ["?"])[0] for s in cell.sides]
        row = [cell.config.name, *map(ms, gets), ratio(*gets)]
        row += [f"{ms(h)} ({n})" for h, n in zip(hist, count, strict=True)] + [ratio(*hist)]
        rows.append(row)
    return _table(header, rows)


def chat_tables(section: Section, size_at: Sequence[int]) -> list[str]:
    """W2: per-turn times, storage growth, and reads at the last turn."""
    a, b = _labels(section.cells)
    live = [c for c in section.cells if not c.skipped]
    out = ["Per-turn invoke time (one user message in, one assistant message out):", ""]
    out += _turn_times(live, a, b)
    out += ["Storage size as the conversation grows (300/100: ≈ 3 if linear, ≈ 9 if quadratic):"]
    out += ["", *_sizes(live, size_at)]
    out += [
        f"Reads after turn {max(size_at)} (get_state: median of repeats; history: full "
        "iteration, median of repeats, snapshot count in parentheses):",
        "",
    ]
    out += _reads(live, a, b)
    out += skipped_notes(section.cells)[:-1]
    out += [
        "- no checkpointer: not applicable (a conversation on a thread needs a saver).",
        "- durability=sync: not run for W2 (it does not change what is stored, and the "
        "300-turn history reads would double the bench's run time).",
        "",
    ]
    return out


def _growth(side: Side) -> str:
    hi, lo = side.sizes.get(300), side.sizes.get(100)
    return f"{hi / lo:.1f}" if hi and lo else "—"


def failures(sections: Sequence[Section]) -> list[str]:
    lines = []
    for sec in sections:
        for cell in sec.cells:
            for side in cell.sides:
                if side.error:
                    lines.append(
                        f"- {sec.key}, {cell.config.name}, {side.api.label}: `{side.error}`"
                    )
    return ["## Failures", "", *lines, ""] if lines else []


def summary(sections: Sequence[Section]) -> list[str]:
    """A few lines for stdout: medians, ratios and target status per cell."""
    lines = []
    for sec in sections:
        for cell in sec.cells:
            if cell.skipped:
                lines.append(f"{sec.key} {cell.config.name}: skipped ({cell.skipped})")
                continue
            a, b = cell.sides
            am, bm = _med(a.samples), _med(b.samples)
            line = (
                f"{sec.key} {cell.config.name}: {a.api.label} {ms(am)} vs "
                f"{b.api.label} {ms(bm)} -> {ratio(am, bm)}"
            )
            status = target_status(sec.key, cell)
            if status != "—":
                line += f" (target ≤ 1/3: {status})"
            sizes = [f"{s.api.label} {mb(s.sizes[max(s.sizes)])}" for s in cell.sides if s.sizes]
            if sizes:
                line += f"; size at last turn: {', '.join(sizes)}"
            errors = [s.api.label for s in cell.sides if s.error]
            if errors:
                line += f" [FAILED: {', '.join(errors)}; see report]"
            lines.append(line)
    return lines


@dataclass(frozen=True)
class Target:
    """One goal an issue sets: the measured ratio of a cell must stay at or under ``limit``."""

    issue: str
    workload: str
    config: str
    measure: str  # "invoke", "size", "get_state" or "history"
    limit: float
    label: str


TARGETS = (
    Target("core", "W1", "no checkpointer", "invoke", 1 / 3, "per-invoke median ≤ 1/3"),
    Target("core", "W1", "memory, durability=default", "invoke", 1 / 3, "per-invoke median ≤ 1/3"),
    Target("core", "W3", "no checkpointer", "invoke", 1 / 3, "per-invoke median ≤ 1/3"),
    Target("core", "W3", "memory, durability=default", "invoke", 1 / 3, "per-invoke median ≤ 1/3"),
    Target(
        "sqlite", "W1", "sqlite, durability=default", "invoke", 1 / 3, "per-invoke median ≤ 1/3"
    ),
    Target(
        "sqlite", "W2", "sqlite, durability=default", "size", 1 / 20, "file size at turn 300 ≤ 1/20"
    ),
    Target(
        "sqlite",
        "W2",
        "sqlite, durability=default",
        "get_state",
        1.0,
        "get_state at turn 300 no slower",
    ),
    Target(
        "sqlite",
        "W2",
        "sqlite, durability=default",
        "history",
        1.0,
        "full history iteration no slower",
    ),
)


def _measure(cell: CellResult, measure: str) -> tuple[float, float] | None:
    if cell.skipped or len(cell.sides) != 2:
        return None
    if measure == "invoke":
        values = [_med(s.samples) for s in cell.sides]
    elif measure == "size":
        values = [s.sizes.get(max(s.sizes)) if s.sizes else None for s in cell.sides]
    else:
        values = [_med(s.extra.get(measure, [])) for s in cell.sides]
    a, b = values
    return None if a is None or not b else (float(a), float(b))


def targets_table(sections: Sequence[Section], extra: Sequence[Sequence[str]] = ()) -> list[str]:
    """Every issue target with the measured ratio and whether it is met; ``extra``: rows other
    modules compute (issue, workload, configuration, target, value, status)."""
    cells = {(sec.key, cell.config.name): cell for sec in sections for cell in sec.cells}
    rows = []
    for t in TARGETS:
        cell = cells.get((t.workload, t.config))
        found = _measure(cell, t.measure) if cell is not None else None
        if found is None:
            rows.append([t.issue, t.workload, t.config, t.label, "not measured", "—"])
            continue
        a, b = found
        rows.append(
            [
                t.issue,
                t.workload,
                t.config,
                t.label,
                f"{a / b:.3f}",
                "met" if a <= t.limit * b else "NOT met",
            ]
        )
    rows += [list(r) for r in extra]
    header = [
        "issue",
        "workload",
        "configuration",
        "target (tether / langgraph unless said)",
        "measured",
        "status",
    ]
    return ["## Targets", "", *_table(header, rows)]
