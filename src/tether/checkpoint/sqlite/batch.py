"""Group commit: writes that arrive while another commits share the next transaction.

SQLite has one writer at a time, and most of a small write's cost is its commit (the WAL frames
of every page it touched). When several threads write at once, the first becomes the *leader*:
it runs every queued write in one transaction and commits once. Each caller still returns only
after the commit that holds its write, so durability and atomicity per write are unchanged. If
any write of a batch fails (a lease conflict, a constraint), the whole transaction is rolled back
and each write runs again alone, so the failure reaches only its own caller. A single writer
pays nothing extra: it commits its work directly, with no job queued.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tether.errors import StorageError

if TYPE_CHECKING:
    from tether.checkpoint.sqlite.connection import Action, Connections

Work = Callable[[sqlite3.Connection], Any]


class _Job:
    __slots__ = ("action", "error", "finished", "result", "wake", "work")

    def __init__(self, work: Work, action: Action) -> None:
        self.work = work
        self.action = action
        self.wake = threading.Event()
        """Set when the job finished, or when its caller must lead next."""
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None

    def finish(self, error: BaseException | None = None) -> None:
        if not self.finished:
            self.error = self.error or error
            self.finished = True
            self.wake.set()


class GroupCommit:
    """Runs write work in shared transactions (see the module docstring).

    One caller at a time leads: it takes every queued job (its own among them), commits them,
    then hands the lead to the first job queued meanwhile, so no caller waits on others' work
    for more than one batch.
    """

    def __init__(self, conns: Connections) -> None:
        self._conns = conns
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._leading = False

    def run(self, work: Work, action: Action) -> Any:
        """Run ``work(conn)`` inside a committed write transaction; return its result."""
        with self._lock:
            alone = not self._leading
            self._leading = True
            if not alone:
                job = _Job(work, action)
                self._queue.append(job)
        if alone:  # nobody else is writing: commit this work by itself, no job to queue
            try:
                return self._conns.transact(work, action)
            finally:
                self._hand_over()
        job.wake.wait()
        if not job.finished:  # this caller leads the next batch
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        except BaseException as exc:  # an interrupt while committing: nothing was committed
            lost = StorageError(
                f"the write was not committed: the thread committing it stopped ({exc!r}); retry it"
            )
            for job in batch:
                job.finish(lost)
            raise
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """Pass the lead to the first queued job, if any."""
        with self._lock:
            if self._queue:
                self._queue[0].wake.set()  # it leads next; self._leading stays set
            else:
                self._leading = False

    def _commit(self, batch: list[_Job]) -> None:
        if len(batch) > 1:
            try:
                results = self._conns.transact(
                    lambda conn: [job.work(conn) for job in batch],
                    f"{batch[0].action} (and {len(batch) - 1} more)",
                )
            except Exception:
                pass
            else:
                for job, result in zip(batch, results, strict=True):
                    job.result = result
                    job.finish()
                return
        for job in batch:  # one job, or a batch that failed: each in its own transaction
            try:
                job.result = self._conns.transact(job.work, job.action)
            except Exception as exc:
                job.finish(exc)
            else:
                job.finish()
