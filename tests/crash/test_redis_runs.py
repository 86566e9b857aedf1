"""The lease and kill scenarios on Redis, with real processes sharing one server.

Four processes on one thread: A runs, B is refused (``ThreadBusy``), C waits and runs after A,
then D runs after both. A writer whose lease expired and was taken over is refused
(``ConflictError``). A process SIGKILLed inside a node loses nothing finished, and a fresh
process resumes. Keys live under a prefix of this test (children read it from the
environment) and are deleted afterwards.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

import redis_service

from ._spawn import Children, base_args, graph_on, oldest_first, thread_config, wait_for_marker
from .children.graphs import Files, chain_graph, counts, work_graph

pytestmark = [pytest.mark.crash, pytest.mark.services]

ERROR_EXIT = 3


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The Redis URL the children share, with a fresh key prefix in the environment."""
    redis_service.require()
    prefix = redis_service.new_prefix()
    monkeypatch.setenv("TETHER_TEST_REDIS_PREFIX", prefix)
    yield redis_service.URL
    import redis

    client = redis.Redis.from_url(redis_service.URL)
    try:
        redis_service.delete_prefix(client, prefix)
    finally:
        client.close()


def _history(url: str, files: Files, thread_id: str) -> list[Any]:
    with graph_on(url, work_graph(files, "X", [], 0.0)) as graph:
        return oldest_first(list(graph.get_state_history(thread_config(thread_id))))


def test_four_processes_one_thread_reject_wait_then_run(
    children: Children, files: Files, url: str
) -> None:
    common = ["lease_run.py", *base_args(url, "shared", files)]
    a = children.start(
        "A", *common, "--role", "A", "--wait-for", "B-checked", "--wait-for", "C-launched"
    )
    wait_for_marker(files, "A-in-node", a)

    b = children.run("B", *common, "--role", "B")
    assert b.returncode == ERROR_EXIT, b.describe()
    assert b.error_class() == "ThreadBusy", b.describe()
    files.marker("B-checked").touch()

    c = children.start("C", *common, "--role", "C", "--policy", "wait", "--busy-timeout", "30")
    a_done, c_done = a.wait(), c.wait()
    d_done = children.run("D", *common, "--role", "D")

    a_log = ["in:A", "work:A", "tail:A"]
    assert a_done.result()["values"] == {"log": a_log}
    c_log = [*a_log, "in:C", "work:C", "tail:C"]
    assert c_done.result()["values"] == {"log": c_log}
    assert d_done.result()["values"] == {"log": [*c_log, "in:D", "work:D", "tail:D"]}
    assert counts(files) == {f"{k}:{r}": 1 for r in "ACD" for k in ("work", "tail")}
    runs = [s.metadata.get("run") for s in _history(url, files, "shared")]
    assert runs == sorted(runs), runs  # A's steps, then C's, then D's: never interleaved


def test_writer_that_lost_its_lease_is_refused(children: Children, files: Files, url: str) -> None:
    common = ["lease_run.py", *base_args(url, "taken", files)]
    a = children.start("A", *common, "--role", "A", "--lease-ttl", "1", "--wait-for", "B-done")
    wait_for_marker(files, "A-in-node", a)

    b = children.run("B", *common, "--role", "B", "--policy", "wait", "--busy-timeout", "20")
    b_values = b.result()["values"]
    a_done = a.wait()

    assert a_done.returncode == ERROR_EXIT, a_done.describe()
    assert a_done.error_class() == "ConflictError", a_done.describe()
    assert "work:A" not in b_values["log"]
    assert b_values["log"][-3:] == ["in:B", "work:B", "tail:B"]
    chain = _history(url, files, "taken")
    assert chain[-1].values == b_values
    assert not any("work:A" in (s.values.get("log") or []) for s in chain)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_sigkill_inside_a_node_then_resume_in_a_fresh_process(
    children: Children, files: Files, url: str, driver: str
) -> None:
    args = ["crash_run.py", "--scenario", "chain", *base_args(url, "chain", files)]
    args += ["--lease-ttl", "2", *(["--use-async"] if driver == "async" else [])]

    first = children.run("first", *args)
    assert first.returncode == -signal.SIGKILL, first.describe()
    assert counts(files) == {"n1": 1, "n2": 1, "n3": 1}
    with graph_on(url, chain_graph(files)) as graph:
        head = graph.get_state(thread_config("chain"))
    assert head.values["log"] == ["start", "n1", "n2"]
    assert head.next == ("n3",)

    resumed = children.run("resume", *args, "--resume", "--policy", "wait", "--busy-timeout", "30")

    assert resumed.result()["values"] == {"log": ["start", "n1", "n2", "n3", "n4"]}
    assert counts(files) == {"n1": 1, "n2": 1, "n3": 2, "n4": 1}
    with graph_on(url, chain_graph(files)) as graph:
        chain = oldest_first(list(graph.get_state_history(thread_config("chain"))))
    assert [s.metadata["step"] for s in chain] == [-1, 0, 1, 2, 3, 4]
