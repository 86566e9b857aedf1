"""Timing machinery: interleaved rounds over the two libraries, per-call samples, statistics.

Each side (one library under one configuration) gets its own saver and compiled graph. Warm-up
calls run first and are discarded. Measured calls then run in rounds whose side order alternates
(A B, B A, A B, ...), so slow drifts of the machine hit both libraries alike. Every measured call
is timed alone with ``time.perf_counter_ns`` around the library call; output checks run outside
the timed region. A side that raises is marked failed and skipped from then on; the other side
still runs.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from configs import Config, OpenSaver
from workloads import Api, build_chat, chat_input, check_chat


def median_ns(samples: Sequence[int]) -> float:
    return float(statistics.median(samples))


def p90_ns(samples: Sequence[int]) -> float:
    """90th percentile by nearest rank."""
    ordered = sorted(samples)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


@dataclass
class Side:
    """One library under one configuration: its graph, saver and collected measurements."""

    api: Api
    opened: OpenSaver
    graph: Any = None
    error: str | None = None
    samples: list[int] = field(default_factory=list)
    sizes: dict[int, int] = field(default_factory=dict)
    extra: dict[str, list[int]] = field(default_factory=dict)

    def fail(self, what: str, exc: BaseException) -> None:
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
        self.error = f"{what}: {type(exc).__name__}: {exc}{where}"


@dataclass
class CellResult:
    """One workload under one configuration, for every side (or why it was skipped)."""

    config: Config
    sides: list[Side] = field(default_factory=list)
    skipped: str | None = None


def open_sides(
    stack: ExitStack, apis: list[Api], config: Config, build: Callable[..., Any], workdir: Path
) -> list[Side]:
    """Open a saver and compile the graph for each api; failures are recorded on the side."""
    sides = []
    for api in apis:
        side = Side(api, OpenSaver(None))
        try:
            side.opened = stack.enter_context(config.backend.opener(api, workdir))
            side.graph = build(api, side.opened.saver)
        except Exception as exc:
            side.fail("setup", exc)
        sides.append(side)
    return sides


def alternating(sides: list[Side], rounds: int) -> Iterator[tuple[int, Side]]:
    """Yield (round, side) for ``rounds`` rounds, reversing the side order every other round."""
    for r in range(rounds):
        for side in sides if r % 2 == 0 else reversed(sides):
            yield r, side


def timed(side: Side, what: str, call: Callable[[], Any]) -> tuple[int, Any] | None:
    """Run ``call`` on a healthy side and return (elapsed ns, result); None if it failed."""
    if side.error is not None:
        return None
    try:
        t0 = time.perf_counter_ns()
        out = call()
        elapsed = time.perf_counter_ns() - t0
    except Exception as exc:
        side.fail(what, exc)
        return None
    return elapsed, out


def checked(side: Side, what: str, check: Callable[[], None]) -> None:
    try:
        check()
    except Exception as exc:
        side.fail(what, exc)


@dataclass(frozen=True)
class InvokeWorkload:
    """A workload of independent invokes, each on a new thread id (W1, W3)."""

    key: str
    title: str
    build: Callable[[Api, Any], Any]
    make_input: Callable[[int], dict[str, Any]]
    check: Callable[[Any, int], None]
    invokes: int


def _invoke_once(side: Side, wl: InvokeWorkload, cfg: Config, thread: str, i: int) -> int | None:
    config = {"configurable": {"thread_id": thread}}
    kwargs = cfg.invoke_kwargs()
    got = timed(
        side, f"invoke {thread}", lambda: side.graph.invoke(wl.make_input(i), config, **kwargs)
    )
    if got is None:
        return None
    checked(side, f"check {thread}", lambda: wl.check(got[1], i))
    return got[0]


def bench_invokes(
    wl: InvokeWorkload, cfg: Config, apis: list[Api], workdir: Path, *, warmup: int, rounds: int
) -> CellResult:
    """Time ``wl.invokes`` invokes per side, split over alternating rounds, after warm-up."""
    result = CellResult(cfg)
    with ExitStack() as stack:
        result.sides = open_sides(stack, apis, cfg, wl.build, workdir)
        for side in result.sides:
            for i in range(warmup):
                _invoke_once(side, wl, cfg, f"{wl.key}-warm-{i}", i)
        per_round = math.ceil(wl.invokes / rounds)
        for r, side in alternating(result.sides, rounds):
            gc.collect()
            for i in range(r * per_round, min(wl.invokes, (r + 1) * per_round)):
                ns = _invoke_once(side, wl, cfg, f"{wl.key}-{i}", i)
                if ns is not None:
                    side.samples.append(ns)
    return result


@dataclass(frozen=True)
class ChatWorkload:
    """A conversation on one thread (W2, W2-add): how to build it, each turn's input, a check."""

    key: str
    title: str
    build: Callable[[Api, Any], Any] = build_chat
    make_input: Callable[[int], dict[str, Any]] = chat_input
    check: Callable[[Any, int], None] = check_chat


