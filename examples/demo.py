"""tether in one command: a 4-node claim workflow on ./demo.db (SQLite) that survives a crash.

1. A child process runs the workflow; node 3 (``review``) kills its own process with SIGKILL.
2. A fresh process opens demo.db and resumes the thread: nodes 1-2 do not run again.
3. The thread's history, read back from the file.
4. Time travel: a fork from the checkpoint before ``review`` with an edited amount, which now
   needs a human approval, so the fork pauses (``interrupt()``).
5. Another process answers (``Command(resume=...)``) and the fork finishes.

Every node appends its name to a side-effect log next to the database, so the counts show what
really ran, whatever the checkpoints say.

Run: python examples/demo.py [--db PATH]   (or: make demo; PATH defaults to ./demo.db)
POSIX only: the crash is a real SIGKILL.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any, TypedDict

from tether.checkpoint.sqlite import SqliteSaver
from tether.graph import END, START, StateGraph
from tether.types import Command, interrupt

THREAD_ID = "claim-42"
CLAIM = {"employee": "  ada lovelace ", "amount": 250.0}
LIMITS = {"Ada Lovelace": 1000.0}  # per-employee auto-approval limit, looked up by ``assess``
NODES = ("intake", "assess", "review", "pay")


class Claim(TypedDict, total=False):
    employee: str
    amount: float
    limit: float
    decision: dict[str, Any]
    status: str


# --- the workflow ----------------------------------------------------------------------------


def intake(state: Claim) -> dict[str, Any]:
    return {"employee": state["employee"].strip().title(), "status": "received"}


def assess(state: Claim) -> dict[str, Any]:
    return {"limit": LIMITS.get(state["employee"], 0.0), "status": "assessed"}


def review(state: Claim) -> dict[str, Any]:
    if state["amount"] <= state["limit"]:
        return {"decision": {"approved": True, "by": "auto"}, "status": "reviewed"}
    # Pause the run; the thread waits in demo.db until someone resumes it with an answer.
    answer = interrupt({"question": "approve this claim?", "amount": state["amount"]})
    return {"decision": answer, "status": "reviewed"}


def pay(state: Claim) -> dict[str, Any]:
    return {"status": "paid" if state["decision"]["approved"] else "rejected"}


def effects_path(db: Path) -> Path:
    """The side-effect log: one line per node call, kept outside the graph and its database."""
    return db.with_name(db.name + ".effects.log")


def counted(name: str, node: Callable[[Claim], dict[str, Any]], db: Path, crash: bool) -> Any:
    """``node`` that first logs its call; with ``crash``, node 3 then kills its own process."""

    def run(state: Claim) -> dict[str, Any]:
        with effects_path(db).open("a") as log:
            log.write(name + "\n")
        if crash and name == "review":
            say("review: killing this process now (SIGKILL, as in a power cut)")
            os.kill(os.getpid(), signal.SIGKILL)
        return node(state)

    run.__name__ = name
    return run


@contextmanager
def open_graph(db: Path, crash: bool = False) -> Iterator[tuple[Any, SqliteSaver]]:
    """The claim workflow compiled with a SQLite saver on ``db``, and that saver."""
    builder = StateGraph(Claim)
    for node in (intake, assess, review, pay):
        builder.add_node(node.__name__, counted(node.__name__, node, db, crash))
    for left, right in pairwise((START, *NODES, END)):
        builder.add_edge(left, right)
    with SqliteSaver.from_conn_string(str(db)) as saver:
        yield builder.compile(checkpointer=saver), saver


# --- small output helpers ----------------------------------------------------------------------


def thread_config() -> dict[str, Any]:
    """The thread's config; ``metadata`` tags every checkpoint with the process that wrote it."""
    return {"configurable": {"thread_id": THREAD_ID}, "metadata": {"pid": os.getpid()}}


def say(text: str) -> None:
    print(f"  [pid {os.getpid()}] {text}")


def title(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 72 - len(text)))


def short(config: dict[str, Any]) -> str:
    return str(config["configurable"]["checkpoint_id"])[-8:]


def run_and_show(graph: Any, graph_input: Any, config: dict[str, Any]) -> None:
    """Run the graph, printing each node's update (or the question it paused on)."""
    for update in graph.stream(graph_input, config, stream_mode="updates"):
        for node, values in update.items():
            if node == "__interrupt__":
                say(f"review paused the run, waiting on: {values[0].value}")
            else:
                say(f"ran {node:<6} -> {values}")


def node_calls(db: Path) -> Counter[str]:
    calls = Counter(effects_path(db).read_text().split())
    return Counter({name: calls[name] for name in NODES})


def show_calls(db: Path, when: str) -> Counter[str]:
    calls = node_calls(db)
    print(f"  node calls {when}: " + ", ".join(f"{name}={calls[name]}" for name in NODES))
    return calls


# --- the child processes -----------------------------------------------------------------------


def child_run(db: Path) -> None:
    with open_graph(db, crash=True) as (graph, _):
        say(f"starting thread {THREAD_ID!r}: claim {CLAIM}")
        run_and_show(graph, CLAIM, thread_config())
    say("review did not crash: this should not happen")


def child_resume(db: Path) -> None:
    with open_graph(db) as (graph, _):
        saved = graph.get_state(thread_config())
        say(
            f"opened {db.name}: thread {THREAD_ID!r} stopped after step "
            f"{saved.metadata['step']}, next={saved.next}"
        )
        # The killed run still holds the thread's writer lease; its process is gone, so this
        # run takes the lease over at once (a live holder would make it raise ThreadBusy).
        run_and_show(graph, None, thread_config())


