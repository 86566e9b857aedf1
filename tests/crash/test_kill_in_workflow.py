"""A process SIGKILLed inside an ``@entrypoint`` workflow re-runs only the unfinished task.

The workflow calls ``first``, then ``left`` and ``right`` in parallel, then ``killer`` (which
SIGKILLs the process on its first run), then ``last``. Each finished call's result is stored as
it returns, so a fresh process resuming with ``invoke(None, config)`` gets the three stored
results back and runs only ``killer`` (again) and ``last``. LangGraph's durable-execution page
promises the same of its functional API.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ._spawn import Children, base_args, integrity, thread_config
from .children.graphs import Files, counts

pytestmark = pytest.mark.crash

RESUME = ["--resume", "--policy", "wait", "--busy-timeout", "30"]


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param([], id="sync"),
        pytest.param(["--use-async"], id="ainvoke-sync-entrypoint"),
        pytest.param(["--use-async", "--async-entrypoint"], id="async-entrypoint"),
    ],
)
def test_sigkill_in_a_task_then_resume_runs_only_unfinished_tasks(
    children: Children, files: Files, db: Path, mode: list[str]
) -> None:
    args = ["func_run.py", *base_args(db, "wf", files), "--lease-ttl", "2", *mode]

    first = children.run("first", *args)
    assert first.returncode == -signal.SIGKILL, first.describe()
    assert counts(files) == {"first": 1, "left": 1, "right": 1, "killer": 1}
    assert integrity(db) == "ok"

    resumed = children.run("resume", *args, *RESUME)

    assert resumed.result()["output"] == ["topic", "FIRST", "LEFT", "RIGHT", "K", "LAST"]
    assert counts(files) == {"first": 1, "left": 1, "right": 1, "killer": 2, "last": 1}
    from tether.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(str(db)) as saver:
        head = saver.get_tuple(thread_config("wf"))
    assert head is not None
    assert head.metadata["step"] == 0
    assert head.checkpoint["channel_values"]["__end__"][-1] == "LAST"
