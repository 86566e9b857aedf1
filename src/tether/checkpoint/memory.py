"""``InMemorySaver``: the saver contract in process memory, for tests, demos and short runs.

It keeps the rows every durable backend keeps (DESIGN.md section 3), as dicts:

- per thread a record: created_at, updated_at, metadata (the scalar user keys of its
  checkpoints' metadata), and its namespaces;
- per (thread, namespace): the checkpoint rows (checkpoint without channel values, metadata,
  parent id; serialized), their ids in ascending order (the head is the last one), the channel
  values as blob rows keyed (channel, version), and the pending writes keyed by checkpoint id
  and (task_id, idx).

Blob rows follow the storage model of ``tether.checkpoint.deltas``, as the SQLite backend does:
a list that grew stores only its new elements, an unchanged value stores a reference, so memory
grows linearly with a conversation instead of holding a full copy of every version.

Everything stored is serialized, so mutating a value after ``put`` cannot change history (a
read may return the same message objects as an earlier read: ``tether.checkpoint.serde.recent``).
One lock guards the dicts; values are encoded before and decoded after holding it.
"""

from __future__ import annotations

import builtins
import threading
import time
from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from tether.checkpoint import deltas
from tether.checkpoint.appends import dump_grown, hints_of
from tether.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PruneStrategy,
    RunnableConfig,
    SerializerProtocol,
    SyncBackedAsyncMixin,
    as_id_list,
    check_limit,
    checkpoint_address,
    checkpoint_config,
    dump_channel_value,
    dump_value,
    get_checkpoint_metadata,
    index_writes,
    list_scope,
    prune_keep_count,
)
from tether.checkpoint.serde.base import UnstorableValue
from tether.constants import THREAD_ID
from tether.errors import ConfigurationError, MissingConfigKey

__all__ = ["InMemorySaver", "MemorySaver", "ThreadInfo"]

Typed = tuple[str, bytes]
Value = tuple[str, bytes | deltas.Grown]
"""A channel value to store or decode: a ``Grown`` as ``appends.dump_grown`` made it."""
Version = str | int | float
WriteRow = tuple[str, Typed, str]
"""(channel, serialized value, task_path) of one pending write."""

# Metadata keys that describe one checkpoint, not the thread; kept out of the thread record.
_PER_CHECKPOINT_KEYS = frozenset({"source", "step", "parents", "run_id", "writes", THREAD_ID})
_MISSING = object()


class _Row:
    """One stored checkpoint. Never mutated once built, so copies may share it."""

    __slots__ = ("checkpoint", "metadata", "parent_id", "run_id")

    def __init__(
        self, checkpoint: Typed, metadata: Typed, parent_id: str | None, run_id: str | None
    ) -> None:
        self.checkpoint = checkpoint
        self.metadata = metadata
        self.parent_id = parent_id
        self.run_id = run_id


class _Namespace:
    """The checkpoints, blobs and writes of one (thread, checkpoint_ns)."""

    __slots__ = ("blobs", "ids", "last", "rows", "writes")

    def __init__(self) -> None:
        self.ids: list[str] = []  # ascending; ids[-1] is the head
        self.rows: dict[str, _Row] = {}
        self.blobs: dict[tuple[str, str], deltas.BlobRow] = {}  # keyed (channel, str(version))
        self.last: dict[str, deltas.Written] = {}  # per channel: what was stored last
        self.writes: dict[str, dict[tuple[str, int], WriteRow]] = {}

    def store(self, channel: str, version: str, typed: Value | None) -> None:
        """Store a channel's value at ``version`` as a full, delta, reference or empty row."""
        key = (channel, version)
        if key in self.blobs:
            return
        if typed is None:
            self.blobs[key] = deltas.EMPTY_ROW  # self.last stays: a later value may build on it
            return
        previous = self.last.get(channel)
        if previous is not None and (channel, previous.version) not in self.blobs:
            previous = None  # pruned since
        row, self.last[channel] = deltas.plan(version, typed[0], typed[1], previous)
        self.blobs[key] = row

    def lookup(self, channel: str, version: Version) -> Value | deltas.Chain:
        """The serialized value at ``version`` if it is the one stored last (or a reference to
        it), else the chain of rows to assemble it from (outside the lock)."""
        key = (channel, str(version))
        row = self.blobs.get(key)
        target = row.base_version if row is not None and row.kind == deltas.REF else key[1]
        last = self.last.get(channel)
        if row is not None and last is not None and last.version == target:
            return last.tag, last.body
        return deltas.walk(self.blobs, channel, key[1])

    def add(self, checkpoint_id: str, row: _Row) -> None:
        if checkpoint_id not in self.rows:
            if not self.ids or checkpoint_id > self.ids[-1]:
                self.ids.append(checkpoint_id)
            else:
                insort(self.ids, checkpoint_id)
        self.rows[checkpoint_id] = row

    def remove(self, checkpoint_ids: builtins.list[str]) -> None:
        for checkpoint_id in checkpoint_ids:
            self.rows.pop(checkpoint_id, None)
            self.writes.pop(checkpoint_id, None)
        self.ids = [i for i in self.ids if i in self.rows]


