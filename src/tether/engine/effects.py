"""The I/O requests the sans-I/O engine core yields; a sync and an async driver carry them out."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.engine.task import Task


@dataclasses.dataclass(slots=True)
class Load:
    """Read one checkpoint tuple (``saver.get_tuple``); the result is sent back."""

    config: dict[str, Any]


@dataclasses.dataclass(slots=True)
class Put:
    """Store a checkpoint (``saver.put``), subject to the run's durability."""

    config: dict[str, Any]
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    new_versions: dict[str, Any]


@dataclasses.dataclass(slots=True)
class PutWrites:
    """Store a task's writes against a checkpoint (``saver.put_writes``)."""

    config: dict[str, Any]
    writes: list[tuple[str, Any]]
    task_id: str
    task_path: str

    def args(self) -> tuple[dict[str, Any], list[tuple[str, Any]], str, str]:
        """``put_writes``'s positional arguments."""
        return (self.config, self.writes, self.task_id, self.task_path)


@dataclasses.dataclass(slots=True)
class RunTasks:
    """Run these tasks (in parallel when several); the driver reports each as it finishes."""

    tasks: list[Task]


@dataclasses.dataclass(slots=True)
class AcquireLease:
    """Take the thread's writer lease, then read the checkpoint ``load`` names
    (``saver.acquire_and_load``, one round trip where the backend can); ``(lease, tuple)`` is
    sent back."""

    thread_id: str
    wait: float | None
    load: dict[str, Any]


@dataclasses.dataclass(slots=True)
class Emit:
    """A stream chunk for the caller."""

    mode: str
    data: Any
    ns: tuple[str, ...] = ()


Effect = Load | Put | PutWrites | RunTasks | Emit | AcquireLease
