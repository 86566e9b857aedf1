"""When checkpoints reach the saver: now (sync), overlapped with the next step (async), or at the
end of the run (exit). The decisions are shared; only the waiting differs between drivers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections import deque
from typing import Any

from tether.checkpoint.lease import Lease
from tether.constants import CHECKPOINT_ID, CONF
from tether.engine.effects import Put, PutWrites

MAX_IN_FLIGHT = 2
"""At most this many saver calls queue behind a running step in async durability."""


class ExitBuffer:
    """Durability "exit": keep only the newest checkpoint and its writes, write them at the end.

    The final checkpoint's parent is the last checkpoint actually stored, and its new versions
    include every channel changed since then, so the saver stores every blob it needs.
    """

    def __init__(self) -> None:
        self.base_config: dict[str, Any] | None = None
        self.put: Put | None = None
        self.changed: set[str] = set()
        self.writes: list[PutWrites] = []

    def add(self, effect: Put | PutWrites) -> None:
        if isinstance(effect, Put):
            self.add_put(effect)
        else:
            self.writes.append(effect)

    def add_put(self, effect: Put) -> None:
        if self.base_config is None:
            self.base_config = effect.config
        self.changed.update(effect.new_versions)
        self.put = effect
        self.writes = []

    def add_writes(self, effect: PutWrites) -> None:
        self.writes.append(effect)

    def drain(self) -> list[Put | PutWrites]:
        """The calls to make at the end of the run, in order."""
        calls: list[Put | PutWrites] = []
        if self.put is not None:
            versions = self.put.checkpoint["channel_versions"]
            new_versions = {c: versions[c] for c in self.changed if c in versions}
            assert self.base_config is not None
            calls.append(
                Put(self.base_config, self.put.checkpoint, self.put.metadata, new_versions)
            )
            own = {**self.put.config[CONF], CHECKPOINT_ID: self.put.checkpoint["id"]}
            for w in self.writes:
                calls.append(PutWrites({CONF: own}, w.writes, w.task_id, w.task_path))
        else:
            calls.extend(self.writes)
        self.put, self.writes, self.changed = None, [], set()
        return calls


def _uses_background(saver: Any, durability: str) -> bool:
    return durability == "async" and not getattr(saver, "is_in_process", False)


class _Holding:
    """The held step and writes both persisters keep, and when a held step may wait for the
    next (``carry``)."""

    held: list[PutWrites]
    step: HeldStep | None
    carrying: bool
    inline: bool

    def _can_carry(self) -> bool:
        """Whether the held step may wait and go with the next one: nothing else is held and
        it does not already carry an earlier step."""
        return self.step is not None and self.step.before is None and not self.held

    def _carried(self) -> HeldStep | None:
        """The held step, taken, if it waits for the next one (``carry``)."""
        if not self.carrying:
            return None
        step, self.step, self.carrying = self.step, None, False
        return step


class SyncPersister(_Holding):
    """Carries out Put/PutWrites for the sync driver.

    In sync durability a step's commit is *held* until something else happens (the next tasks,
    a chunk the caller can see, the end of the run): the writes of the step's last task go in
    the same commit as the checkpoint that follows (``put_step``), and the run's last commit
    also gives the lease back (``put_step_and_release``). The driver releases held calls before
    anything that must follow them, except tasks that run no user code (``carry``: the input
    checkpoint over ``START``), after which the held step goes with the next (``put_steps``).
    """

    def __init__(self, saver: Any, durability: str) -> None:
        self.saver = saver
        self.exit = ExitBuffer() if durability == "exit" else None
        self.background = _uses_background(saver, durability)
        self.in_flight: deque[concurrent.futures.Future[Any]] = deque()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.held: list[PutWrites] = []
        self.step: HeldStep | None = None
        self.carrying = False
        self.inline = self.exit is None and not self.background
        """Calls go to the saver in the run's own thread (sync durability or an in-process
        saver), holding each step's commit as the class docstring says."""

    def submit(self, effect: Put | PutWrites, *, hold: bool = False) -> None:
        if self.inline:
            if type(effect) is Put:
                before = self._carried() if self.carrying else None
                if before is None and self.step is not None:
                    self._commit_step()
                self.step, self.held = HeldStep(self.held, effect, before), []
            elif hold:
                self.held.append(effect)  # type: ignore[arg-type]
            else:
                self._commit_step()
                self._call(effect)
        elif self.exit is not None:
            self.exit.add(effect)
        else:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "tether-persist")
            while len(self.in_flight) >= MAX_IN_FLIGHT:
                self.in_flight.popleft().result()
            self.in_flight.append(self._pool.submit(self._call, effect))

    def carry(self) -> None:
        """The tasks about to run are pure (``NodeSpec.pure``): the held step may wait and go
        with the next one (one saver call, ``put_steps``); else store held calls now."""
        if self._can_carry():
            self.carrying = True
        else:
            self.release_held()

    def release_held(self) -> None:
        """Store held calls now (something that must follow them comes next): several tasks'
        writes in one saver call (``put_writes_many``)."""
        self._commit_step()
        held, self.held = self.held, []
        if len(held) > 1:
            self.saver.put_writes_many([w.args() for w in held])
        elif held:
            self._call(held[0])

    def _commit_step(self, lease: Lease | None = None, status: str | None = None) -> None:
        step, self.step, self.carrying = self.step, None, False
        if step is None:
            return
        if step.before is not None:
            steps = [step.before.args(), step.args()]
            self.saver.put_steps(steps, lease=lease, status=status)
        elif lease is not None:
            self.saver.put_step_and_release(*step.args(), lease=lease, status=status)
        elif step.writes:
            self.saver.put_step(*step.args())
        else:
            self._call(step.put)

    def _call(self, effect: Put | PutWrites) -> None:
        if isinstance(effect, Put):
            self.saver.put(effect.config, effect.checkpoint, effect.metadata, effect.new_versions)
        else:
            self.saver.put_writes(effect.config, effect.writes, effect.task_id, effect.task_path)

    def flush(self, lease: Lease | None = None, status: str | None = None) -> bool:
        """Make everything submitted durable; raise the first saver error. With ``lease``: True
        if the last commit gave it back too (else the caller releases it)."""
        try:
            folded = lease is not None and self.step is not None and not self.held
            self._commit_step(lease if folded else None, status)
            self.release_held()
            while self.in_flight:
                self.in_flight.popleft().result()
            if self.exit is not None:
                for call in self.exit.drain():
                    self._call(call)
            return folded
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


