"""One writer per thread: the lease a run holds on its thread, and its fencing token.

A run acquires a lease before it writes; every write it makes carries ``(owner, epoch)`` in
its config under ``LEASE_KEY``, and a saver that supports leases refuses a write whose token no
longer matches the thread's (the lease expired and another run took it: the epoch moved).

Waiting for a busy thread (``busy_policy="wait"``) is written once, without I/O: ``acquiring``
asks for attempts and pauses, and two drivers run it, ``take_waiting`` with ``time.sleep`` and
``atake_waiting`` with ``asyncio.sleep``, so an async waiter never holds a worker thread while
it waits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any

from tether.constants import CONF
from tether.errors import ConflictError, ThreadBusy

LEASE_KEY = "__tether_lease__"
"""Config key (under ``configurable``) carrying the writer's ``(owner, epoch)`` token."""

BusyPolicy = str
"""``"reject"`` (raise ``ThreadBusy`` at once) or ``"wait"`` (poll until free or timeout)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Lease:
    """A held lease: the thread, the holder's id, and the fencing epoch it was granted at."""

    thread_id: str
    owner: str
    epoch: int

    @property
    def token(self) -> tuple[str, int]:
        return (self.owner, self.epoch)


def lease_token(config: Mapping[str, Any] | None) -> tuple[str, int] | None:
    """The ``(owner, epoch)`` a write's config carries, if any."""
    if not config:
        return None
    token = (config.get(CONF) or {}).get(LEASE_KEY)
    if token is None:
        return None
    owner, epoch = token
    return str(owner), int(epoch)


_HOST = socket.gethostname()


def new_owner() -> str:
    """A fresh lease holder id: ``host:pid:random`` (so a dead holder on this host is known)."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex}"


def owner_alive(owner: str) -> bool:
    """False only when the owner is a process of this machine that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def lost_error(thread_id: str, mine: int, current: int) -> ConflictError:
    """The error a write gets when its run's lease was taken over (the epoch moved)."""
    return ConflictError(
        f"this run lost its lease on thread {thread_id!r} (held at epoch {mine}, the thread is "
        f"now at epoch {current}: another run took over after the lease expired); its write was "
        f"refused. Raise lease_ttl if nodes run longer than it"
    )


def busy_write_error(thread_id: str) -> ThreadBusy:
    """The error a write without the lease gets while another run holds it."""
    return ThreadBusy(
        f"thread {thread_id!r} is being run by another writer; this write was refused "
        f"(one writer per thread): wait for the run to finish"
    )


Attempt = Callable[[], "Lease | float | None"]
"""One try at the lease: the lease, or when the holder's lease expires (epoch seconds)."""

FIRST_PAUSE = 0.005
MAX_PAUSE = 0.1


@dataclasses.dataclass(frozen=True, slots=True)
class Pause:
    """Sleep this many seconds, then go on."""

    seconds: float


def acquiring(
    thread_id: str, wait: float | None
) -> Generator[Pause | None, Lease | float | None, Lease]:
    """The waiting logic of taking a lease, as steps for a driver.

    Yields ``None`` for "try once and send me the result" (a ``Lease``, or the holder's expiry
    time), or a ``Pause``. Returns the lease; raises ``ThreadBusy`` when ``wait`` is None and
    the lease is held, or once ``wait`` seconds have passed. Pauses grow from 5 ms to 100 ms,
    with jitter so waiters do not poll in step.
    """
    deadline = None if wait is None else time.monotonic() + wait
    pause = FIRST_PAUSE
    while True:
        got = yield None
        if isinstance(got, Lease):
            return got
        left = None if deadline is None else deadline - time.monotonic()
        if left is None or left <= 0:
            raise _busy(thread_id, got, wait)
        yield Pause(min(left, pause * random.uniform(0.5, 1.5)))
        pause = min(MAX_PAUSE, pause * 2)


def _busy(thread_id: str, holder_expires: float | None, wait: float | None) -> ThreadBusy:
    left = max(0.0, (holder_expires or 0.0) - time.time())
    hint = (
        "wait for it with busy_policy='wait'"
        if wait is None
        else f"it was still held after waiting {wait:g} s"
    )
    return ThreadBusy(
        f"thread {thread_id!r} is being run by another writer (its lease expires in "
        f"{left:.1f} s unless renewed); {hint}, or run another thread"
    )


def take_waiting(thread_id: str, wait: float | None, attempt: Attempt) -> Lease:
    """Drive ``acquiring`` with blocking attempts and ``time.sleep``."""
    steps = acquiring(thread_id, wait)
    step = next(steps)
    while True:
        try:
            if step is None:
                step = steps.send(attempt())
            else:
                time.sleep(step.seconds)
                step = steps.send(None)
        except StopIteration as done:
            return done.value


async def atake_waiting(
    thread_id: str, wait: float | None, attempt: Callable[[], Awaitable[Lease | float | None]]
) -> Lease:
    """Drive ``acquiring`` with awaited attempts and ``asyncio.sleep`` (no thread is held)."""
    steps = acquiring(thread_id, wait)
    step = next(steps)
    while True:
        try:
            if step is None:
                step = steps.send(await attempt())
            else:
                await asyncio.sleep(step.seconds)
                step = steps.send(None)
        except StopIteration as done:
            return done.value
