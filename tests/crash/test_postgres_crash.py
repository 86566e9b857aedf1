"""Crashes on PostgreSQL: a process SIGKILLed inside a node, or exiting inside the commit of a
step, loses nothing committed, and a fresh process resumes the run (the scenarios of
``test_kill_in_run`` and ``test_kill_mid_commit``, on a real server)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

import pg_service

from ._spawn import Children, oldest_first, thread_config
from .children.graphs import Files, chain_graph, counts

pytestmark = [pytest.mark.crash, pytest.mark.services]

RESUME = ["--resume", "--policy", "wait", "--busy-timeout", "30"]
CRASH_EXIT = 137
LOGS = [
    [],
    ["start"],
    ["start", "n1"],
    ["start", "n1", "n2"],
    ["start", "n1", "n2", "n3"],
    ["start", "n1", "n2", "n3", "n4"],
]


def _args(files: Files, namespace: str) -> list[Any]:
    return [
        "crash_run.py",
        "--scenario",
        "chain",
        "--db",
        pg_service.database_url(),
        "--namespace",
        namespace,
        "--thread",
        "chain",
        "--workdir",
        files.workdir,
        "--lease-ttl",
        "30",  # a killed holder of this machine is taken over at once, not after the ttl
    ]


def _history(files: Files, namespace: str) -> list[Any]:
    from tether.checkpoint.postgres import PostgresSaver

    url = pg_service.database_url()
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        graph = chain_graph(files).compile(checkpointer=saver)
        return oldest_first(list(graph.get_state_history(thread_config("chain"))))


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_sigkill_inside_a_node_then_resume(children: Children, files: Files, driver: str) -> None:
    namespace = pg_service.new_namespace()
    args = [*_args(files, namespace), *(["--use-async"] if driver == "async" else [])]
    first = children.run("first", *args)
    assert first.returncode == -signal.SIGKILL, first.describe()
    assert counts(files) == {"n1": 1, "n2": 1, "n3": 1}
    assert [s.values.get("log") or [] for s in _history(files, namespace)] == LOGS[:4]

    resumed = children.run("resume", *args, *RESUME)
    assert resumed.result()["values"] == {"log": LOGS[-1]}
    assert counts(files) == {"n1": 1, "n2": 1, "n3": 2, "n4": 1}
    chain = _history(files, namespace)
    assert [s.values.get("log") or [] for s in chain] == LOGS
    assert [s.metadata["step"] for s in chain] == [-1, 0, 1, 2, 3, 4]


def test_exit_inside_a_commit_then_resume(children: Children, files: Files) -> None:
    namespace = pg_service.new_namespace()
    args = _args(files, namespace)
    first = children.run("first", *args, "--crash-at-step", "2")
    assert first.returncode == CRASH_EXIT, first.describe()
    assert counts(files) == {"n1": 1, "n2": 1}
    assert [s.values.get("log") or [] for s in _history(files, namespace)] == LOGS[:3]

    resumed = children.run("resume", *args, *RESUME)  # re-runs n2, then n3 kills it once
    assert resumed.returncode == -signal.SIGKILL, resumed.describe()
    assert [s.values.get("log") or [] for s in _history(files, namespace)] == LOGS[:4]
    again = children.run("again", *args, *RESUME)
    assert again.result()["values"] == {"log": LOGS[-1]}
    assert counts(files) == {"n1": 1, "n2": 2, "n3": 2, "n4": 1}
    chain = _history(files, namespace)
    assert [s.values.get("log") or [] for s in chain] == LOGS  # nothing lost or doubled
    assert [s.metadata["step"] for s in chain] == [-1, 0, 1, 2, 3, 4]
