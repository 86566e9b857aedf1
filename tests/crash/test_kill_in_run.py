"""A process SIGKILLed while a run is inside a node loses nothing that was finished.

Scenario 1: the process dies inside a node of a chain. Scenario 2: it dies after one of two
parallel tasks finished (its writes stored as pending writes) but before the step's checkpoint.
A fresh process resumes with ``invoke(None, config)``; the counter file shows what ran again.
Runs use ``durability="sync"`` so "finished" means "stored" at every step.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ._spawn import Children, base_args, graph_on, integrity, oldest_first, thread_config
from .children.graphs import Files, chain_graph, counts, fanout_graph

pytestmark = pytest.mark.crash

LEASE_TTL = "2"
"""A killed child keeps its lease until it expires; short, so the resume waits little."""
RESUME = ["--resume", "--policy", "wait", "--busy-timeout", "30"]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_sigkill_inside_a_node_then_resume_in_a_fresh_process(
    children: Children, files: Files, db: Path, driver: str
) -> None:
    args = ["crash_run.py", "--scenario", "chain", *base_args(db, "chain", files)]
    args += ["--lease-ttl", LEASE_TTL, *(["--use-async"] if driver == "async" else [])]

    first = children.run("first", *args)
    assert first.returncode == -signal.SIGKILL, first.describe()
    assert counts(files) == {"n1": 1, "n2": 1, "n3": 1}
    assert integrity(db) == "ok"
    with graph_on(db, chain_graph(files)) as graph:
        head = graph.get_state(thread_config("chain"))
    assert head.values["log"] == ["start", "n1", "n2"]
    assert head.next == ("n3",)

    resumed = children.run("resume", *args, *RESUME)

    assert resumed.result()["values"] == {"log": ["start", "n1", "n2", "n3", "n4"]}
    assert counts(files) == {"n1": 1, "n2": 1, "n3": 2, "n4": 1}
    assert integrity(db) == "ok"
    with graph_on(db, chain_graph(files)) as graph:
        chain = oldest_first(list(graph.get_state_history(thread_config("chain"))))
    logs = [s.values.get("log") or [] for s in chain]
    assert logs == [
        [],
        ["start"],
        ["start", "n1"],
        ["start", "n1", "n2"],
        ["start", "n1", "n2", "n3"],
        ["start", "n1", "n2", "n3", "n4"],
    ]
    assert [s.metadata["step"] for s in chain] == [-1, 0, 1, 2, 3, 4]
    assert chain[-1].next == ()


@pytest.mark.parametrize(
    ("killer_first", "driver"),
    [
        pytest.param(False, "sync", id="fast-declared-first-sync"),
        pytest.param(True, "sync", id="killer-declared-first-sync"),
        pytest.param(True, "async", id="killer-declared-first-async"),
    ],
)
def test_sigkill_after_a_parallel_task_finished_keeps_its_writes(
    children: Children, files: Files, db: Path, killer_first: bool, driver: str
) -> None:
    scenario = "fanout-killer-first" if killer_first else "fanout"
    args = ["crash_run.py", "--scenario", scenario, *base_args(db, "fan", files)]
    args += ["--lease-ttl", LEASE_TTL, *(["--use-async"] if driver == "async" else [])]

    first = children.run("first", *args)
    assert first.returncode == -signal.SIGKILL, first.describe()
    assert counts(files) == {"fast": 1, "killer": 1}
    assert files.marker("fast-write-seen").exists(), (
        "fast finished but its pending write was not in the database before the process "
        "died (killer waited 3 s for it)"
    )
    with graph_on(db, fanout_graph(files, str(db), "fan", killer_first)) as graph:
        stored = graph.checkpointer.get_tuple(thread_config("fan"))
    assert stored is not None
    assert stored.metadata["step"] == 0
    logged = [v for _, c, v in stored.pending_writes or [] if c == "log"]
    assert logged == [["fast"]], "only fast's writes are stored, killer left none"

    resumed = children.run("resume", *args, *RESUME)

    log = resumed.result()["values"]["log"]
    assert log[0] == "start"
    assert sorted(log[1:3]) == ["fast", "killer"]
    assert log[3:] == ["join"]
    assert counts(files) == {"fast": 1, "killer": 2, "join": 1}
    assert integrity(db) == "ok"
    with graph_on(db, fanout_graph(files, str(db), "fan", killer_first)) as graph:
        chain = oldest_first(list(graph.get_state_history(thread_config("fan"))))
    assert chain[-1].values["log"] == log
    assert chain[-1].next == ()
