"""``SqliteSaver``: checkpoints in one SQLite file, the embedded default backend.

Storage model (DESIGN.md section 3, ``tether.checkpoint.deltas``): a checkpoint row carries its
versions and its small values (``inline``); a larger value gets a blob row per (channel,
version), written only when the channel changed: a list that grew is stored as a delta (just the
new elements), an unchanged value as a reference, with a full blob whenever the chain since the
last full one outweighs it, so storage grows linearly and any read touches a bounded number of
bytes. Each ``put`` (checkpoint row, blobs, head) is one transaction, and so is each
``put_steps`` (steps held together) and a run's last step with its lease given back; concurrent
writers share commits (``batch``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, ClassVar, NamedTuple

from typing_extensions import Self

from tether.checkpoint import deltas
from tether.checkpoint.appends import dump_extending, hints_of
from tether.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PruneStrategy,
    RunnableConfig,
    SerializerProtocol,
    StepArgs,
    StepCommitSaver,
    SyncBackedAsyncMixin,
    WriteCall,
    as_id_list,
    check_limit,
    check_namespace,
    checkpoint_address,
    checkpoint_config,
    get_checkpoint_id,
    get_checkpoint_metadata,
    get_checkpoint_ns,
    get_thread_id,
    prune_keep_count,
    state_root,
)
from tether.checkpoint.lease import Lease
from tether.checkpoint.serde.base import UnstorableValue
from tether.checkpoint.sqlite import batch, inline, leases, maintenance, pieces, rows
from tether.checkpoint.sqlite import metadata as metadata_json
from tether.checkpoint.sqlite import writes as task_writes
from tether.checkpoint.sqlite.connection import Connections, check_path, reading, storing
from tether.errors import (
    ConfigurationError,
    CorruptDataError,
    SerializationError,
)
from tether.urls import sqlite_path

Rows = list[tuple[Any, ...]]
Planned = list[tuple[str, str, deltas.BlobRow, deltas.Written | None]]
_Build = Callable[[], CheckpointTuple]
Builders = list[_Build]


class Step(NamedTuple):
    """What one ``put_step`` stores, prepared before any statement runs."""

    thread_id: str
    ns: str
    checkpoint_id: str
    row: tuple[Any, ...]
    planned: Planned
    known: inline.Known
    writes: list[Any]  # the task writes, as the backend's ``_encode_writes`` gives them


_new_step: Callable[[tuple[Any, ...]], Step] = functools.partial(tuple.__new__, Step)
"""``Step`` from a tuple, without the Python-level ``__new__`` a NamedTuple has."""

_LIST_PAGE = 64
_log = logging.getLogger("tether.checkpoint.sqlite")


class SqliteSaver(StepCommitSaver, SyncBackedAsyncMixin):
    """Checkpoints in a SQLite file or ``:memory:``: sync and async methods, one writer a thread.

    Build it with ``SqliteSaver.from_conn_string(path)`` (a context manager that closes it), or
    ``SqliteSaver(conn)`` around your own ``sqlite3`` connection. The schema is created or
    upgraded on first use; ``setup()`` does it explicitly.
    """

    supports_leases = True

    # Statements and helper modules a backend that shares this storage model replaces
    # (``tether.checkpoint.postgres`` runs the same code on PostgreSQL).
    _maintenance: Any = maintenance
    _CHECKPOINT_SQL = (
        "INSERT OR REPLACE INTO checkpoints (thread_id, ns, checkpoint_id, parent_id, ts, "
        "step, source, run_id, metadata, body, format) VALUES (?,?,?,?,?,?,?,?,?,?,2)"
    )
    _BLOBS_SQL = (
        "INSERT OR IGNORE INTO blobs (thread_id, ns, channel, version, kind, base_version, "
        "count, depth, chain_bytes, type, data) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    )

    # The checkpoint row ``get_tuple`` reads first: by id, or the thread's head.
    _ONE_SQL, _HEAD_SQL = rows.first_reads(rows.ADDRESSED_COLUMNS)

    # Reads the rows of delta chains (a dialect passes its own statement to ``rows``).
    _fetch_chains = staticmethod(rows.fetch_chains)
    # How stored pending writes are read back: one row per task here (schema v8).
    _fetch_writes = staticmethod(task_writes.fetch)

    # Versions stored without their first zeros (``rows.pack_body``): a file format of
    # schema v6; a backend whose schema predates that format leaves it off.
    _COMPACT_VERSIONS: ClassVar[bool] = True

    def __init__(
        self,
        conn: sqlite3.Connection | None = None,
        *,
        path: str | None = None,
        serde: SerializerProtocol | None = None,
        lease_ttl: float = 30.0,
        synchronous: str = "NORMAL",
        namespace: str | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if conn is None and path is None:
            raise ConfigurationError(
                "SqliteSaver needs a connection or a path: SqliteSaver.from_conn_string('file.db')"
            )
        if path is None:
            path = _path_of(conn)
        else:
            check_path(path)
        self.path = path
        self.lease_ttl = float(lease_ttl)
        self.namespace = None if namespace is None else check_namespace(namespace)
        self._conns = Connections(path, conn, self._before_commit, synchronous, self.namespace)
        self._cache = deltas.WriteCache()
        self._known = inline.KnownValues()
        self._writes = batch.GroupCommit(self._conns)
        self._executor: ThreadPoolExecutor | None = None

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        conn_string: str,
        *,
        serde: SerializerProtocol | None = None,
        lease_ttl: float = 30.0,
        synchronous: str = "NORMAL",
        namespace: str | None = None,
    ) -> Self:
        """A saver on the file at ``conn_string`` (or ``:memory:``); call ``close()`` when done."""
        return cls(
            path=strip_scheme(conn_string),
            serde=serde,
            lease_ttl=lease_ttl,
            synchronous=synchronous,
            namespace=namespace,
        )

    @classmethod
    def from_conn_string(cls, conn_string: str, **options: Any) -> Self:
        """Open (creating if needed) the file at ``conn_string`` or ``:memory:``.

        Use it as LangGraph documents, ``with SqliteSaver.from_conn_string(path) as saver:``
        (closed on exit), or keep the returned saver and ``close()`` it yourself: unlike
        LangGraph's, the returned object is the saver, so passing it straight to
        ``compile(checkpointer=...)`` works too.

        Options: ``serde``, ``lease_ttl`` (seconds, default 30), ``synchronous``
        ("NORMAL": durable against a killed process; "FULL": also against power loss) and
        ``namespace`` (this saver's own tables, ``<namespace>__checkpoints`` and so on, so
        several apps share one file and each sees only its rows).
        """
        return cls.open(conn_string, **options)

    def setup(self) -> None:
        """Create or upgrade the schema now (it also happens on first use). Idempotent."""
        with self._conns.read("set up the schema"):
            pass

    def close(self) -> None:
        """Close every connection this saver opened."""
        self._conns.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def _before_commit(self, conn: sqlite3.Connection) -> None:
        """Called right before each write transaction commits. A seam for crash tests."""

    async def _run_sync(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(4, thread_name_prefix="tether-sqlite")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    # --- writes -----------------------------------------------------------------------------

    def put_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store task writes and the checkpoint that follows them in one commit."""
        return self._commit_steps([(writes, config, checkpoint, metadata, new_versions)], None)

    def put_step_and_release(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        *,
        lease: Lease,
        status: str | None,
    ) -> RunnableConfig:
        """A run's last commit: the step, and the lease given back, in one transaction."""
        args = (writes, config, checkpoint, metadata, new_versions)
        return self._commit_steps([args], (lease, status))

    def put_steps(
        self,
        steps: Sequence[StepArgs],
        *,
        lease: Lease | None = None,
        status: str | None = None,
    ) -> RunnableConfig:
        """Store steps in order in one transaction (and give ``lease`` back in it). If that
        fails, each step is stored on its own, as the default does: the steps before the one
        that fails stay stored, and its error is raised."""
        release = None if lease is None else (lease, status)
        try:
            return self._commit_steps(steps, release)
        except Exception:
            if len(steps) == 1:
                raise
        return super().put_steps(steps, lease=lease, status=status)

    def _commit_steps(
        self, steps: Sequence[StepArgs], release: tuple[Lease, str | None] | None
    ) -> RunnableConfig:
        """Store ``steps`` in order in one transaction, then give back ``release``'s lease."""
        prepared = [(self._prepare_step(*args), args[1]) for args in steps]

        def work(conn: sqlite3.Connection) -> None:
            for step, config in prepared:
                self._store_step(conn, step, config)
            if release is not None:
                leases.release(conn, release[0], release[1], _now())

        last = prepared[-1][0]
        self._writes.run(work, storing((last.checkpoint_id, last.thread_id)))
        for step, _ in prepared:
            stored = self._stored_step(step)
        return stored

    def _store_step(self, conn: sqlite3.Connection, step: Step, config: RunnableConfig) -> None:
        """The statements of one prepared step (inside the caller's transaction)."""
        if step.writes:
            self._store_writes(conn, step.writes)
        if step.planned:
            self._insert_blobs(conn, step.thread_id, step.ns, step.planned)
        self._write_checkpoint(conn, step.thread_id, config, step.row)

    def _prepare_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Step:
        """The rows one step stores: its checkpoint row, planned blobs and encoded writes."""
        thread_id, ns, parent_id = checkpoint_address(config)
        checkpoint_id = checkpoint["id"]
        meta = get_checkpoint_metadata(config, metadata)
        row: tuple[Any, ...] = (
            thread_id,
            ns,
            checkpoint_id,
            parent_id,
            checkpoint["ts"],
            meta.get("step"),
            meta.get("source"),
            meta.get("run_id"),
            metadata_json.to_json(meta, thread_id, checkpoint_id),
        )
        planned, inline_values, known = self._plan_values(thread_id, ns, checkpoint, new_versions)
        row += (rows.pack_body(checkpoint, inline_values, self._COMPACT_VERSIONS),)
        encoded = [self._encode_writes(*call) for call in writes]
        return _new_step((thread_id, ns, checkpoint_id, row, planned, known, encoded))

    def _stored_step(self, step: Step) -> RunnableConfig:
        """Remember what a committed step stored (the next step plans against it)."""
        if step.planned:
            self._cache.remember(
                ((step.thread_id, step.ns, c), written) for c, _, _, written in step.planned
            )
        self._known.put(step.thread_id, step.ns, step.checkpoint_id, step.known)
        return checkpoint_config(step.thread_id, step.ns, step.checkpoint_id)

    def _plan_values(
        self, thread_id: str, ns: str, checkpoint: Checkpoint, new_versions: ChannelVersions
    ) -> tuple[Planned, dict[str, Any], inline.Known]:
        """Blob rows for the changed large values; the body fields of every small value
        (changed or carried from what was last stored: ``inline.pack``'s, built in this loop,
        which saves a second pass over the channels); what to remember as this thread's last
        values."""
        values = checkpoint["channel_values"]
        hints = hints_of(checkpoint)
        before = self._known.get(thread_id, ns)
        planned: Planned = []
        known: inline.Known = {}
        others: dict[str, list[Any] | None] = {}  # inline.pack's pieces
        parts = [b""]
        append, ends, end = parts.append, [], 1
        stored, limit, dumps = inline.make_stored, inline.INLINE_MAX, self.serde.dumps_typed
        name_of, msgpack = inline.packed_name, deltas.MSGPACK_TAG
        for channel, raw_version in checkpoint["channel_versions"].items():
            version = raw_version if type(raw_version) is str else str(raw_version)
            if channel not in values:
                others[channel] = None
                continue
            seen = before.get(channel)
            if channel in new_versions or seen is None or seen.version != version:
                if channel in hints:  # a list that grew: serialize only what was appended
                    previous = self._cache.get((thread_id, ns, channel))
                    tag, data = dump_extending(
                        self.serde, channel, values[channel], hints[channel], previous
                    )
                else:  # dump_channel_value's work without its call (a put makes one a channel)
                    try:
                        tag, data = dumps(values[channel])
                    except UnstorableValue as err:
                        raise err.with_root(state_root(channel)) from None
                if len(data) > limit:
                    known[channel] = stored((version, tag, data, False))
                    if channel in new_versions:
                        key = (thread_id, ns, channel)
                        row = self._cache.plan(key, version, tag, data)
                        planned.append((channel, version, *row))
                    continue
                known[channel] = stored((version, tag, data, True))
            else:  # unchanged since the last checkpoint, no need to serialize it again
                known[channel] = seen
                if not seen.inline:
                    continue
                tag, data = seen.tag, seen.data
            if tag == msgpack:
                name = name_of(channel)
                append(name)
                append(data)
                end += len(name) + len(data)
                ends.append(end)
            else:
                others[channel] = [tag, data]
        return planned, inline.fields(parts, ends, others), known

    def _insert_blobs(
        self, conn: sqlite3.Connection, thread_id: str, ns: str, planned: Planned
    ) -> None:
        """Insert the planned blob rows; one whose base is gone is stored in full instead."""
        bases = {(c, row.base_version) for c, _, row, _ in planned if row.kind in deltas.CHAINED}
        if bases:
            missing = bases - rows.existing_blobs(conn, thread_id, ns, bases)
            for i, (channel, version, row, remembered) in enumerate(planned):
                if (channel, row.base_version) in missing and remembered is not None:
                    # Pruned or deleted by another process since: store this value in full.
                    planned[i] = (
                        channel,
                        version,
                        *deltas.full_row(version, row.type_tag, remembered.data),
                    )
        conn.executemany(
            self._BLOBS_SQL,
            pieces.store(
                conn,
                thread_id,
                [
                    (
                        thread_id,
                        ns,
                        channel,
                        version,
                        row.kind,
                        row.base_version,
                        row.added,
                        row.depth,
                        row.chain_bytes,
                        row.type_tag or None,
                        row.data,
                    )
                    for channel, version, row, _ in planned
                ],
                9,
                10,
            ),
        )

    def _forget(self, thread_ids: Sequence[str] | None = None) -> None:
        self._cache.forget(thread_ids)
        self._known.forget(None if thread_ids is None else list(thread_ids))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes against the checkpoint ``config`` names (idempotent retries)."""
        thread_id = get_thread_id(config)
        encoded = [self._encode_writes(config, writes, task_id, task_path)]

        def work(conn: sqlite3.Connection) -> None:
            self._check_write(conn, thread_id, config)
            self._store_writes(conn, encoded)

        self._writes.run(work, f"store writes of task {task_id!r} in thread {thread_id!r}")

    def _encode_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> Any:
        """One task's writes, serialized for ``_store_writes`` (one row per task)."""
        return task_writes.encode(self.serde, config, writes, task_id, task_path)

    def _store_writes(self, conn: Any, encoded: Sequence[Any]) -> None:
        """Store tasks' encoded writes inside the caller's transaction."""
        task_writes.store(conn, encoded)

    def _write_checkpoint(
        self, conn: Any, thread_id: str, config: RunnableConfig, row: tuple[Any, ...]
    ) -> None:
        """Check the writer's lease (giving a thread its row if it has none: schema v7 has no
        trigger doing it), then insert the checkpoint row."""
        lease = conn.execute(leases.LEASE_SQL, (thread_id,)).fetchone()
        if lease is None:
            conn.execute(_THREAD_SQL, (thread_id, row[4], row[4]))  # stamped with the ts
        leases.judge_write(conn, lease, thread_id, config, self.lease_ttl)
        conn.execute(self._CHECKPOINT_SQL, row)

    def _check_write(self, conn: Any, thread_id: str, config: RunnableConfig) -> None:
        """Refuse a write another run's lease excludes (renewing the writer's own lease)."""
        leases.check_write(conn, thread_id, config, self.lease_ttl)

    # --- reads ------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's head in that namespace.

        One statement when the row carries every value inline and has no pending writes;
        otherwise a read transaction fetches its blobs and writes too.
        """
        read = self._first_read(config)
        row = self._conns.fetch_one(*read, reading((read[1][0],)))
        return self._tuple_from(config, read, row)

    @classmethod
    def _first_read(cls, config: RunnableConfig) -> tuple[str, tuple[str, ...]]:
        """The statement ``get_tuple`` runs first: the checkpoint row ``config`` names."""
        thread_id = get_thread_id(config)
        ns = get_checkpoint_ns(config)
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id is None:
            return cls._HEAD_SQL, (thread_id, ns)
        return cls._ONE_SQL, (thread_id, ns, checkpoint_id)

    def _tuple_from(
        self, config: RunnableConfig, read: tuple[str, tuple[str, ...]], row: Any
    ) -> CheckpointTuple | None:
        """``get_tuple``'s answer, given the row its first statement (``read``) returned."""
        if row is None:
            return None
        sql, params = read  # (thread_id, ns) for the head, (thread_id, ns, checkpoint_id)
        thread_id, ns = params[0], params[1]
        head = len(params) == 2
        row = (thread_id, ns, *row)  # the statement selects ADDRESSED_COLUMNS
        where = rows.where_of(self.path, thread_id, ns, row[2])
        body = rows.unpack_body(row[6], where)
        wanted = rows.blob_channels(body, where)
        if not wanted and not row[7]:  # every value inline, no pending writes: built from row
            if head and self._known.of(thread_id, ns, row[2]) is None:
                self._remember_head(thread_id, ns, row[2], body, {})
            return rows.build_tuple(
                self.serde, row, body, rows.inline_values(self.serde, body, where), [], where
            )
        action = f"read thread {thread_id!r}"
        known = self._known.of(thread_id, ns, row[2])
        cached = _blob_values(known)
        chains: rows.Chains = {}
        writes: list[tuple[str, str, str, bytes]] = []
        moved: _Build | None = None
        if row[7] or any(c not in cached for c, _ in wanted):
            with self._conns.read(action) as conn:
                again = conn.execute(sql, params).fetchone()  # inside one snapshot this time
                if again is None:
                    return None
                again = (thread_id, ns, *again)
                if again[2] != row[2]:  # the head moved meanwhile: read the new one
                    moved = self._fetch(conn, [again])[0]
                else:
                    missing = [pair for pair in wanted if pair[0] not in cached]
                    chains = self._fetch_chains(conn, thread_id, ns, missing)
                    writes = self._fetch_writes(conn, thread_id, ns, [row[2]])[row[2]]
        if moved is not None:
            return moved()
        item = self._build(row, where, body, wanted, chains, writes, cached)
        if head and known is None:
            # The head is what the next write builds on: remember what it stores.
            self._remember_head(thread_id, ns, row[2], body, chains)
        return item

    def _remember_head(
        self, thread_id: str, ns: str, checkpoint_id: str, body: dict[str, Any], chains: rows.Chains
    ) -> None:
        """Remember a head's values and the rows of its blob values, unless known."""
        small = inline.unpack(body)
        known: inline.Known = {}
        fresh = []
        for channel, raw_version in body["channel_versions"].items():
            version = str(raw_version)
            if (typed := small.get(channel)) is not None:
                known[channel] = inline.Stored(version, *typed, True)
                continue
            chain = chains.get((channel, version))
            written = chain.written() if chain else None
            if written is None:
                continue
            known[channel] = inline.Stored(version, written.tag, written.data, False)
            cached = self._cache.get((thread_id, ns, channel))
            if cached is None or cached.version != written.version:
                fresh.append(((thread_id, ns, channel), written))
        self._known.put(thread_id, ns, checkpoint_id, known)
        if fresh:
            self._cache.remember(fresh)

    def _fetch(self, conn: sqlite3.Connection, found: Rows) -> Builders:
        """For checkpoint rows of one thread and namespace: fetch the blob chains and writes
        their values need (in bulk, inside the caller's transaction) and return one builder per
        row, which decodes it later (``list`` decodes a row only when it yields it, so a page
        of decoded values never piles up for the garbage collector)."""
        if not found:
            return []
        thread_id, ns = found[0][0], found[0][1]
        parts = []
        for row in found:
            where = rows.where_of(self.path, row[0], row[1], row[2])
            body = rows.unpack_body(row[6], where)
            parts.append((row, where, body, rows.blob_channels(body, where)))
        chains = self._fetch_chains(conn, thread_id, ns, [p for part in parts for p in part[3]])
        pending = [r[2] for r in found if r[7]]  # rows are FLAGGED_COLUMNS
        writes = self._fetch_writes(conn, thread_id, ns, pending) if pending else {}
        return [
            functools.partial(self._build, row, where, body, wanted, chains, writes.get(row[2], []))
            for row, where, body, wanted in parts
        ]

    def _build(
        self,
        row: tuple[Any, ...],
        where: rows.Where,
        body: dict[str, Any],
        wanted: list[tuple[str, str]],
        chains: rows.Chains,
        writes: list[tuple[str, str, str, bytes]],
        cached: dict[str, inline.Typed] | None = None,
    ) -> CheckpointTuple:
        """Decode one checkpoint row: its inline values, its blob values, its writes."""
        values = rows.inline_values(self.serde, body, where)
        if wanted:
            rows.add_blob_values(self.serde, values, wanted, chains, cached or {}, where)
        return rows.build_tuple(self.serde, row, body, values, writes, where)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first; filtering and paging run in SQL, values load per page
        and decode one checkpoint at a time."""
        query = self._maintenance.ListQuery.build(config, filter, before)
        remaining = check_limit(limit)
        skip_corrupt = not config
        offset_key: tuple[str, str, str] | None = None
        while remaining is None or remaining > 0:
            page_size = _LIST_PAGE if remaining is None else min(_LIST_PAGE, remaining)
            with self._conns.read("list checkpoints") as conn:
                found = query.page(conn, offset_key, page_size)
                if not found:
                    return
                builders = self._fetch_listed(conn, found, skip_corrupt=skip_corrupt)
            accepts = query.accepts if query.python_filter else None
            for build in builders:
                item = _built(build, skip_corrupt) if skip_corrupt else build()
                if item is not None and (accepts is None or accepts(item.metadata)):
                    yield item
                    if remaining is not None:
                        remaining -= 1
                        if remaining == 0:
                            return
            if len(found) < page_size:
                return
            last = found[-1]
            offset_key = (last[2], last[0], last[1])

    def _fetch_listed(
        self, conn: sqlite3.Connection, found: Rows, *, skip_corrupt: bool
    ) -> Builders:
        """A page of ``list``; listing across threads skips (and logs) checkpoints that cannot
        be decoded, so one corrupt row does not hide every other thread."""
        try:
            return self._fetch_mixed(conn, found)
        except (CorruptDataError, SerializationError):
            if not skip_corrupt:
                raise
        builders: Builders = []
        for row in found:
            try:
                builders += self._fetch_mixed(conn, [row])
            except (CorruptDataError, SerializationError) as exc:
                _log.warning("list() skipped a checkpoint it cannot read: %s", exc)
        return builders

    def _fetch_mixed(self, conn: sqlite3.Connection, found: Rows) -> Builders:
        """``_fetch`` for rows of any threads and namespaces (one group per pair)."""
        first = found[0]
        if all(r[0] == first[0] and r[1] == first[1] for r in found):  # listing one thread
            return self._fetch(conn, found)
        groups: dict[tuple[str, str], Rows] = {}
        for row in found:
            groups.setdefault((row[0], row[1]), []).append(row)
        fetched: dict[tuple[str, str, str], _Build] = {}
        for group in groups.values():
            for row, build in zip(group, self._fetch(conn, group), strict=True):
                fetched[(row[0], row[1], row[2])] = build
        return [fetched[(r[0], r[1], r[2])] for r in found]

    # --- maintenance ------------------------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, blob and write of the thread, and give the space back."""
        thread_id = str(thread_id)
        with self._conns.write(f"delete thread {thread_id!r}") as conn:
            self._maintenance.delete_threads(conn, [thread_id])
        self._forget([thread_id])
        self._conns.vacuum()

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, blob and write (all namespaces) to another thread id."""
        source, target = str(source_thread_id), str(target_thread_id)
        if source == target:
            raise ConfigurationError(
                f"copy_thread: source and target are the same thread {source!r}"
            )
        with self._conns.write(f"copy thread {source!r} to {target!r}") as conn:
            self._maintenance.copy_thread(conn, source, target, _now())
        self._forget([target])

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy = "keep_latest",
        keep_last: int | None = None,
    ) -> None:
        """Keep the newest ``keep_last`` checkpoints per namespace (or none with "delete").

        Kept checkpoints stay loadable: blobs they use, and the delta chains under them, are
        kept, and so are their pending writes (an interrupted run can still resume).
        """
        keep = prune_keep_count(strategy, keep_last)
        ids = as_id_list(thread_ids)
        if not ids:
            return
        with self._conns.write("prune threads") as conn:
            if keep == 0:
                self._maintenance.delete_threads(conn, ids)
            else:
                self._maintenance.prune(conn, ids, keep)
        self._forget(ids)
        self._conns.vacuum()

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) written by these runs."""
        ids = as_id_list(run_ids)
        if not ids:
            return
        with self._conns.write("delete runs") as conn:
            touched = self._maintenance.delete_for_runs(conn, ids)
        self._forget(touched)
        self._conns.vacuum()

    # --- leases -----------------------------------------------------------------------------

    def _try_lease(self, thread_id: str) -> Lease | float | None:
        return leases.try_acquire(self._conns, thread_id, self.lease_ttl)

    def release_lease(self, lease: Lease, status: str | None = "idle") -> None:
        with self._conns.write(f"release the lease on thread {lease.thread_id!r}") as conn:
            leases.release(conn, lease, status, _now())


def _built(build: _Build, skip_corrupt: bool) -> CheckpointTuple | None:
    """``build()``; None (logged) when it cannot be decoded and ``skip_corrupt`` is set."""
    try:
        return build()
    except (CorruptDataError, SerializationError) as exc:
        if not skip_corrupt:
            raise
        _log.warning("list() skipped a checkpoint it cannot read: %s", exc)
        return None


def _blob_values(known: inline.Known | None) -> dict[str, inline.Typed]:
    """The serialized blob values of a remembered checkpoint, by channel."""
    return {c: (k.tag, k.data) for c, k in known.items() if not k.inline} if known else {}


_THREAD_SQL = (
    "INSERT INTO threads (thread_id, created_at, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (thread_id) DO NOTHING"
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def strip_scheme(conn_string: str) -> str:
    """The path a ``from_conn_string`` argument names (``tether.urls.sqlite_path``)."""
    return sqlite_path(conn_string)


def _path_of(conn: sqlite3.Connection | None) -> str:
    assert conn is not None
    row = conn.execute("PRAGMA database_list").fetchone()
    return row[2] or ":memory:"
