"""One writer per thread, across processes (scenarios 4 and 7).

A run holds a lease on its thread: a second run is refused with ThreadBusy, or waits with
``busy_policy="wait"``; a run whose lease expired and was taken over is refused with
ConflictError when it next writes, and the thread keeps the new owner's history intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from .children.graphs import Files, counts, work_graph

pytestmark = pytest.mark.crash

ERROR_EXIT = 3


def _runs(chain: list[Any]) -> list[str]:
    return [s.metadata.get("run") for s in chain]


def _run_again_without_waiting(db: Path, files: Files, thread_id: str) -> dict[str, Any]:
    """A run with the default policy: succeeds only if nobody holds the thread's lease."""
    with graph_on(db, work_graph(files, "D", [], 0.0)) as graph:
        config = {**thread_config(thread_id), "metadata": {"run": "D"}}
        out: dict[str, Any] = graph.invoke({"log": ["in:D"]}, config, durability="sync")
    return out


def test_second_process_is_refused_and_a_waiting_one_runs_after(
    children: Children, files: Files, db: Path
) -> None:
    common = ["lease_run.py", *base_args(db, "shared", files)]
    a = children.start(
        "A",
        *common,
        "--role",
        "A",
        "--wait-for",
        "B-checked",
        "--wait-for",
        "C-launched",
        "--sleep",
        "1.5",
    )
    wait_for_marker(files, "A-in-node", a)

    b = children.run("B", *common, "--role", "B")
    assert b.returncode == ERROR_EXIT, b.describe()
    assert b.error_class() == "ThreadBusy", b.describe()
    files.marker("B-checked").touch()

    c = children.start("C", *common, "--role", "C", "--policy", "wait", "--busy-timeout", "30")
    a_done, c_done = a.wait(), c.wait()

    a_log = ["in:A", "work:A", "tail:A"]
    assert a_done.result()["values"] == {"log": a_log}
    assert c_done.result()["values"] == {"log": [*a_log, "in:C", "work:C", "tail:C"]}
    assert counts(files) == {"work:A": 1, "tail:A": 1, "work:C": 1, "tail:C": 1}
    assert integrity(db) == "ok"
    with graph_on(db, work_graph(files, "C", [], 0.0)) as graph:
        chain = oldest_first(list(graph.get_state_history(thread_config("shared"))))
    runs = _runs(chain)
    a_count = runs.count("A")
    assert runs == ["A"] * a_count + ["C"] * (len(runs) - a_count), runs
    first_c = chain[a_count]
    assert first_c.metadata["source"] == "input"
    last_a = chain[a_count - 1]
    assert first_c.parent_config is not None
    assert (
        first_c.parent_config["configurable"]["checkpoint_id"]
        == (last_a.config["configurable"]["checkpoint_id"])
    )
    assert _run_again_without_waiting(db, files, "shared")["log"][-3:] == [
        "in:D",
        "work:D",
        "tail:D",
    ]


def test_writer_that_lost_its_lease_is_refused(children: Children, files: Files, db: Path) -> None:
    common = ["lease_run.py", *base_args(db, "taken", files)]
    a = children.start("A", *common, "--role", "A", "--lease-ttl", "1", "--wait-for", "B-done")
    wait_for_marker(files, "A-in-node", a)

    b = children.run("B", *common, "--role", "B", "--policy", "wait", "--busy-timeout", "20")
    b_values = b.result()["values"]
    a_done = a.wait()

    assert a_done.returncode == ERROR_EXIT, a_done.describe()
    assert a_done.error_class() == "ConflictError", a_done.describe()
    error = a_done.report("ERROR")
    assert error is not None and "taken" in error["message"], error
    assert "work:A" not in b_values["log"]
    assert b_values["log"][-3:] == ["in:B", "work:B", "tail:B"]
    assert counts(files) == {"work:A": 1, "work:B": 1, "tail:B": 1}
    assert integrity(db) == "ok"
    with graph_on(db, work_graph(files, "B", [], 0.0)) as graph:
        config = thread_config("taken")
        chain = oldest_first(list(graph.get_state_history(config)))
        stored = list(graph.checkpointer.list(config))
    assert chain[-1].values == b_values
    runs = _runs(chain)
    assert runs == ["A"] * runs.count("A") + ["B"] * runs.count("B"), runs
    assert not any("work:A" in (s.values.get("log") or []) for s in chain)
    a_writes = [
        (t.config["configurable"]["checkpoint_id"], value)
        for t in stored
        for _, _, value in t.pending_writes or []
        if value == ["work:A"]
    ]
    assert a_writes == [], "the stale writer's task writes were stored"
    assert _run_again_without_waiting(db, files, "taken")["log"][-3:] == [
        "in:D",
        "work:D",
        "tail:D",
    ]
