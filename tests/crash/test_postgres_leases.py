"""One writer per thread on PostgreSQL: 4 processes invoke the same thread 25 times each.

With ``busy_policy="reject"`` one run holds the thread at a time and the others get
``ThreadBusy``; with ``"wait"`` all 100 runs finish. Either way the thread's history is one
linear parent chain and every finished run's appends are in the final state, in order.
"""

from __future__ import annotations

from typing import Any

import pytest

import pg_service

from ._spawn import Children
from .children.graphs import Files

pytestmark = [pytest.mark.crash, pytest.mark.services]

PROCESSES = 4
RUNS = 25


def _hammer(children: Children, files: Files, policy: str) -> tuple[list[dict[str, Any]], Any]:
    url = pg_service.database_url()
    namespace = pg_service.new_namespace()
    from tether.checkpoint.postgres import PostgresSaver

    PostgresSaver.from_conn_string(url, namespace=namespace).setup()
    common = ["--url", url, "--namespace", namespace, "--thread", "shared"]
    common += ["--workdir", files.workdir, "--runs", RUNS, "--policy", policy, "--go", "go"]
    started = [
        children.start(f"P{n}", "pg_hammer.py", *common, "--role", f"P{n}")
        for n in range(PROCESSES)
    ]
    files.marker("go").touch()
    results = [child.wait(limit=240).result() for child in started]
    saver = PostgresSaver.from_conn_string(url, namespace=namespace)
    return results, saver


def _check_history(saver: Any, finished: int) -> None:
    config = {"configurable": {"thread_id": "shared"}}
    history = list(saver.list(config))
    ids = sorted(t.config["configurable"]["checkpoint_id"] for t in history)
    parents = {
        t.config["configurable"]["checkpoint_id"]: (t.parent_config or {}).get("configurable", {})
        for t in history
    }
    assert parents[ids[0]] == {}
    for before, after in zip(ids, ids[1:], strict=False):  # one linear chain, no forks
        assert parents[after]["checkpoint_id"] == before
    log = saver.get_tuple(config).checkpoint["channel_values"]["log"]
    assert len(log) == 2 * finished  # no append lost
    for i in range(0, len(log), 2):  # each run's input and work are adjacent: one at a time
        assert log[i].split(":", 1)[1] == log[i + 1].split(":", 1)[1], log[i : i + 2]
        assert (log[i].split(":")[0], log[i + 1].split(":")[0]) == ("in", "work")
    assert len(history) == 3 * finished  # per run: input, start, work


def test_reject_runs_one_at_a_time_and_refuses_the_rest(children: Children, files: Files) -> None:
    results, saver = _hammer(children, files, "reject")
    with saver:
        done = sum(r["done"] for r in results)
        assert all(r["done"] + r["busy"] == RUNS for r in results), results
        assert done >= 1 and sum(r["busy"] for r in results) > 0, results
        _check_history(saver, done)


def test_wait_finishes_every_run(children: Children, files: Files) -> None:
    results, saver = _hammer(children, files, "wait")
    with saver:
        assert [r["done"] for r in results] == [RUNS] * PROCESSES, results
        _check_history(saver, RUNS * PROCESSES)
