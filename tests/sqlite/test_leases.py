"""One writer per thread, inside one process: a second run is refused, waits, or is fenced."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, TypedDict

import pytest

from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import ConflictError, ThreadBusy
from tether.graph import END, START, StateGraph

from .graphs import counter_graph


class Slow(TypedDict):
    log: list[str]


def gated_graph(saver: Any, entered: threading.Event, release: threading.Event) -> Any:
    def wait_here(state: Slow) -> dict[str, Any]:
        entered.set()
        assert release.wait(10), "the test never released the node"
        return {"log": [*state["log"], "slow"]}

    builder = StateGraph(Slow)
    builder.add_node("wait_here", wait_here)
    builder.add_edge(START, "wait_here")
    builder.add_edge("wait_here", END)
    return builder.compile(checkpointer=saver)


def run_in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, result


def test_a_second_run_of_a_busy_thread_is_refused_then_allowed(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()
    config = {"configurable": {"thread_id": "shared"}}
    with SqliteSaver.from_conn_string(str(tmp_path / "lease.db")) as saver:
        graph = gated_graph(saver, entered, release)
        first, result = run_in_thread(lambda: graph.invoke({"log": []}, config))
        assert entered.wait(10)
        with pytest.raises(ThreadBusy, match="'shared' is being run by another writer"):
            graph.invoke({"log": []}, config)
        with pytest.raises(ThreadBusy):
            graph.update_state(config, {"log": ["edited"]})
        other = counter_graph(saver).invoke({"n": 0}, {"configurable": {"thread_id": "other"}})
        release.set()
        first.join(10)
        assert result["value"] == {"log": ["slow"]}
        assert other == {"n": 2}
        assert graph.invoke({"log": ["again"]}, config) == {"log": ["again", "slow"]}


def test_busy_policy_wait_runs_after_the_holder(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()
    config = {"configurable": {"thread_id": "queue"}}
    with SqliteSaver.from_conn_string(str(tmp_path / "wait.db")) as saver:
        graph = gated_graph(saver, entered, release)
        first, first_result = run_in_thread(lambda: graph.invoke({"log": ["a"]}, config))
        assert entered.wait(10)
        second, second_result = run_in_thread(
            lambda: graph.invoke({"log": ["b"]}, config, busy_policy="wait", busy_timeout=10)
        )
        assert second.is_alive()
        release.set()
        first.join(10)
        second.join(10)
        assert first_result["value"] == {"log": ["a", "slow"]}
        assert second_result["value"] == {"log": ["b", "slow"]}
        steps = [s.metadata["step"] for s in graph.get_state_history(config)]
        assert steps == sorted(steps, reverse=True) and len(steps) == len(set(steps))


def test_waiting_gives_up_after_busy_timeout(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()
    config = {"configurable": {"thread_id": "t"}}
    with SqliteSaver.from_conn_string(str(tmp_path / "timeout.db")) as saver:
        graph = gated_graph(saver, entered, release)
        first, _ = run_in_thread(lambda: graph.invoke({"log": []}, config))
        assert entered.wait(10)
        with pytest.raises(ThreadBusy, match="still held after waiting 0.2 s"):
            graph.invoke({"log": []}, config, busy_policy="wait", busy_timeout=0.2)
        release.set()
        first.join(10)


def test_a_writer_that_lost_its_lease_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "fence.db")
    with SqliteSaver.from_conn_string(path, lease_ttl=0.2) as saver:
        lease = saver.acquire_lease("t")
        assert lease is not None
        import time

        time.sleep(0.3)  # the lease expires; another run takes it
        other = saver.acquire_lease("t")
        assert other is not None and other.epoch == lease.epoch + 1
        from tether.checkpoint.lease import LEASE_KEY
        from tether.engine.loop import empty_checkpoint

        stale_config = {
            "configurable": {"thread_id": "t", "checkpoint_ns": "", LEASE_KEY: lease.token}
        }
        checkpoint: Any = {**empty_checkpoint(), "id": "1f000000-0000-6000-8000-000000000001"}
        with pytest.raises(ConflictError, match="lost its lease on thread 't'"):
            saver.put(stale_config, checkpoint, {}, {})
        saver.release_lease(other)
        assert list(saver.list({"configurable": {"thread_id": "t"}})) == []


def test_a_lease_left_by_a_dead_process_is_taken_over_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = str(tmp_path / "dead.db")
    code = (
        "import os, signal\n"
        "from tether.checkpoint.sqlite import SqliteSaver\n"
        f"with SqliteSaver.from_conn_string({path!r}, lease_ttl=3600) as s:\n"
        "    assert s.acquire_lease('orphan') is not None\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=60, check=False)
    assert done.returncode == -9
    with SqliteSaver.from_conn_string(path) as saver:
        lease = saver.acquire_lease("orphan")  # no wait: the holder is gone
        assert lease is not None and lease.epoch == 2
        saver.release_lease(lease)
