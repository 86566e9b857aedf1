"""A database file deleted under an open saver, and a directory the process cannot write."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import BackendUnavailable

from .graphs import counter_graph

T1 = {"configurable": {"thread_id": "t1"}}
T2 = {"configurable": {"thread_id": "t2"}}


def in_new_thread(fn: Any) -> Any:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    return out


def test_a_deleted_file_is_reported_and_never_recreated(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = counter_graph(saver)
        graph.invoke({"n": 1}, T1)
        for file in tmp_path.glob("gone.db*"):
            file.unlink()
        with pytest.raises(BackendUnavailable, match=r"gone\.db.* was deleted"):
            graph.invoke({"n": 1}, T2)
        with pytest.raises(BackendUnavailable, match=r"gone\.db.* was deleted"):
            graph.get_state(T1)
        # a thread that has no connection yet must not create a new, empty file
        out = in_new_thread(lambda: graph.get_state(T1))
        assert isinstance(out.get("error"), BackendUnavailable), out
        assert "was deleted" in str(out["error"])
        assert not path.exists()


def test_the_saver_api_names_the_thread_and_checkpoint_it_could_not_read_or_store(
    tmp_path: Path,
) -> None:
    """``get_tuple`` and ``put`` format their action only when an error needs it: the
    message still says what was being done, to which thread and checkpoint."""
    path = tmp_path / "named.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        first = empty_checkpoint()
        stored = saver.put(
            {"configurable": {"thread_id": "t-read", "checkpoint_ns": ""}}, first, {}, {}
        )
        for file in tmp_path.glob("named.db*"):
            file.unlink()
        with pytest.raises(BackendUnavailable, match=r"cannot read thread 't-read': .* deleted"):
            saver.get_tuple(stored)
        second = empty_checkpoint()
        with pytest.raises(
            BackendUnavailable,
            match=rf"cannot store checkpoint '{second['id']}' of thread 't-read': .* deleted",
        ):
            saver.put(stored, second, {}, {})


def test_a_file_replaced_by_another_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "swap.db"
    other = tmp_path / "other.db"
    with SqliteSaver.from_conn_string(str(other)) as saver:
        counter_graph(saver).invoke({"n": 1}, T1)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        counter_graph(saver).invoke({"n": 1}, T1)
        for file in tmp_path.glob("swap.db*"):
            file.unlink()
        other.rename(path)
        with pytest.raises(BackendUnavailable, match=r"swap\.db.* was replaced"):
            counter_graph(saver).invoke({"n": 1}, T2)


_READ_ONLY_DIR = """
import os, sys
sys.path.insert(0, {tests!r})
from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import StorageError
from sqlite.graphs import counter_graph
import tether.engine, tether.graph, tether.checkpoint.serde, sqlite3, json, uuid, socket
try:  # compile() imports it when langchain-core is installed: load it while files are readable
    import tether.integrations.langchain
except ImportError:
    pass
if os.geteuid() == 0:  # root ignores permissions: run as an unprivileged user
    os.setgid(65534)
    os.setuid(65534)
d = os.path.join({base!r}, "d")
os.mkdir(d)
path = os.path.join(d, "x.db")
config = {{"configurable": {{"thread_id": "t"}}}}
with SqliteSaver.from_conn_string(path) as saver:
    counter_graph(saver).invoke({{"n": 1}}, config)
os.chmod(d, 0o555)
with SqliteSaver.from_conn_string(path) as saver:
    graph = counter_graph(saver)
    for name, call in (("read", lambda: graph.get_state(config)),
                       ("write", lambda: graph.invoke({{"n": 1}}, config))):
        try:
            call()
            print(name, "ok")
        except StorageError as exc:
            print(name, "error", exc)
"""


def test_a_read_only_directory_says_so_and_does_not_claim_reads_work(tmp_path: Path) -> None:
    base = tempfile.mkdtemp(prefix="tether-ro-")  # under /tmp, reachable by an unprivileged user
    os.chmod(base, 0o777)
    try:
        code = _READ_ONLY_DIR.format(tests=str(Path(__file__).parents[1]), base=base)
        done = subprocess.run(
            [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 2, done.stdout
        for line in lines:
            if " ok" in line:
                continue
            assert "reads still work" not in line
            assert "directory" in line and "not writable" in line, line
        assert lines[1].startswith("write error"), lines
    finally:
        if os.path.isdir(os.path.join(base, "d")):
            os.chmod(os.path.join(base, "d"), 0o755)
        shutil.rmtree(base)
