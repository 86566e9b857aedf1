"""Property test of the storage model on every saver: any write pattern reads back exactly.

Random sequences of steps append to a list (or append nothing), rewrite it with an equal list,
replace or shrink it, change or keep a scalar, empty a channel, fork from an older checkpoint,
and prune all but the newest checkpoints; the savers store these as full rows, deltas,
references and empty rows. At the end every checkpoint still there must read back with exactly
the values it was written with, also when two savers on one SQLite file take turns writing.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any

import pytest

from tether.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.sqlite import SqliteSaver

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed")
st = hypothesis.strategies

elements = st.text(max_size=40) | st.integers() | st.binary(max_size=60)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(elements, min_size=1, max_size=30)),
        st.tuples(st.just("append_nothing"), st.none()),
        st.tuples(st.just("rewrite_equal"), st.none()),
        st.tuples(st.just("replace"), st.lists(elements, max_size=8)),
        st.tuples(st.just("shrink"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("scalar"), st.text(max_size=300)),
        st.tuples(st.just("keep_scalar"), st.none()),
        st.tuples(st.just("empty"), st.sampled_from(["log", "note"])),
        st.tuples(st.just("fork"), st.integers(min_value=0, max_value=10_000)),
        st.tuples(st.just("prune"), st.integers(min_value=1, max_value=3)),
    ),
    min_size=1,
    max_size=60,
)


def _apply(op: str, arg: Any, values: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The values after one step, and the channels it wrote (a new version each)."""
    log = list(values.get("log", []))
    new = dict(values)
    if op == "append":
        new["log"] = log + arg
    elif op in ("append_nothing", "rewrite_equal"):
        new["log"] = log + [] if op == "append_nothing" else [*log]
    elif op == "replace":
        new["log"] = list(arg)
    elif op == "shrink":
        new["log"] = log[: max(0, len(log) - arg)]
    elif op == "scalar":
        new["note"] = arg
        return new, {"note"}
    elif op == "keep_scalar":
        return new, {"note"} if "note" in values else set()
    elif op == "empty":
        new.pop(arg, None)
        return new, {arg}
    return new, {"log"}


def _run(
    saver: BaseCheckpointSaver,
    plan: list[tuple[str, Any]],
    other: BaseCheckpointSaver | None = None,
) -> None:
    """Run ``plan``; with ``other`` (a second saver on the same storage), the ``switch`` step
    makes the other saver write from then on, as a second process would."""
    thread = f"prop-{uuid.uuid4().hex}"
    savers = [saver, other or saver]
    written: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    parent: dict[str, Any] = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    values: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    for op, arg in plan:
        if op == "fork" and written:
            parent, values, versions = written[arg % len(written)]
            continue
        if op == "switch":
            savers.reverse()
            saver = savers[0]
            continue
        if op == "prune":  # keep the newest ``arg`` checkpoints: later writes must not lean on
            saver.prune([thread], keep_last=arg)  # rows that went with the others
            newest = sorted(written, key=lambda w: w[0]["configurable"]["checkpoint_id"])
            written = newest[-arg:]
            continue
        values, changed = _apply(op, arg, values)
        versions = dict(versions)
        for channel in changed:
            versions[channel] = saver.get_next_version(versions.get(channel))
        checkpoint = empty_checkpoint()
        checkpoint["id"] = new_checkpoint_id()
        checkpoint["channel_values"] = dict(values)
        checkpoint["channel_versions"] = dict(versions)
        new_versions = {c: versions[c] for c in changed}
        parent = saver.put(parent, checkpoint, {"source": "loop", "step": 0}, new_versions)
        written.append((parent, values, versions))
    for config, expected, _ in written:
        for reader in savers:
            found = reader.get_tuple(config)
            assert found is not None
            assert found.checkpoint["channel_values"] == expected


@hypothesis.settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(plan=steps)
def test_every_write_pattern_reads_back_exactly(
    raw_saver: BaseCheckpointSaver, plan: list[tuple[str, Any]]
) -> None:
    _run(raw_saver, plan)


def test_a_fork_from_a_pruned_checkpoint_keeps_its_carried_values(
    raw_saver: BaseCheckpointSaver,
) -> None:
    """Hypothesis found this on InMemorySaver: a checkpoint written on a pruned parent carries
    the parent's unchanged ``note`` without rewriting it (not in ``new_versions``), so its row
    must be stored again rather than read back missing."""
    plan = [
        ("append", [""]),
        ("scalar", ""),
        ("scalar", "0"),
        ("fork", 1),
        ("prune", 1),
        ("append", [""]),
    ]
    _run(raw_saver, plan)


def test_a_long_mixed_history_reads_back_exactly(raw_saver: BaseCheckpointSaver) -> None:
    """Long enough for full rows to be rewritten once deltas outweigh them, with forks and
    prunes."""
    plan: list[tuple[str, Any]] = []
    for i in range(300):
        plan.append(("append", [f"message {i} " + "x" * 100]))
        plan.append(("append_nothing", None) if i % 3 else ("rewrite_equal", None))
        if i % 50 == 49:
            plan.append(("fork", i))
        if i % 70 == 69:
            plan.append(("shrink", 3))
        if i % 100 == 99:  # the one kept is a reference to a row of a pruned checkpoint
            plan.append(("prune", 1))
    _run(raw_saver, plan)


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(plan=steps, switches=st.lists(st.integers(0, 59), max_size=6))
def test_two_savers_on_one_file_write_in_turns_and_read_exactly(
    plan: list[tuple[str, Any]], switches: list[int]
) -> None:
    """Two SQLite savers on one file (two processes, in effect): each keeps its own memory of
    what it stored last, yet references, deltas and reads stay exact whoever wrote last."""
    for index in sorted(set(switches), reverse=True):
        plan.insert(min(index, len(plan)), ("switch", None))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "shared.db")
        with SqliteSaver.from_conn_string(path) as one, SqliteSaver.from_conn_string(path) as two:
            _run(one, plan, two)