class _Thread:
    __slots__ = ("created_at", "metadata", "namespaces", "updated_at")

    def __init__(self, now: float) -> None:
        self.created_at = now
        self.updated_at = now
        self.metadata: dict[str, Any] = {}
        self.namespaces: dict[str, _Namespace] = {}


@dataclass(frozen=True)
class ThreadInfo:
    """What the saver knows about a thread without reading any state."""

    thread_id: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    """Scalar user keys of its checkpoints' metadata (the newest value of each key)."""
    namespaces: tuple[str, ...]
    checkpoint_count: int


class InMemorySaver(SyncBackedAsyncMixin):
    """A checkpoint saver that keeps everything in this process's memory (lost on exit).

    Thread-safe. The async methods call the sync ones (no I/O to wait for).
    """

    is_in_process = True
    """Calls finish in microseconds, so runs write through it inline, never via a thread."""

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self._threads: dict[str, _Thread] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> InMemorySaver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def __aenter__(self) -> InMemorySaver:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    # --- writing ------------------------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, ns, parent_id = checkpoint_address(config)
        checkpoint_id = checkpoint.get("id")
        if not checkpoint_id:
            raise ConfigurationError(
                f"cannot store a checkpoint without an 'id' in thread {thread_id!r}: "
                "build checkpoints with tether.checkpoint.base.empty_checkpoint()"
            )
        serde = self.serde
        values = checkpoint["channel_values"]
        hints = hints_of(checkpoint)
        if hints:
            last = self._last_written(thread_id, ns)
            blobs = [
                (
                    channel,
                    str(version),
                    dump_grown(
                        serde, channel, values[channel], hints.get(channel), last.get(channel)
                    )
                    if channel in values
                    else None,
                )
                for channel, version in new_versions.items()
            ]
        else:
            dumps = serde.dumps_typed
            try:
                blobs = [
                    (channel, str(version), dumps(values[channel]) if channel in values else None)
                    for channel, version in new_versions.items()
                ]
            except UnstorableValue:  # again, so the error names the channel
                blobs = [
                    (
                        channel,
                        str(version),
                        dump_channel_value(serde, channel, values[channel])
                        if channel in values
                        else None,
                    )
                    for channel, version in new_versions.items()
                ]
        full_metadata = get_checkpoint_metadata(config, metadata)
        run_id = full_metadata.get("run_id")
        bookkeeping = dict(checkpoint)
        bookkeeping.pop("channel_values", None)
        row = _Row(
            dump_value(serde, bookkeeping, "checkpoint"),
            dump_value(serde, full_metadata, "metadata"),
            parent_id,
            None if run_id is None else str(run_id),
        )
        with self._lock:
            thread, space = self._space_for_write(thread_id, ns)
            for channel, key, blob in blobs:
                space.store(channel, key, blob)
            stored = space.blobs
            for channel, version in checkpoint["channel_versions"].items():
                if channel in values and (channel, str(version)) not in stored:
                    # carried over from a parent whose rows were pruned since: store it again
                    space.store(
                        channel, str(version), dump_channel_value(serde, channel, values[channel])
                    )
            space.add(checkpoint_id, row)
            _remember_metadata(thread, full_metadata)
        return checkpoint_config(thread_id, ns, checkpoint_id)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        thread_id, ns, checkpoint_id = checkpoint_address(config)
        if checkpoint_id is None:
            raise MissingConfigKey(
                f"put_writes for task {task_id!r} in thread {thread_id!r} needs "
                "config['configurable']['checkpoint_id']: the checkpoint the writes belong to"
            )
        indexed, upsert = index_writes(writes)
        serde = self.serde
        dumps = serde.dumps_typed
        try:
            rows = [
                ((task_id, idx), (channel, dumps(value), task_path))
                for idx, channel, value in indexed
            ]
        except UnstorableValue:  # again, so the error names the channel
            rows = [
                ((task_id, idx), (channel, dump_channel_value(serde, channel, value), task_path))
                for idx, channel, value in indexed
            ]
        if not rows:
            return
        with self._lock:
            _, space = self._space_for_write(thread_id, ns)
            bucket = space.writes.setdefault(checkpoint_id, {})
            if upsert:
                bucket.update(rows)
            else:
                for key, write in rows:
                    bucket.setdefault(key, write)

    def _last_written(self, thread_id: str, ns: str) -> dict[str, deltas.Written]:
        """What was stored last per channel of (thread, namespace), read without the lock: the
        entries are immutable and a stale one only costs serializing a value in full."""
        thread = self._threads.get(thread_id)
        space = thread.namespaces.get(ns) if thread is not None else None
        return space.last if space is not None else {}

    def _space_for_write(self, thread_id: str, ns: str) -> tuple[_Thread, _Namespace]:
        """Return the thread and namespace records, creating them. Call with the lock held."""
        now = time.time()
        thread = self._threads.get(thread_id)
        if thread is None:
            thread = self._threads[thread_id] = _Thread(now)
        thread.updated_at = now
        space = thread.namespaces.get(ns)
        if space is None:
            space = thread.namespaces[ns] = _Namespace()
        return thread, space

    # --- reading ------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._load(*checkpoint_address(config), None)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        keys = self._select(config, before)
        return self._iter_loaded(keys, filter, check_limit(limit))

    def _select(
        self, config: RunnableConfig | None, before: RunnableConfig | None
    ) -> builtins.list[tuple[str, str, str]]:
        """Return (checkpoint_id, thread_id, ns) of the candidates, newest first."""
        thread_id, ns, exact, before_id = list_scope(config, before)
        keys: builtins.list[tuple[str, str, str]] = []
        with self._lock:
            if thread_id is None:
                threads = builtins.list(self._threads.items())
            else:
                found = self._threads.get(thread_id)
                threads = [(thread_id, found)] if found else []
            for tid, thread in threads:
                for space_ns, space in thread.namespaces.items():
                    if ns is not None and space_ns != ns:
                        continue
                    ids = space.ids
                    if exact is not None:
                        chosen = [exact] if exact in space.rows else []
                    else:
                        chosen = ids if before_id is None else ids[: bisect_left(ids, before_id)]
                    keys.extend((cid, tid, space_ns) for cid in chosen)
        if exact is not None and before_id is not None:
            keys = [k for k in keys if k[0] < before_id]
        keys.sort(reverse=True)
        return keys

    def _iter_loaded(
        self,
        keys: builtins.list[tuple[str, str, str]],
        filter: dict[str, Any] | None,
        limit: int | None,
    ) -> Iterator[CheckpointTuple]:
        count = 0
        for checkpoint_id, thread_id, ns in keys:
            if limit is not None and count >= limit:
                return
            item = self._load(thread_id, ns, checkpoint_id, filter)
            if item is not None:  # None: deleted since _select, or filtered out
                count += 1
                yield item

    def _load(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str | None,
        filter: dict[str, Any] | None,
    ) -> CheckpointTuple | None:
        """Load one checkpoint (the head when ``checkpoint_id`` is None) if it matches."""
        loads = self.serde.loads_typed
        with self._lock:
            thread = self._threads.get(thread_id)
            space = thread.namespaces.get(ns) if thread else None
            if space is None:
                return None
            if checkpoint_id is None:
                if not space.ids:
                    return None
                checkpoint_id = space.ids[-1]
            row = space.rows.get(checkpoint_id)
            if row is None:
                return None
            metadata = loads(row.metadata)
            if filter and not _matches(metadata, filter):
                return None
            checkpoint = loads(row.checkpoint)
            stored = [
                (channel, space.lookup(channel, version))
                for channel, version in checkpoint["channel_versions"].items()
            ]
            bucket = space.writes.get(checkpoint_id)
            writes = (
                sorted((path, tid, idx, ch, v) for (tid, idx), (ch, v, path) in bucket.items())
                if bucket
                else []
            )
        values = {}
        for channel, found in stored:
            typed = found.value() if isinstance(found, deltas.Chain) and found else found
            if isinstance(typed, tuple):  # a Grown only when serde decodes it (dump_grown)
                values[channel] = loads(typed)  # type: ignore[arg-type]
        checkpoint["channel_values"] = values
        parent_id = row.parent_id
        return CheckpointTuple(
            config=checkpoint_config(thread_id, ns, checkpoint_id),
            checkpoint=checkpoint,
            metadata=metadata,
            parent_config=checkpoint_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=[(tid, ch, loads(v)) for _, tid, _, ch, v in writes],
        )

    def thread_info(self, thread_id: str) -> ThreadInfo | None:
        """Return the thread's record, or None if the saver has nothing for it."""
        with self._lock:
            thread = self._threads.get(str(thread_id))
            if thread is None:
                return None
            return ThreadInfo(
                thread_id=str(thread_id),
                created_at=datetime.fromtimestamp(thread.created_at, timezone.utc),
                updated_at=datetime.fromtimestamp(thread.updated_at, timezone.utc),
                metadata=dict(thread.metadata),
                namespaces=tuple(thread.namespaces),
                checkpoint_count=sum(len(s.rows) for s in thread.namespaces.values()),
            )

    # --- maintenance --------------------------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self._threads.pop(str(thread_id), None)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        runs = set(as_id_list(run_ids))
        if not runs:
            return
        with self._lock:
            for thread_id, thread in builtins.list(self._threads.items()):
                for space in thread.namespaces.values():
                    doomed = [cid for cid, row in space.rows.items() if row.run_id in runs]
                    if doomed:
                        space.remove(doomed)
                        self._collect_blobs(space)
                self._drop_if_empty(thread_id, thread)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy a thread's checkpoints, values and writes (every namespace) into another.

        Ids and lineage are kept; metadata ``thread_id`` is rewritten to the target. Existing
        checkpoints of the target stay. A source with nothing stored copies nothing.
        """
        source, target = str(source_thread_id), str(target_thread_id)
        if source == target:
            raise ConfigurationError(f"copy_thread: source and target are both {source!r}")
        with self._lock:
            src = self._threads.get(source)
            if src is None:
                return
            dst = self._threads.get(target) or _Thread(time.time())
            dst.metadata.update(src.metadata)
            for ns, space in src.namespaces.items():
                into = dst.namespaces.setdefault(ns, _Namespace())
                for key, blob in space.blobs.items():
                    into.blobs.setdefault(key, blob)
                for checkpoint_id, row in space.rows.items():
                    into.add(checkpoint_id, self._retarget(row, source, target))
                for checkpoint_id, bucket in space.writes.items():
                    into.writes.setdefault(checkpoint_id, {}).update(bucket)
            dst.updated_at = time.time()
            self._threads[target] = dst

    def _retarget(self, row: _Row, source: str, target: str) -> _Row:
        metadata = self.serde.loads_typed(row.metadata)
        if metadata.get(THREAD_ID) != source:
            return row
        metadata[THREAD_ID] = target
        return _Row(row.checkpoint, self.serde.dumps_typed(metadata), row.parent_id, row.run_id)

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy = "keep_latest",
        keep_last: int | None = None,
    ) -> None:
        """Keep the newest ``keep_last`` (default 1) checkpoints per namespace of each thread,
        with their writes and every value they point at; ``strategy="delete"`` deletes the
        threads. Kept checkpoints still name their (possibly deleted) parents."""
        keep = prune_keep_count(strategy, keep_last)
        with self._lock:
            for thread_id in as_id_list(thread_ids):
                thread = self._threads.get(thread_id)
                if thread is None:
                    continue
                if keep == 0:
                    del self._threads[thread_id]
                    continue
                for space in thread.namespaces.values():
                    space.remove(space.ids[:-keep])
                    for checkpoint_id in [c for c in space.writes if c not in space.rows]:
                        del space.writes[checkpoint_id]
                    self._collect_blobs(space)

    def _collect_blobs(self, space: _Namespace) -> None:
        """Drop blobs no remaining checkpoint points at. Call with the lock held."""
        loads = self.serde.loads_typed
        wanted = [
            (channel, str(version))
            for row in space.rows.values()
            for channel, version in loads(row.checkpoint)["channel_versions"].items()
        ]
        needed: set[tuple[str, str]] = set()
        while wanted:
            key = wanted.pop()
            row = space.blobs.get(key)
            if key in needed or row is None:
                continue
            needed.add(key)
            if row.kind in deltas.CHAINED and row.base_version is not None:
                wanted.append((key[0], row.base_version))
        space.blobs = {key: blob for key, blob in space.blobs.items() if key in needed}

    def _drop_if_empty(self, thread_id: str, thread: _Thread) -> None:
        for ns, space in builtins.list(thread.namespaces.items()):
            if not space.rows and not space.writes:
                del thread.namespaces[ns]
        if not thread.namespaces:
            del self._threads[thread_id]


MemorySaver = InMemorySaver
"""LangGraph's older name for ``InMemorySaver``."""


def _matches(metadata: dict[str, Any], filter: dict[str, Any]) -> bool:
    return all(metadata.get(key, _MISSING) == value for key, value in filter.items())


def _remember_metadata(thread: _Thread, metadata: CheckpointMetadata) -> None:
    for key, value in metadata.items():
        if key not in _PER_CHECKPOINT_KEYS and isinstance(value, (str, int, float, bool)):
            thread.metadata[key] = value
