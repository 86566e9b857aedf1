"""Several processes on one SQLite file (scenarios 5 and 6).

Readers are never blocked by a writer, even one holding a write transaction open; two processes
writing different threads of the same file both finish with the right histories.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._spawn import (
    Children,
    base_args,
    graph_on,
    integrity,
    oldest_first,
    thread_config,
    wait_for_marker,
)
from .children.graphs import Files, counts, loop_graph, loop_values_consistent

pytestmark = pytest.mark.crash

STEPS = 12
WIDTH = 3_000
PAUSE_STEP = 5
MAX_READS = 2_000
PAIR_STEPS = 20
PAIR_WIDTH = 5_000


def test_reads_succeed_while_another_process_writes(
    children: Children, files: Files, db: Path
) -> None:
    args = [
        "loop_run.py",
        *base_args(db, "busy", files),
        "--steps",
        str(STEPS),
        "--width",
        str(WIDTH),
    ]
    writer = children.start("writer", *args, "--pause-at-step", PAUSE_STEP)
    wait_for_marker(files, "in-commit", writer)

    config = thread_config("busy")
    with graph_on(db, loop_graph(files, STEPS, WIDTH)) as graph:
        for _ in range(10):
            head = graph.get_state(config)
            history = oldest_first(list(graph.get_state_history(config)))
            assert head.metadata["step"] == PAUSE_STEP - 1, "the open transaction is not visible"
            assert loop_values_consistent(head.values, WIDTH)
            assert [s.metadata["step"] for s in history] == list(range(-1, PAUSE_STEP))
        files.marker("release").touch()
        reads = 0
        while writer.running() and reads < MAX_READS:
            head = graph.get_state(config)
            assert loop_values_consistent(head.values, WIDTH), head.values.get("i")
            list(graph.get_state_history(config, limit=3))
            reads += 1

    assert writer.wait().result()["values"]["i"] == STEPS
    assert integrity(db) == "ok"
    with graph_on(db, loop_graph(files, STEPS, WIDTH)) as graph:
        history = oldest_first(list(graph.get_state_history(config)))
    assert [s.values.get("i") for s in history] == [None, *range(STEPS + 1)]


def test_two_processes_write_different_threads_of_one_file(
    children: Children, tmp_path: Path, db: Path
) -> None:
    names = ["left", "right"]
    work = {name: Files(tmp_path / name) for name in names}
    for f in work.values():
        f.workdir.mkdir()
    started = [
        children.start(
            name,
            "loop_run.py",
            *base_args(db, name, work[name]),
            "--steps",
            PAIR_STEPS,
            "--width",
            PAIR_WIDTH,
            "--go",
            "go",
        )
        for name in names
    ]
    for f in work.values():
        f.marker("go").touch()

    done = [child.wait() for child in started]

    for finished in done:
        assert finished.result()["values"]["i"] == PAIR_STEPS
        assert "locked" not in finished.stderr, finished.describe()
    assert integrity(db) == "ok"
    for name in names:
        assert counts(work[name]) == {"grow": PAIR_STEPS}
        with graph_on(db, loop_graph(work[name], PAIR_STEPS, PAIR_WIDTH)) as graph:
            history = oldest_first(list(graph.get_state_history(thread_config(name))))
        assert [s.values.get("i") for s in history] == [None, *range(PAIR_STEPS + 1)]
        assert all(loop_values_consistent(s.values, PAIR_WIDTH) for s in history)
        assert {s.config["configurable"]["thread_id"] for s in history} == {name}