def child_approve(db: Path) -> None:
    with open_graph(db) as (graph, _):
        waiting = graph.get_state(thread_config())
        say(f"opened {db.name}: thread {THREAD_ID!r} waits at next={waiting.next}")
        say(f"question: {waiting.interrupts[0].value}")
        say("a manager answers: approved")
        answer = Command(resume={"approved": True, "by": "manager dana"})
        run_and_show(graph, answer, thread_config())


CHILDREN: dict[str, Callable[[Path], None]] = {
    "run": child_run,
    "resume": child_resume,
    "approve": child_approve,
}


def spawn(mode: str, db: Path) -> int:
    """Run this script as a fresh child process in ``mode``; its exit code."""
    sys.stdout.flush()
    command = [sys.executable, __file__, "--db", str(db), "--child", mode]
    return subprocess.run(command, check=False).returncode


# --- the orchestrating parent ------------------------------------------------------------------


def fresh_start(db: Path) -> None:
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), effects_path(db)):
        path.unlink(missing_ok=True)
    effects_path(db).touch()
    print(f"tether demo: a 4-node claim workflow, checkpointed to {db} (old file removed)")
    log = effects_path(db).name
    print(f"  nodes: {' -> '.join(NODES)}; each node call is logged to {log} while it runs")
    print(f"  this process (pid {os.getpid()}) starts the others; each line says which ran it")


def crash_and_resume(db: Path) -> None:
    title("1. Run the workflow in a child process; node 3 crashes it")
    code = spawn("run", db)
    if code != -signal.SIGKILL:
        raise SystemExit(f"the first child should have been killed by SIGKILL; exit code {code}")
    print(f"  child process died: exit code {code} (SIGKILL); its progress is only in {db.name}")
    show_calls(db, "so far")

    title(f"2. A fresh process resumes the thread from {db.name}")
    code = spawn("resume", db)
    if code != 0:
        raise SystemExit(f"the resuming child failed with exit code {code}")
    calls = show_calls(db, "now")
    assert calls == Counter({"intake": 1, "assess": 1, "review": 2, "pay": 1}), calls
    print("  intake and assess ran once: the resume started at review, their work came from disk")


def show_history(graph: Any) -> list[Any]:
    title("3. The thread's history, read back from the file (newest first)")
    history = list(graph.get_state_history(thread_config()))
    print("  checkpoint  step  source  next        status     written by")
    for snap in history:
        meta = snap.metadata
        print(
            f"  {short(snap.config):<10}  {meta['step']:>4}  {meta['source']:<6}  "
            f"{','.join(snap.next) or '-':<10}  {snap.values.get('status', '-'):<9}  "
            f"pid {meta.get('pid', '?')}"
        )
    first, second = dict.fromkeys(s.metadata["pid"] for s in reversed(history))
    print(
        f"  steps {steps_by(history, first)} were written by the killed process, "
        f"{steps_by(history, second)} by the one that resumed:"
    )
    print("  the step that crashed left no checkpoint, so review ran again, from its start")
    return history


def steps_by(history: list[Any], pid: int) -> str:
    steps = sorted(s.metadata["step"] for s in history if s.metadata["pid"] == pid)
    return f"{steps[0]}..{steps[-1]}"


def fork_and_pause(db: Path, graph: Any, history: list[Any]) -> None:
    title("4. Time travel: fork from before 'review' with an edited amount")
    before_review = next(s for s in history if s.next == ("review",))
    old = before_review.values["amount"]
    edit = {**before_review.config, "metadata": {"pid": os.getpid()}}
    fork = graph.update_state(edit, {"amount": 5000.0})
    print(
        f"  forked {short(fork)} from {short(before_review.config)} "
        f"(step {before_review.metadata['step']}): amount {old} -> 5000.0, "
        f"over the {before_review.values['limit']} limit"
    )
    run_and_show(graph, None, {**fork, "metadata": {"pid": os.getpid()}})
    waiting = graph.get_state(thread_config())
    print(f"  the thread's head is now the fork, paused at next={waiting.next}")
    print(f"  this process (pid {os.getpid()}) moves on; the question waits in {db.name}")


def approve_elsewhere(db: Path) -> None:
    title("5. Human approval, answered from yet another process")
    code = spawn("approve", db)
    if code != 0:
        raise SystemExit(f"the approving child failed with exit code {code}")


def summary(graph: Any, original_head: Any) -> int:
    title("6. Both branches are kept")
    original = graph.get_state(original_head.config).values
    forked = graph.get_state(thread_config()).values
    for label, values in (("original", original), ("forked", forked)):
        print(
            f"  {label + ' branch:':<16} amount={values['amount']:<7} status={values['status']}"
            f" (approved by {values['decision']['by']})"
        )
    assert original["amount"] == 250.0 and forked["amount"] == 5000.0
    assert forked["status"] == "paid" and forked["decision"]["by"] == "manager dana"
    return len(list(graph.get_state_history(thread_config())))


def orchestrate(db: Path) -> None:
    fresh_start(db)
    crash_and_resume(db)
    with open_graph(db) as (graph, _):
        history = show_history(graph)
        fork_and_pause(db, graph, history)
    approve_elsewhere(db)
    with open_graph(db) as (graph, _):
        count = summary(graph, history[0])
    size = db.stat().st_size
    print(f"  {count} checkpoints in thread {THREAD_ID!r}; {db} is {size:,} bytes")
    effects_path(db).unlink()
    print("\nDemo complete: crash, resume, history, fork and approval all worked on SQLite.")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", default="demo.db", help="SQLite file (default: ./demo.db)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    db = Path(args.db)
    if args.child:
        CHILDREN[args.child](db)
    else:
        orchestrate(db)


if __name__ == "__main__":
    main()
