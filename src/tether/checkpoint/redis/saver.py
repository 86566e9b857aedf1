"""``RedisSaver``: checkpoints in plain Redis or Valkey (core commands only), cluster-safe.

The storage model is SQLite's (DESIGN.md section 3, ``tether.checkpoint.deltas``): a checkpoint
record per step, a blob row per changed channel with a value (full, delta or reference: a
channel without a value has no row and is not in the checkpoint's ``need`` list), pending
writes per task, a head per namespace (the greatest id of a lexically ordered set), and a thread
catalog (a sorted set by last update). Every key of a thread shares one hash tag
(``tether.checkpoint.redis.keys``) and every change is one Lua script (``scripts``), so a step's
checkpoint, blobs, head move and task writes land together, on Redis Cluster too.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from typing_extensions import Self

from tether.checkpoint import deltas, lease
from tether.checkpoint.appends import Extends, dump_extending, hints_of
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
    dump_channel_value,
    dump_value,
    get_checkpoint_id,
    get_checkpoint_metadata,
    get_checkpoint_ns,
    get_thread_id,
    index_writes,
    prune_keep_count,
)
from tether.checkpoint.lease import Lease
from tether.checkpoint.redis import calls as calls_
from tether.checkpoint.redis import connection, maintenance, records, scripts
from tether.checkpoint.redis.keys import ThreadKeys, check_prefix, field, netstrings, ns_tag
from tether.checkpoint.redis.steps import Pending, Planned
from tether.checkpoint.thread_cache import ThreadCache
from tether.errors import ConfigurationError, MissingConfigKey, StorageError
from tether.urls import mask_url

Op = tuple[str, str, str, bytes | str]
"""One operation of the ``APPLY`` script: (op, key index or link, field, value)."""

_WRITES, _WK = "11", "12"
_KEEP_LEASE = ["", "", ""]
"""``STEP``'s release arguments when the lease is kept."""
_MAX_NAMES = 4096
"""Entries kept by each memo of key names and fields below."""

_field = functools.lru_cache(maxsize=_MAX_NAMES)(field)
"""``field`` of the versions written lately (most of a ``need`` list is the previous step's)."""


@functools.lru_cache(maxsize=_MAX_NAMES)
def _write_names(prefix: str, thread_id: str, ns: str) -> tuple[str, str, str]:
    """The thread key, the catalog key and the namespace's key tag a write script of
    (thread, namespace) uses (memoized: a run writes the same ones at every step)."""
    keys = ThreadKeys(prefix, thread_id)
    return keys.thread, keys.catalog, ns_tag(ns)