W2_CHAT = ChatWorkload("W2", "conversation on one thread (add_messages)")


@dataclass(frozen=True)
class ChatPlan:
    """W2 parameters: turns, where to record storage size, read repetitions."""

    turns: int = 300
    warmup_turns: int = 5
    size_at: tuple[int, ...] = (50, 100, 200, 300)
    get_state_reps: int = 5
    history_reps: int = 2


def _chat_turn(
    side: Side, cfg: Config, thread: str, turn: int, wl: ChatWorkload = W2_CHAT
) -> int | None:
    config = {"configurable": {"thread_id": thread}}
    kwargs = cfg.invoke_kwargs()
    got = timed(
        side, f"turn {turn}", lambda: side.graph.invoke(wl.make_input(turn), config, **kwargs)
    )
    if got is None:
        return None
    checked(side, f"check turn {turn}", lambda: wl.check(got[1], turn))
    return got[0]


def _chat_warmup(
    side: Side, cfg: Config, workdir: Path, turns: int, wl: ChatWorkload = W2_CHAT
) -> None:
    """Run a few turns on a throwaway saver of the same backend, so sizes stay exact."""
    if side.error is not None or turns <= 0:
        return
    try:
        with cfg.backend.opener(side.api, workdir) as opened:
            warm = Side(side.api, opened, wl.build(side.api, opened.saver))
            for turn in range(turns):
                _chat_turn(warm, cfg, "w2-warm", turn, wl)
    except Exception as exc:
        side.fail("warm-up", exc)
        return
    if warm.error is not None:
        side.error = f"warm-up: {warm.error}"


def _count_history(graph: Any, config: dict[str, Any]) -> int:
    return sum(1 for _ in graph.get_state_history(config))


def _chat_reads(sides: list[Side], plan: ChatPlan) -> None:
    config = {"configurable": {"thread_id": "w2-chat"}}
    sides = [side for side in sides if side.graph is not None]  # a side that failed setup
    for _, side in alternating(sides, plan.get_state_reps):
        got = timed(side, "get_state", partial(side.graph.get_state, config))
        if got is not None:
            side.extra.setdefault("get_state", []).append(got[0])
    for _, side in alternating(sides, plan.history_reps):
        gc.collect()
        hist = timed(side, "get_state_history", partial(_count_history, side.graph, config))
        if hist is not None:
            side.extra.setdefault("history", []).append(hist[0])
            side.extra["history_len"] = [hist[1]]


def bench_chat(
    cfg: Config, apis: list[Api], workdir: Path, plan: ChatPlan, wl: ChatWorkload = W2_CHAT
) -> CellResult:
    """One conversation thread per side, turns interleaved A B / B A, then reads at the end."""
    result = CellResult(cfg)
    with ExitStack() as stack:
        result.sides = open_sides(stack, apis, cfg, wl.build, workdir)
        for side in result.sides:
            _chat_warmup(side, cfg, workdir, plan.warmup_turns, wl)
        for turn, side in alternating(result.sides, plan.turns):
            ns = _chat_turn(side, cfg, "w2-chat", turn, wl)
            if ns is None:
                continue
            side.samples.append(ns)
            if turn + 1 in plan.size_at and side.opened.size is not None:
                side.sizes[turn + 1] = side.opened.size()
        _chat_reads(result.sides, plan)
    return result
