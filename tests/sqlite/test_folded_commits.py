"""Commits SQLite folds together: the run's last step gives the lease back in its own commit,
and steps sent together (``put_steps``) share one commit, without loosening the fencing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tether.checkpoint.lease import LEASE_KEY, Lease
from tether.checkpoint.sqlite import SqliteSaver
from tether.engine.loop import empty_checkpoint
from tether.errors import ConflictError

from .graphs import counter_graph


class CountingSaver(SqliteSaver):
    """Records, at each commit, the checkpoint count and the thread's lease holder it commits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commits: list[tuple[int, str | None]] = []

    def _before_commit(self, conn: sqlite3.Connection) -> None:
        count = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        holder = conn.execute("SELECT lease_owner FROM threads WHERE thread_id = 't'").fetchone()
        self.commits.append((count, holder[0] if holder else None))


def _config(lease: Lease | None = None, checkpoint_id: str | None = None) -> Any:
    conf: dict[str, Any] = {"thread_id": "t", "checkpoint_ns": ""}
    if lease is not None:
        conf[LEASE_KEY] = lease.token
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def _step(n: int, parent: str | None, lease: Lease | None) -> Any:
    """``put_step`` arguments for checkpoint ``n`` of thread "t" (after ``parent``)."""
    checkpoint: Any = {**empty_checkpoint(), "id": f"1f000000-0000-6000-8000-{n:012d}"}
    checkpoint["channel_values"] = {"n": n}
    checkpoint["channel_versions"] = {"n": f"{n + 1:032d}.{0:016x}"}
    versions = dict(checkpoint["channel_versions"])
    return ([], _config(lease, parent), checkpoint, {"source": "loop", "step": n}, versions)


def _ids(saver: SqliteSaver) -> list[str]:
    return [t.checkpoint["id"] for t in saver.list({"configurable": {"thread_id": "t"}})][::-1]


def test_a_runs_last_commit_gives_the_lease_back(tmp_path: Path) -> None:
    with CountingSaver(path=str(tmp_path / "fold.db")) as saver:
        counter_graph(saver).invoke({"n": 0}, _config())
        stored = len(_ids(saver))
        final = [c for c in saver.commits if c[0] == stored]
        # The commit that stores the last checkpoint already has the lease given back; no
        # commit follows it.
        assert final == [(stored, None)]
        assert saver.commits[-1] == (stored, None)


def test_an_async_runs_last_commit_gives_the_lease_back(tmp_path: Path) -> None:
    with CountingSaver(path=str(tmp_path / "fold.db")) as saver:
        asyncio.run(counter_graph(saver).ainvoke({"n": 0}, _config()))
        stored = len(_ids(saver))
        assert [c for c in saver.commits if c[0] == stored] == [(stored, None)]
        assert saver.commits[-1] == (stored, None)


def test_put_steps_stores_every_step_in_one_commit_and_releases(tmp_path: Path) -> None:
    with CountingSaver(path=str(tmp_path / "fold.db")) as saver:
        lease = saver.acquire_lease("t")
        assert lease is not None
        first, second = _step(0, None, lease), _step(1, None, lease)
        second[1]["configurable"]["checkpoint_id"] = first[2]["id"]
        del saver.commits[:]

        stored = saver.put_steps([first, second], lease=lease, status="idle")

        assert saver.commits == [(2, None)]
        assert stored["configurable"]["checkpoint_id"] == second[2]["id"]
        assert _ids(saver) == [first[2]["id"], second[2]["id"]]
        assert saver.get_tuple(_config()).checkpoint["channel_values"] == {"n": 1}
        assert saver.acquire_lease("t") is not None  # it was given back


def test_a_fenced_out_writer_is_refused_and_releases_nothing(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "fence.db"), lease_ttl=0.2) as saver:
        stale = saver.acquire_lease("t")
        assert stale is not None
        time.sleep(0.3)  # the lease expires; another run takes it
        holder = saver.acquire_lease("t")
        assert holder is not None and holder.epoch == stale.epoch + 1

        with pytest.raises(ConflictError, match="lost its lease on thread 't'"):
            saver.put_step_and_release(*_step(0, None, stale), lease=stale, status="idle")
        with pytest.raises(ConflictError, match="lost its lease on thread 't'"):
            saver.put_steps([_step(0, None, stale), _step(1, None, stale)], lease=stale)

        assert _ids(saver) == []
        # The holder's lease stands: its own write goes through.
        saver.put_step_and_release(*_step(2, None, holder), lease=holder, status="idle")
        assert _ids(saver) == [_step(2, None, None)[2]["id"]]


def test_put_steps_keeps_the_earlier_steps_when_a_later_one_is_refused(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "half.db")) as saver:
        lease = saver.acquire_lease("t")
        assert lease is not None
        stale = Lease("t", lease.owner, lease.epoch - 1)
        first, second = _step(0, None, lease), _step(1, None, stale)

        with pytest.raises(ConflictError):
            saver.put_steps([first, second])

        assert _ids(saver) == [first[2]["id"]]