class RedisSaver(StepCommitSaver, SyncBackedAsyncMixin):
    """Checkpoints in Redis: sync and async methods, one writer per thread, optional TTL.

    ``RedisSaver.from_conn_string("redis://localhost:6379/0")`` (a context manager that closes
    it, or the saver itself), or ``RedisSaver(client)`` around a ``redis.Redis`` or
    ``redis.cluster.RedisCluster`` you opened (``decode_responses=False``; you close it).
    ``ttl={"default_ttl": minutes, "refresh_on_read": bool}`` expires a whole thread that long
    after its last write (or read); ``key_prefix`` keeps several apps apart on one server.
    """

    supports_leases = True

    def __init__(
        self,
        client: Any = None,
        *,
        url: str | None = None,
        key_prefix: str = "tether:",
        ttl: dict[str, Any] | None = None,
        serde: SerializerProtocol | None = None,
        lease_ttl: float = 30.0,
        **client_options: Any,
    ) -> None:
        super().__init__(serde=serde)
        if client is None and url is None:
            raise ConfigurationError(
                "RedisSaver needs a client or a URL: RedisSaver.from_conn_string('redis://...')"
            )
        self.prefix = check_prefix(key_prefix)
        self.ttl_ms, self.refresh_on_read = _ttl_options(ttl)
        self._owns_client = client is None
        if client is None:
            assert url is not None
            client, self.is_cluster = connection.open_client(url, **client_options)
        else:
            self.is_cluster = type(client).__name__ == "RedisCluster"
        self.client = client
        self.url = mask_url(url) if url else connection.describe(client)
        self.lease_ttl = float(lease_ttl)
        self._cache = deltas.WriteCache()
        self._known: ThreadCache[tuple[str, str], records.Known] = ThreadCache(1024)
        self._scripts = {
            name: client.register_script(getattr(scripts, name))
            for name in ("STEP", "APPLY", "READ", "LEASE", "LEASE_READ", "RELEASE", "DROP", "PIN")
        }
        self._call = calls_.ScriptCaller(client, is_cluster=self.is_cluster)
        self._executor: ThreadPoolExecutor | None = None

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    def from_conn_string(cls, conn_string: str, **options: Any) -> Self:
        """A saver on the server at ``conn_string`` (``redis://``, ``rediss://``,
        ``redis+cluster://``); use it with ``with`` (closed on exit) or keep and ``close()`` it.

        Options: ``key_prefix``, ``ttl``, ``serde``, ``lease_ttl`` (seconds, default 30), and
        any ``redis.Redis.from_url`` keyword (``socket_timeout``, ...).
        """
        return cls(url=conn_string, **options)

    def setup(self) -> None:
        """Check the server answers and load the scripts. Idempotent; nothing else to create."""
        with self._mapped("set up"):
            self.client.ping()
            for script in self._scripts.values():
                script.sha = self.client.script_load(script.script)

    def close(self) -> None:
        """Close the client if this saver opened it, and the worker threads of async calls."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._call.close()
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def _run_sync(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(4, thread_name_prefix="tether-redis")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def _mapped(self, action: str, *args: object) -> connection.mapped:
        return connection.mapped(self.url, action, *args)

    def _keys(self, thread_id: str) -> ThreadKeys:
        return ThreadKeys(self.prefix, thread_id)

    # --- writes -----------------------------------------------------------------------------

    def put_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store task writes and the checkpoint that follows them in one script run."""
        return self._put_step((writes, config, checkpoint, metadata, new_versions), _KEEP_LEASE)

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
        """``put_step`` that also gives the lease back (``release_lease``), in the same run."""
        args = (writes, config, checkpoint, metadata, new_versions)
        return self._put_step(args, _release(lease, status))

    def put_steps(
        self,
        steps: Sequence[StepArgs],
        *,
        lease: Lease | None = None,
        status: str | None = None,
    ) -> RunnableConfig:
        """Two steps of one namespace (a checkpoint held over a pure step, and the next) go in
        one round trip: two ``STEP`` runs in order, the second guarded to change nothing unless
        the first's checkpoint is stored. Anything else: one call per step."""
        if len(steps) != 2 or self._call.pool is None or not self._same_namespace(steps):
            return super().put_steps(steps, lease=lease, status=status)
        first = self._prepare(steps[0], _KEEP_LEASE)
        release = _KEEP_LEASE if lease is None else _release(lease, status)
        second = self._prepare(steps[1], release, after=first.checkpoint_id)
        missing = self._send([first, second])
        for step, gone in zip((first, second), missing, strict=True):
            if gone is not None:
                self._commit(step, gone)
            stored = step.finish()
        return stored

    @staticmethod
    def _same_namespace(steps: Sequence[StepArgs]) -> bool:
        """Whether every checkpoint and task write of ``steps`` is in one namespace."""
        configs = [s[1] for s in steps] + [call[0] for s in steps for call in s[0]]
        return len({(get_thread_id(c), get_checkpoint_ns(c)) for c in configs}) == 1

    def _put_step(self, args: StepArgs, release: list[str]) -> RunnableConfig:
        """``put_step``; ``release``: (owner, epoch, status) of a lease to give back, or empty."""
        step = self._prepare(args, release)
        self._commit(step)
        return step.finish()

    def _prepare(self, args: StepArgs, release: list[str], *, after: str = "") -> Pending:
        """A step serialized and planned for ``STEP`` (task writes of another namespace are
        stored now, with ``put_writes``); ``after``: a checkpoint that must be stored first."""
        writes, config, checkpoint, metadata, new_versions = args
        thread_id, ns = get_thread_id(config), get_checkpoint_ns(config)
        checkpoint_id = checkpoint.get("id")
        if not checkpoint_id:
            raise ConfigurationError(
                f"cannot store a checkpoint without an 'id' in thread {thread_id!r}: "
                "build checkpoints with tether.checkpoint.base.empty_checkpoint()"
            )
        rows: list[str | bytes] = []
        for call in writes:
            if (get_thread_id(call[0]), get_checkpoint_ns(call[0])) == (thread_id, ns):
                rows += self._write_rows(*call)
            else:
                self.put_writes(*call)
        meta = get_checkpoint_metadata(config, metadata)
        body = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        parent_id = get_checkpoint_id(config)
        record: list[str | bytes] = [
            checkpoint_id,
            records.pack_body(
                dump_value(self.serde, body, "checkpoint"), parent_id, meta.get("run_id")
            ),
            records.pack_meta(dump_value(self.serde, meta, "metadata")),
            self._need(checkpoint["channel_versions"], checkpoint["channel_values"]),
            *release,
            after,
        ]
        planned = self._plan(thread_id, ns, checkpoint, new_versions)
        token = lease.lease_token(config)
        return Pending(self, thread_id, ns, checkpoint, planned, record, rows, token)

    def _need(self, versions: ChannelVersions, values: Mapping[str, Any]) -> str:
        """The ``need`` list of a checkpoint: ``field(channel, version)`` of each of its
        channels with a value, one a line (memoized: most are the previous step's)."""
        return "\n".join(
            _field(channel, raw_version if raw_version.__class__ is str else str(raw_version))
            for channel, raw_version in versions.items()
            if channel in values
        )

    def _remember_values(
        self, thread_id: str, ns: str, checkpoint: Checkpoint, planned: Planned
    ) -> None:
        """Remember the serialized values of the checkpoint just stored, so reading it back
        skips their rows."""
        before = self._known.get((thread_id, ns)) or {}
        changed = {c: (v, w) for c, v, _, w in planned}
        known: records.Known = {}
        for channel, raw_version in checkpoint["channel_versions"].items():
            version = str(raw_version)
            if channel in changed:
                written = changed[channel][1]
                if written is not None and changed[channel][0] == version:
                    known[channel] = (version, written.tag, written.data)
            elif channel in before and before[channel][0] == version:
                known[channel] = before[channel]
        self._known.put((thread_id, ns), known)

    def _plan(
        self, thread_id: str, ns: str, checkpoint: Checkpoint, new_versions: ChannelVersions
    ) -> Planned:
        """A row per changed channel: full, delta or reference (what was stored last), or
        ``EMPTY_ROW`` for a channel without a value (``Pending.args`` stores none for it)."""
        hints = hints_of(checkpoint)
        return [
            self._plan_one(checkpoint, channel, str(version), (thread_id, ns, channel), hints)
            for channel, version in new_versions.items()
        ]

    def _plan_one(
        self,
        checkpoint: Checkpoint,
        channel: str,
        version: str,
        key: deltas.Key | None,
        hints: Mapping[str, Extends] | None = None,
    ) -> tuple[str, str, deltas.BlobRow, deltas.Written | None]:
        """How to store one channel's value: planned on what was stored last (``key``), or in
        full (``key`` None). ``hints``: the checkpoint's (``hints_of``), if at hand."""
        values = checkpoint["channel_values"]
        if channel not in values:
            return channel, version, deltas.EMPTY_ROW, None
        hint = (hints_of(checkpoint) if hints is None else hints).get(channel)
        previous = self._cache.get(key) if hint is not None and key is not None else None
        tag, data = dump_extending(self.serde, channel, values[channel], hint, previous)
        if key is None:
            return channel, version, *deltas.full_row(version, tag, data)
        return channel, version, *self._cache.plan(key, version, tag, data)

    def _commit(self, step: Pending, missing: set[str] | None = None) -> None:
        """Run ``STEP`` until it stores ``step`` (``missing``: the rows a run found gone).
        Rows the checkpoint reads but does not write (its unchanged channels, the bases of its
        deltas and references) must exist; one that is gone (pruned, or deleted by another
        process) is written in full from the checkpoint's own value, and the script runs again."""
        for _ in range(3):
            if missing is not None:
                step.settle(missing)
            missing = self._send([step])[0]
            if missing is None:
                return
        raise StorageError(
            f"could not store checkpoint {step.checkpoint_id!r} in thread {step.thread_id!r}: "
            "its rows kept vanishing"
        )

    def _send(self, pending: Sequence[Pending]) -> list[set[str] | None]:
        """Run ``STEP`` for each of ``pending``, in order, in one round trip: per step, None or
        the rows it found missing (it changed nothing then)."""
        first = pending[0]
        calls: list[calls_.Call] = []
        for step in pending:
            names, head = self._header(step.thread_id, step.ns, step.token)
            calls.append((self._scripts["STEP"], names, head + step.args()))
        with self._mapped("store checkpoint %r in thread %r", first.checkpoint_id, first.thread_id):
            replies = self._call.many(calls)
            if self.is_cluster:
                self._touch_catalog(first.thread_id)
        pairs = zip(pending, replies, strict=True)
        return [self._outcome(step.thread_id, step.token, reply) for step, reply in pairs]

    def _touch_catalog(self, thread_id: str) -> None:
        """On a cluster the catalog is in another slot: it is updated after the write."""
        self.client.zadd(self._keys(thread_id).catalog, {thread_id: time.time()})

    def apply(
        self,
        thread_id: str,
        ns: str,
        ops: Sequence[Op],
        bases: Sequence[str] = (),
        *,
        config: RunnableConfig | None = None,
        action: str,
        touch: bool = True,
    ) -> list[str] | None:
        """Run the ``APPLY`` script on one namespace of a thread: None, or the base fields that
        are missing (nothing was changed then). ``config`` set: a write checked against the
        thread's lease (``ThreadBusy``/``ConflictError``)."""
        token = lease.lease_token(config) if config is not None else None
        args: list[str | bytes] = [
            "1" if config is not None else "0",
            "1" if touch else "0",
            str(len(bases)),
            *bases,
            *itertools.chain.from_iterable(ops),
        ]
        names, head = self._header(thread_id, ns, token, touch)
        with self._mapped("%s in thread %r", action, thread_id):
            result = self._call(self._scripts["APPLY"], names, head + args)
            if touch and self.is_cluster:
                self._touch_catalog(thread_id)
        missing = self._outcome(thread_id, token, result)
        return None if missing is None else sorted(missing)

    def _header(
        self, thread_id: str, ns: str, token: tuple[str, int] | None, touch: bool = True
    ) -> tuple[list[str], list[str | bytes]]:
        """The keys of a write script (``STEP``, ``APPLY``) and the arguments they share: the
        writer's token, lease and TTL times, the time, the namespace and the thread."""
        names = _write_names(self.prefix, thread_id, ns)
        head: list[str | bytes] = [
            token[0] if token else "",
            str(token[1]) if token else "",
            str(int(self.lease_ttl * 1000)),
            str(self.ttl_ms),
            repr(time.time()),
            names[2],
            ns,
            thread_id,
        ]
        if touch and not self.is_cluster:
            return [names[0], names[1]], head
        return [names[0]], head

    @staticmethod
    def _outcome(thread_id: str, token: tuple[str, int] | None, result: Any) -> set[str] | None:
        """None if a write script ran, the missing base fields if it changed nothing (or
        ``{"changed"}``); the lease refusals raise ``ThreadBusy``/``ConflictError``."""
        status = result[0]
        if status == b"ok":
            return None
        if status == b"missing":
            return {f.decode() for f in result[1]}
        if status == b"busy":
            raise lease.busy_write_error(thread_id)
        if status == b"changed":
            return {"changed"}
        assert token is not None
        raise lease.lost_error(thread_id, token[1], int(result[1]))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes against the checkpoint ``config`` names (idempotent retries)."""
        rows = self._write_rows(config, writes, task_id, task_path)
        ops: list[Op] = []
        for i in range(0, len(rows), 3):
            mode, name, row = rows[i : i + 3]
            ops += [(str(mode), _WRITES, str(name), row), ("Z", _WK, str(name), "")]
        if not ops:
            return
        thread_id, ns = get_thread_id(config), get_checkpoint_ns(config)
        self.apply(thread_id, ns, ops, config=config, action=f"store writes of task {task_id!r}")

    def _write_rows(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> list[str | bytes]:
        """A task's writes as ``STEP`` takes them: (mode, field, row) each, flat; mode ``H``
        replaces a stored row (special channels), ``N`` keeps the first (idempotent retries)."""
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id is None:
            raise MissingConfigKey(
                f"put_writes for task {task_id!r} in thread {get_thread_id(config)!r} needs "
                "config['configurable']['checkpoint_id']: the checkpoint the task ran from"
            )
        indexed, upsert = index_writes(writes)
        mode = "H" if upsert else "N"
        rows: list[str | bytes] = []
        for idx, channel, value in indexed:
            typed = dump_channel_value(self.serde, channel, value)
            name = field(checkpoint_id, task_id, str(idx))
            rows += (mode, name, records.pack_write(channel, typed, task_path, task_id, idx))
        return rows

    # --- reads ------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the head of its namespace: one script run."""
        thread_id = get_thread_id(config)
        args, known = self._read_args(config)
        with self._mapped("read thread %r", thread_id):
            found = self._call(self._scripts["READ"], [self._keys(thread_id).thread], args)
        return self._loaded(config, found, known)

    def _read_args(self, config: RunnableConfig) -> tuple[list[Any], records.Known]:
        """``READ``'s arguments for the checkpoint ``config`` names (or the head), and the
        values held already (their rows are not sent back)."""
        thread_id, ns = get_thread_id(config), get_checkpoint_ns(config)
        known = self._known.get((thread_id, ns)) or {}
        skip = netstrings(field(c, v) for c, (v, _, _) in known.items())
        refresh = self.ttl_ms if self.refresh_on_read else 0
        return [get_checkpoint_id(config) or "", str(refresh), ns_tag(ns), skip], known

    def _loaded(
        self, config: RunnableConfig, found: Any, known: records.Known
    ) -> CheckpointTuple | None:
        """The tuple ``READ`` returned; the head's values are remembered for the next write."""
        if not found:
            return None
        thread_id, ns = get_thread_id(config), get_checkpoint_ns(config)
        where = f"Redis at {self.url}, thread {thread_id!r}"
        loader = records.Loaded(self.serde, where, known)
        item = loader.build(thread_id, ns, found)
        if get_checkpoint_id(config) is None:  # the head is what the next write builds on
            self._known.put((thread_id, ns), loader.values)
            self._cache.remember(
                ((thread_id, ns, c), chain.written()) for c, chain in loader.chains.items()
            )
        return item

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first, from the ordered id sets; metadata filters read only the
        small metadata records, values load only for the checkpoints yielded."""
        limit = check_limit(limit)
        selected = maintenance.select(self, config, before)
        return maintenance.iter_loaded(self, selected, filter or {}, limit, skip=not config)

    # --- maintenance ------------------------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, blob and write of the thread (all namespaces)."""
        maintenance.drop(self, str(thread_id))
        self._forget([str(thread_id)])

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, blob and write (all namespaces) to another thread id."""
        source, target = str(source_thread_id), str(target_thread_id)
        if source == target:
            raise ConfigurationError(
                f"copy_thread: source and target are the same thread {source!r}"
            )
        maintenance.copy_thread(self, source, target)
        self._forget([target])

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy = "keep_latest",
        keep_last: int | None = None,
    ) -> None:
        """Keep the newest ``keep_last`` checkpoints per namespace (or none with "delete"),
        with their writes and every row their values are read from."""
        keep = prune_keep_count(strategy, keep_last)
        ids = as_id_list(thread_ids)
        for thread_id in ids:
            if keep == 0:
                maintenance.drop(self, thread_id)
            else:
                maintenance.prune(self, thread_id, keep)
        self._forget(ids)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) written by these runs."""
        runs = set(as_id_list(run_ids))
        if runs:
            self._forget(maintenance.delete_for_runs(self, runs))

    def _forget(self, thread_ids: Sequence[str]) -> None:
        self._cache.forget(thread_ids)
        self._known.forget(thread_ids)

    # --- TTL --------------------------------------------------------------------------------

    def pin_thread(self, thread_id: str) -> None:
        """Keep a thread forever: its keys lose their TTL until ``unpin_thread``."""
        self._pin(str(thread_id), True)

    def unpin_thread(self, thread_id: str) -> None:
        """Let a pinned thread expire again (``default_ttl`` from now)."""
        self._pin(str(thread_id), False)

    def _pin(self, thread_id: str, pin: bool) -> None:
        with self._mapped(f"{'pin' if pin else 'unpin'} thread {thread_id!r}"):
            self._scripts["PIN"](
                keys=[self._keys(thread_id).thread], args=["1" if pin else "0", self.ttl_ms]
            )

    # --- leases -----------------------------------------------------------------------------

    def _try_lease(self, thread_id: str) -> Lease | float | None:
        keys = self._keys(thread_id)
        owner = lease.new_owner()
        holder = ""
        for _ in range(2):
            with self._mapped(f"take the lease on thread {thread_id!r}"):
                got = self._scripts["LEASE"](
                    keys=[keys.lease, keys.epoch, keys.thread],
                    args=[owner, int(self.lease_ttl * 1000), holder, self.ttl_ms],
                )
            if got[0] == 1:
                return Lease(thread_id, owner, int(got[1]))
            holder = got[2].decode()
            if lease.owner_alive(holder):  # else: its process is gone, take over at once
                break
        return time.time() + max(int(got[1]), 0) / 1000

    def acquire_and_load(
        self, thread_id: str, config: RunnableConfig, *, wait: float | None = None
    ) -> tuple[Lease | None, CheckpointTuple | None]:
        """The lease and the checkpoint in one script run when the lease is free; else the
        waiting path of ``acquire_lease`` and a read."""
        taken = self._lease_and_read(str(thread_id), config)
        if taken is not None:
            return taken
        return super().acquire_and_load(thread_id, config, wait=wait)

    async def aacquire_and_load(
        self, thread_id: str, config: RunnableConfig, *, wait: float | None = None
    ) -> tuple[Lease | None, CheckpointTuple | None]:
        taken = await self._run_sync(self._lease_and_read, str(thread_id), config)
        if taken is not None:
            return taken
        return await super().aacquire_and_load(thread_id, config, wait=wait)

    def _lease_and_read(
        self, thread_id: str, config: RunnableConfig
    ) -> tuple[Lease, CheckpointTuple | None] | None:
        """``LEASE_READ``: None if someone holds the lease (nothing was read then) or ``config``
        is another thread's."""
        if get_thread_id(config) != thread_id:
            return None
        keys = self._keys(thread_id)
        owner = lease.new_owner()
        read_args, known = self._read_args(config)
        args = [owner, str(int(self.lease_ttl * 1000)), str(self.ttl_ms), *read_args]
        with self._mapped("take the lease on thread %r", thread_id):
            names = [keys.lease, keys.epoch, keys.thread]
            got = self._call(self._scripts["LEASE_READ"], names, args)
        if got[0] != 1:
            return None
        return Lease(thread_id, owner, int(got[1])), self._loaded(config, got[2], known)

    def release_lease(self, lease: Lease, status: str | None = "idle") -> None:
        keys = self._keys(lease.thread_id)
        with self._mapped(f"release the lease on thread {lease.thread_id!r}"):
            self._scripts["RELEASE"](
                keys=[keys.lease, keys.epoch, keys.thread],
                args=[lease.owner, lease.epoch, status or "", repr(time.time())],
            )


def _release(lease: Lease, status: str | None) -> list[str]:
    """``STEP``'s release arguments: give ``lease`` back, recording ``status``."""
    return [lease.owner, str(lease.epoch), status or ""]


def _ttl_options(ttl: dict[str, Any] | None) -> tuple[int, bool]:
    """``(milliseconds, refresh_on_read)`` from LangGraph's ``ttl`` dict (minutes)."""
    if ttl is None:
        return 0, False
    if not isinstance(ttl, dict) or set(ttl) - {"default_ttl", "refresh_on_read"}:
        raise ConfigurationError(
            f"ttl must be a dict with 'default_ttl' (minutes) and 'refresh_on_read' (bool), "
            f"got {ttl!r}"
        )
    minutes = ttl.get("default_ttl")
    refresh = ttl.get("refresh_on_read", False)
    if not isinstance(refresh, bool):
        raise ConfigurationError(f"ttl['refresh_on_read'] must be True or False, got {refresh!r}")
    if minutes is None:
        return 0, refresh
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
        raise ConfigurationError(
            f"ttl['default_ttl'] must be a number of minutes > 0 (or None: no expiry), "
            f"got {minutes!r}"
        )
    return max(1, int(minutes * 60_000)), refresh
