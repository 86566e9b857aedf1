"""One step's commit made ready for the ``STEP`` script, and what to do when its rows are gone.

``Pending`` holds a ``put_step`` once its values are serialized: the checkpoint record, a row per
changed channel with a value (planned on what the saver stored last: full, delta or reference) and
the task writes. ``args`` lays them out as ``STEP`` takes them after the writer's header. A script
run that finds rows missing changes nothing and names them; ``settle`` then plans those values
in full from the checkpoint itself, and the saver sends the step again. ``finish`` records what
was stored (the saver's caches) once the script ran.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tether.checkpoint import deltas
from tether.checkpoint.base import Checkpoint, RunnableConfig, checkpoint_config
from tether.checkpoint.redis import records
from tether.checkpoint.redis.keys import field

Planned = list[tuple[str, str, deltas.BlobRow, deltas.Written | None]]
"""Per changed channel: (channel, version, the row to store, what to remember of it)."""


@dataclasses.dataclass(slots=True)
class Pending:
    saver: Any
    thread_id: str
    ns: str
    checkpoint: Checkpoint
    planned: Planned
    record: list[str | bytes]
    """Checkpoint id, body, metadata, needed fields, release (owner, epoch, status), after."""
    writes: list[str | bytes]
    """The task writes, (mode, field, row) each, flat."""
    token: tuple[str, int] | None
    """The writer's lease token (owner, epoch) from the step's config."""

    @property
    def checkpoint_id(self) -> str:
        return str(self.record[0])

    def args(self) -> list[str | bytes]:
        """``STEP``'s arguments after the writer's header. The script checks the rows of the
        needed fields it does not write itself (the unchanged channels); the bases of chained
        rows are listed."""
        blobs: list[tuple[str, str, bytes]] = [
            (records.link_of(c, row), field(c, v), records.pack_blob(row))
            for c, v, row, _ in self.planned
            if row.kind != deltas.EMPTY  # no value, no row: readers find none and read no value
        ]
        bases = sorted({b[0] for b in blobs if b[0]})
        args = [*self.record, str(len(bases)), *bases, str(len(blobs))]
        for blob in blobs:
            args += blob
        args += self.writes
        return args

    def settle(self, missing: set[str]) -> None:
        """Plan in full the rows that built on a missing row, and write the missing rows of
        unchanged channels again from the checkpoint's values."""
        for i, (channel, version, row, written) in enumerate(self.planned):
            if records.link_of(channel, row) in missing and written is not None:
                self.planned[i] = (
                    channel,
                    version,
                    *deltas.full_row(version, row.type_tag, written.data),
                )
        planned = {p[0] for p in self.planned}
        for channel, raw_version in self.checkpoint["channel_versions"].items():
            version = str(raw_version)
            if channel not in planned and field(channel, version) in missing:
                self.planned.append(self.saver._plan_one(self.checkpoint, channel, version, None))

    def finish(self) -> RunnableConfig:
        """Record what the script stored; the stored checkpoint's config."""
        key = (self.thread_id, self.ns)
        self.saver._cache.remember(((*key, c), written) for c, _, _, written in self.planned)
        self.saver._remember_values(self.thread_id, self.ns, self.checkpoint, self.planned)
        return checkpoint_config(self.thread_id, self.ns, self.checkpoint_id)
