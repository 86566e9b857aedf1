"""A process that dies in the middle of writing a large checkpoint leaves the file intact and the
thread at its previous checkpoint (scenario 3).

One test exits inside the saver's write transaction of a multi-megabyte step, just before
COMMIT (the ``_before_commit`` seam). The other SIGKILLs a child from outside at a random moment
of a loop of large commits, three times.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from ._spawn import (
    Children,
    base_args,
    graph_on,
    integrity,
    oldest_first,
    sql,
    thread_config,
    wait_for_marker,
)
from .children.graphs import BIG_WIDTH, Files, big_graph, counts, loop_graph, loop_values_consistent

pytestmark = pytest.mark.crash

CRASH_EXIT = 137
BIG_STEP = 2
"""Step of ``big``'s checkpoint: -1 input, 0 start, 1 small, 2 big, 3 after."""
RESUME = ["--resume", "--policy", "wait", "--busy-timeout", "30"]


def test_exit_inside_the_commit_of_a_large_checkpoint(
    children: Children, files: Files, db: Path
) -> None:
    args = ["crash_run.py", "--scenario", "big", *base_args(db, "big", files), "--lease-ttl", "2"]

    crashed = children.run("crash", *args, "--crash-at-step", BIG_STEP)

    assert crashed.returncode == CRASH_EXIT, crashed.describe()
    assert counts(files) == {"small": 1, "big": 1}
    assert integrity(db) == "ok"
    with graph_on(db, big_graph(files)) as graph:
        config = thread_config("big")
        head = graph.get_state(config)
        history = oldest_first(list(graph.get_state_history(config)))
        stored = graph.checkpointer.get_tuple(config)
    assert [s.metadata["step"] for s in history] == [-1, 0, 1]
    assert head.metadata["step"] == 1
    assert [t.name for t in head.tasks] == ["big"]
    assert stored is not None
    assert stored.checkpoint["channel_values"]["log"] == ["start", "small"]
    assert "big" not in stored.checkpoint["channel_values"]
    big_writes = [v for _, c, v in stored.pending_writes or [] if c == "big"]
    # big's writes were either stored on their own before the crashed commit (then big is not
    # run again) or in that same commit (then they are gone and big runs again); never torn.
    assert [len(v) for v in big_writes] in ([], [BIG_WIDTH])
    big_runs = 1 if big_writes else 2
    assert sql(db, "SELECT step FROM checkpoints WHERE thread_id = 'big' ORDER BY step") == [
        (-1,),
        (0,),
        (1,),
    ]
    assert sql(db, "SELECT count(*) FROM blobs WHERE thread_id = 'big' AND channel = 'big'") == [
        (0,)
    ], "the rolled-back step left a blob behind"
    assert sql(
        db, "SELECT step FROM checkpoints WHERE thread_id = 'big' ORDER BY checkpoint_id DESC"
    )[:1] == [(1,)]

    resumed = children.run("resume", *args, *RESUME)

    values = resumed.result()["values"]
    assert values == {
        "log": ["start", "small", "big", "after"],
        "big_len": BIG_WIDTH,
        "big_tags": ["big"],
    }
    assert counts(files) == {"small": 1, "big": big_runs, "after": 1}
    assert integrity(db) == "ok"
    with graph_on(db, big_graph(files)) as graph:
        history = oldest_first(list(graph.get_state_history(thread_config("big"))))
    assert [s.metadata["step"] for s in history] == [-1, 0, 1, 2, 3]
    assert len(history[-1].values["big"]) == BIG_WIDTH


STEPS = 20
WIDTH = 10_000
"""Strings per step of the loop (about 1.2 MB stored per checkpoint)."""


@pytest.mark.parametrize("seed", [11, 23, 37])
def test_sigkill_at_a_random_moment_of_a_loop_of_large_commits(
    children: Children, files: Files, db: Path, seed: int
) -> None:
    rng = random.Random(seed)
    kill_after_step, delay = rng.randint(3, 12), rng.uniform(0.0, 0.03)
    args = ["loop_run.py", *base_args(db, "loop", files), "--lease-ttl", "1"]
    args += ["--steps", str(STEPS), "--width", str(WIDTH)]
    victim = children.start("victim", *args)
    wait_for_marker(files, f"grow-{kill_after_step}", victim)
    time.sleep(delay)
    victim.kill()
    victim.wait()

    assert integrity(db) == "ok"
    with graph_on(db, loop_graph(files, STEPS, WIDTH)) as graph:
        config = thread_config("loop")
        head = graph.get_state(config)
        history = oldest_first(list(graph.get_state_history(config)))
    assert loop_values_consistent(head.values, WIDTH), head.values.get("i")
    assert all(loop_values_consistent(s.values, WIDTH) for s in history)
    assert history[-1].config == head.config

    resumed = children.run("resume", *args, *RESUME)

    assert resumed.result()["values"] == {"i": STEPS, "big_len": WIDTH, "big_tags": [str(STEPS)]}
    assert STEPS <= counts(files)["grow"] <= STEPS + 1
    assert integrity(db) == "ok"
    with graph_on(db, loop_graph(files, STEPS, WIDTH)) as graph:
        history = oldest_first(list(graph.get_state_history(thread_config("loop"))))
    assert [s.values.get("i") for s in history] == [None, 0, *range(1, STEPS + 1)]
