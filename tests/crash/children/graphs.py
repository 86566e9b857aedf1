"""Graphs the crash scenarios run, and the file helpers their nodes use.

Shared by the child scripts (imported as ``graphs``, their own folder is on ``sys.path``) and by
the test process (imported as ``crash.children.graphs``) which rebuilds the same graph to read
the state the children left. Nodes report what they did by appending a line to a counter file;
they coordinate with the test through marker files in a work folder. Every wait is bounded.
"""

from __future__ import annotations

import operator
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from tether.graph import END, START, StateGraph

WAIT_LIMIT = 20.0
"""Longest a node waits for a marker file, in seconds."""


@dataclass(frozen=True)
class Files:
    """Where a run's nodes count their executions and find their markers."""

    workdir: Path

    @property
    def counter(self) -> Path:
        return self.workdir / "counter.txt"

    def marker(self, name: str) -> Path:
        return self.workdir / f"{name}.marker"


def record(files: Files, name: str) -> None:
    """Append ``name`` to the counter file; one write, so a later SIGKILL cannot lose it."""
    fd = os.open(files.counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{name}\n".encode())
    finally:
        os.close(fd)


def counts(files: Files) -> Counter[str]:
    """How many times each name was recorded."""
    if not files.counter.exists():
        return Counter()
    return Counter(line for line in files.counter.read_text().splitlines() if line)


def touch(path: Path) -> None:
    path.write_text(str(os.getpid()))


def wait_for(path: Path, limit: float = WAIT_LIMIT) -> bool:
    """Poll until ``path`` exists; False after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def die() -> None:
    """Kill this process the hard way: no cleanup, no flush, open transactions left open."""
    os.kill(os.getpid(), signal.SIGKILL)


def payload(tag: object, width: int, pad: int = 100) -> list[str]:
    """``width`` strings, each starting with ``"<tag>:"`` (a large, checkable value)."""
    return [f"{tag}:{k:05d}:" + "x" * pad for k in range(width)]


class LogState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    big: list[str]


class LoopState(TypedDict, total=False):
    i: int
    big: list[str]


def _appender(files: Files, name: str) -> Any:
    def node(state: LogState) -> dict[str, Any]:
        record(files, name)
        return {"log": [name]}

    node.__name__ = name
    return node


def chain_graph(files: Files) -> StateGraph:
    """n1 -> n2 -> n3 -> n4; n3 SIGKILLs its process the first time it runs."""

    def n3(state: LogState) -> dict[str, Any]:
        record(files, "n3")
        first = files.marker("n3-killed")
        if not first.exists():
            touch(first)
            die()
        return {"log": ["n3"]}

    builder = StateGraph(LogState)
    builder.add_node("n1", _appender(files, "n1"))
    builder.add_node("n2", _appender(files, "n2"))
    builder.add_node("n3", n3)
    builder.add_node("n4", _appender(files, "n4"))
    builder.add_edge(START, "n1")
    builder.add_edge("n1", "n2")
    builder.add_edge("n2", "n3")
    builder.add_edge("n3", "n4")
    builder.add_edge("n4", END)
    return builder


def _fast_write_saved(db: str, thread_id: str, limit: float) -> bool:
    """Wait until the checkpoint the step started from holds ``fast``'s pending write."""
    from tether.checkpoint.sqlite import SqliteSaver

    config = {"configurable": {"thread_id": thread_id}}
    deadline = time.monotonic() + limit
    with SqliteSaver.from_conn_string(db) as reader:
        while time.monotonic() < deadline:
            found = reader.get_tuple(config)
            writes = (found.pending_writes or []) if found else []
            if any(chan == "log" and value == ["fast"] for _, chan, value in writes):
                return True
            time.sleep(0.02)
    return False


def fanout_graph(files: Files, db: str, thread_id: str, killer_first: bool) -> StateGraph:
    """START -> {fast, killer} -> join. On its first run ``killer`` waits until ``fast`` has
    finished and its writes are stored, then SIGKILLs the process.

    ``killer_first`` declares ``killer`` before ``fast`` (the order tasks are started in).
    """

    def killer(state: LogState) -> dict[str, Any]:
        record(files, "killer")
        first = files.marker("killer-killed")
        if not first.exists():
            touch(first)
            wait_for(files.marker("fast-done"))
            saved = _fast_write_saved(db, thread_id, limit=3.0)
            touch(files.marker("fast-write-seen" if saved else "fast-write-missing"))
            die()
        return {"log": ["killer"]}

    def fast(state: LogState) -> dict[str, Any]:
        record(files, "fast")
        touch(files.marker("fast-done"))
        return {"log": ["fast"]}

    builder = StateGraph(LogState)
    order = [("killer", killer), ("fast", fast)]
    for name, node in order if killer_first else reversed(order):
        builder.add_node(name, node)
    builder.add_node("join", _appender(files, "join"))
    builder.add_edge(START, "fast")
    builder.add_edge(START, "killer")
    builder.add_edge(["fast", "killer"], "join")
    builder.add_edge("join", END)
    return builder


BIG_WIDTH = 20_000
"""Strings in the large update of ``big_graph`` (about 4 MB once stored)."""


def big_graph(files: Files) -> StateGraph:
    """small -> big -> after; ``big`` returns a multi-megabyte update."""

    def big(state: LogState) -> dict[str, Any]:
        record(files, "big")
        return {"log": ["big"], "big": payload("big", BIG_WIDTH, pad=200)}

    builder = StateGraph(LogState)
    builder.add_node("small", _appender(files, "small"))
    builder.add_node("big", big)
    builder.add_node("after", _appender(files, "after"))
    builder.add_edge(START, "small")
    builder.add_edge("small", "big")
    builder.add_edge("big", "after")
    builder.add_edge("after", END)
    return builder


def loop_graph(files: Files, steps: int, width: int) -> StateGraph:
    """One node ``grow`` run ``steps`` times; each run replaces ``big`` with ``width`` strings
    tagged with the new ``i``. Touches ``started`` and ``grow-<i>`` when it starts a run.
    """

    def grow(state: LoopState) -> dict[str, Any]:
        record(files, "grow")
        i = state.get("i", 0) + 1
        touch(files.marker("started"))
        touch(files.marker(f"grow-{i}"))
        return {"i": i, "big": payload(i, width)}

    def route(state: LoopState) -> str:
        return "grow" if state.get("i", 0) < steps else END

    builder = StateGraph(LoopState)
    builder.add_node("grow", grow)
    builder.add_edge(START, "grow")
    builder.add_conditional_edges("grow", route, ["grow", END])
    return builder


def loop_values_consistent(values: dict[str, Any], width: int) -> bool:
    """True when ``big`` is the payload written for ``i`` (no torn or mixed checkpoint)."""
    i = values.get("i", 0)
    big = values.get("big")
    if i == 0:
        return big is None
    return big is not None and len(big) == width and all(s.startswith(f"{i}:") for s in big)


def work_graph(files: Files, role: str, wait_markers: list[str], sleep: float) -> StateGraph:
    """work -> tail. ``work`` touches ``<role>-in-node``, waits for each marker in
    ``wait_markers`` (bounded), sleeps ``sleep`` seconds, and logs ``work:<role>``.
    """

    def work(state: LogState) -> dict[str, Any]:
        record(files, f"work:{role}")
        touch(files.marker(f"{role}-in-node"))
        for name in wait_markers:
            wait_for(files.marker(name))
        time.sleep(sleep)
        return {"log": [f"work:{role}"]}

    builder = StateGraph(LogState)
    builder.add_node("work", work)
    builder.add_node("tail", _appender(files, f"tail:{role}"))
    builder.add_edge(START, "work")
    builder.add_edge("work", "tail")
    builder.add_edge("tail", END)
    return builder