class AsyncPersister(_Holding):
    """Carries out Put/PutWrites for the async driver (same holding rule as ``SyncPersister``)."""

    def __init__(self, saver: Any, durability: str) -> None:
        self.saver = saver
        self.exit = ExitBuffer() if durability == "exit" else None
        self.background = _uses_background(saver, durability)
        self.in_flight: deque[asyncio.Task[Any]] = deque()
        self.held: list[PutWrites] = []
        self.step: HeldStep | None = None
        self.carrying = False
        self.inline = self.exit is None and not self.background
        """Calls go to the saver in the run's own thread (sync durability or an in-process
        saver), holding each step's commit as the class docstring says."""

    async def submit(self, effect: Put | PutWrites, *, hold: bool = False) -> None:
        if self.inline:
            if type(effect) is Put:
                before = self._carried() if self.carrying else None
                if before is None and self.step is not None:
                    await self._commit_step()
                self.step, self.held = HeldStep(self.held, effect, before), []
            elif hold:
                self.held.append(effect)  # type: ignore[arg-type]
            else:
                await self._commit_step()
                await self._call(effect)
        elif self.exit is not None:
            self.exit.add(effect)
        else:
            while len(self.in_flight) >= MAX_IN_FLIGHT:
                await self.in_flight.popleft()
            previous = self.in_flight[-1] if self.in_flight else None
            self.in_flight.append(asyncio.ensure_future(self._after(previous, effect)))

    async def carry(self) -> None:
        """As ``SyncPersister.carry``."""
        if self._can_carry():
            self.carrying = True
        else:
            await self.release_held()

    async def release_held(self) -> None:
        await self._commit_step()
        held, self.held = self.held, []
        if len(held) > 1:
            await self.saver.aput_writes_many([w.args() for w in held])
        elif held:
            await self._call(held[0])

    async def _commit_step(self, lease: Lease | None = None, status: str | None = None) -> None:
        step, self.step, self.carrying = self.step, None, False
        if step is None:
            return
        if step.before is not None:
            steps = [step.before.args(), step.args()]
            await self.saver.aput_steps(steps, lease=lease, status=status)
        elif lease is not None:
            await self.saver.aput_step_and_release(*step.args(), lease=lease, status=status)
        elif step.writes:
            await self.saver.aput_step(*step.args())
        else:
            await self._call(step.put)

    async def _after(self, previous: asyncio.Task[Any] | None, effect: Put | PutWrites) -> None:
        if previous is not None:
            await asyncio.shield(previous)
        await self._call(effect)

    async def _call(self, effect: Put | PutWrites) -> None:
        if isinstance(effect, Put):
            await self.saver.aput(
                effect.config, effect.checkpoint, effect.metadata, effect.new_versions
            )
        else:
            await self.saver.aput_writes(
                effect.config, effect.writes, effect.task_id, effect.task_path
            )

    async def flush(self, lease: Lease | None = None, status: str | None = None) -> bool:
        """As ``SyncPersister.flush``."""
        folded = lease is not None and self.step is not None and not self.held
        await self._commit_step(lease if folded else None, status)
        await self.release_held()
        first_error: BaseException | None = None
        while self.in_flight:
            try:
                await self.in_flight.popleft()
            except Exception as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        if self.exit is not None:
            for call in self.exit.drain():
                await self._call(call)
        return folded


@dataclasses.dataclass(slots=True)
class HeldStep:
    """A checkpoint waiting to be stored, with the held task writes that go in its commit."""

    writes: list[PutWrites]
    put: Put
    before: HeldStep | None = None
    """A step held for a pure task (``carry``), committed together with this one."""

    def args(self) -> tuple[Any, ...]:
        """``put_step``'s positional arguments."""
        p = self.put
        calls = [w.args() for w in self.writes]
        return (calls, p.config, p.checkpoint, p.metadata, p.new_versions)
