"""``PostgresSaver``: checkpoints in PostgreSQL, shared by many processes on many machines.

The storage model, its invariants and the code that plans and reads rows are SQLite's
(``tether.checkpoint.sqlite.saver``: small values inline in the checkpoint row, deltas and
references for the rest, one transaction per super-step); this class supplies PostgreSQL's
connections (``connection``), schema (``schema``), leases (``leases``) and maintenance SQL
(``maintenance``). Async methods run the same code in worker threads; a transaction never spans
an ``await``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, NoReturn

from typing_extensions import Self

from tether.checkpoint import deltas
from tether.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    RunnableConfig,
    SerializerProtocol,
    StepArgs,
    WriteCall,
    get_checkpoint_ns,
    get_thread_id,
)
from tether.checkpoint.lease import Lease, lease_token
from tether.checkpoint.postgres import chains, leases, maintenance, packing, reads, schema, step
from tether.checkpoint.postgres.connection import Connections, PgConn, connection_lost
from tether.checkpoint.sqlite import inline
from tether.checkpoint.sqlite import leases as shared_leases
from tether.checkpoint.sqlite import writes as task_writes
from tether.checkpoint.sqlite.saver import SqliteSaver, Step, _now
from tether.errors import BackendUnavailable, ConfigurationError, StorageError

_CHECKPOINT_COLUMNS = "parent_id, ts, step, source, run_id, metadata, body, format"
_WRITES = task_writes.Dialect(
    f"INSERT INTO writes ({task_writes.COLUMNS}) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
    task_writes.SQLITE.select + " FOR UPDATE",
    step.stored_form,
)
"""How the transaction path stores a task's writes row (locking a stored one to merge)."""


class _Runner:
    """Runs a write in its own transaction (PostgreSQL needs no group commit), once more on a
    fresh connection when the first was dropped before its commit."""

    def __init__(self, conns: Connections) -> None:
        self._conns = conns

    def run(self, work: Any, action: str) -> Any:
        return self._conns.run(work, action)


class PostgresSaver(SqliteSaver):
    """Checkpoints in a PostgreSQL database: sync and async methods, one writer a thread.

    Build it with ``PostgresSaver.from_conn_string(url)`` (also a context manager that closes
    it), ``PostgresSaver(pool)`` around a ``psycopg_pool.ConnectionPool``, or
    ``PostgresSaver(conn)`` around one ``psycopg.Connection``. Given an
    ``AsyncConnectionPool`` it opens its own pool to the same server (``_is_async_pool``).
    ``namespace=`` (or ``schema=``) keeps this saver's rows in a schema of their own. The
    schema is created or upgraded on first use; ``setup()`` does it explicitly.
    """

    _maintenance = maintenance
    _STEP_IN_TRANSACTION: ClassVar[bool] = False
    """For crash tests: run each step's function call inside ``BEGIN ... COMMIT`` with the
    commit seam (``_before_commit``) after the call and before the ``COMMIT``, so a test can
    stop a process between a step's writes and their commit. Off: the call is its own
    transaction and the seam runs before it is sent."""
    _fetch_chains = staticmethod(chains.fetch_chains)
    _fetch_writes = staticmethod(functools.partial(task_writes.fetch, opened=packing.open_value))
    _CHECKPOINT_SQL = (
        "INSERT INTO checkpoints (thread_id, ns, checkpoint_id, parent_id, ts, step, source, "
        "run_id, metadata, body, format) VALUES (?,?,?,?,?,?,?,?,?::jsonb,?,2) "
        "ON CONFLICT (thread_id, ns, checkpoint_id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in _CHECKPOINT_COLUMNS.split(", "))
    )
    _COMPACT_VERSIONS = True  # versions without their leading zeros (schema v5)
    _ONE_SQL = reads.ONE_SQL
    _HEAD_SQL = reads.HEAD_SQL
    _CHECKPOINT_AND_LEASE_SQL = (
        "WITH lease AS (SELECT lease_owner, lease_expires, lease_epoch FROM threads "
        "WHERE thread_id = ? FOR UPDATE), stored AS ("
        + _CHECKPOINT_SQL
        + "), thread AS (INSERT INTO threads (thread_id, created_at, updated_at) "
        "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM lease) ON CONFLICT (thread_id) "
        "DO NOTHING RETURNING 1) SELECT lease.lease_owner, lease.lease_expires, "
        "lease.lease_epoch, (SELECT count(*) FROM thread) FROM (SELECT 1) AS one "
        "LEFT JOIN lease ON true"
    )
    """The checkpoint row stored, the thread's lease row read and locked, and the thread's
    row created if it has none (schema v4 has no insert trigger), in one statement: the
    lease row (NULLs if none) and whether the thread's row was created."""
    _BLOBS_SQL = (
        "INSERT INTO blobs (thread_id, ns, channel, version, kind, base_version, count, depth, "
        "chain_bytes, type, data) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
    )

    def __init__(
        self,
        conn: Any = None,
        *,
        conn_string: str | None = None,
        namespace: str | None = None,
        schema: str | None = None,
        serde: SerializerProtocol | None = None,
        lease_ttl: float = 30.0,
        prepare: bool = False,
        max_size: int = 10,
    ) -> None:
        super(SqliteSaver, self).__init__(serde=serde)
        self.namespace = _namespace(namespace, schema)
        if _is_async_pool(conn):  # its connections belong to an event loop: see below
            conn_string, max_size, conn = str(conn.conninfo), int(conn.max_size), None
        pool, single = _split_connection(conn, async_pool=True)
        if pool is None and single is None and conn_string is None:
            raise ConfigurationError(
                "PostgresSaver needs a connection string, a psycopg_pool.ConnectionPool or a "
                "psycopg.Connection: PostgresSaver.from_conn_string('postgresql://...')"
            )
        self.lease_ttl = float(lease_ttl)
        self._pg = Connections(
            conn_string,
            self.namespace,
            pool=pool,
            conn=single,
            prepare=prepare,
            max_size=max_size,
            before_commit=self._before_commit,
        )
        self._conns = self._pg  # type: ignore[assignment]
        self.path = f"{self._pg.where} schema {self.namespace!r}"
        self._cache = deltas.WriteCache()
        self._known = inline.KnownValues()
        self._writes = _Runner(self._pg)  # type: ignore[assignment]
        self._executor = None

    @classmethod
    def open(cls, conn_string: str, **options: Any) -> Self:
        """A saver on the database at ``conn_string``; call ``close()`` when done."""
        return cls(conn_string=conn_string, **options)

    @classmethod
    def from_conn_string(cls, conn_string: str, **options: Any) -> Self:
        """A saver on the database at ``conn_string`` (``postgresql://user:pw@host/db``).

        Use it as LangGraph documents, ``with PostgresSaver.from_conn_string(url) as saver:``
        (closed on exit), or keep the returned saver and ``close()`` it yourself.

        Options: ``namespace`` (or ``schema``: the PostgreSQL schema holding this saver's rows,
        default ``public``), ``serde``, ``lease_ttl`` (seconds, default 30), ``prepare``
        (server-side prepared statements: off by default, so PgBouncer in transaction mode
        works), ``max_size`` (pool size, default 10).
        """
        return cls.open(conn_string, **options)

    def setup(self) -> None:
        """Create or upgrade the schema now (it also happens on first use). Idempotent; any
        number of processes may call it at once (an advisory lock serializes migrations)."""
        self._pg.setup()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's head (again on a fresh connection
        when the first one was dropped)."""
        return self._pg.retry_read(lambda: SqliteSaver.get_tuple(self, config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first (started again when the connection drops before the first
        page arrives)."""
        options: dict[str, Any] = {"filter": filter, "before": before, "limit": limit}
        yielded = False
        try:
            for item in SqliteSaver.list(self, config, **options):
                yielded = True
                yield item
        except BackendUnavailable as exc:
            if yielded or not connection_lost(exc):
                raise
            yield from SqliteSaver.list(self, config, **options)

    # --- writes -----------------------------------------------------------------------------

    def put_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store task writes and the checkpoint that follows them in one statement, one
        round trip and one commit (``step``)."""
        return self._put_step(writes, config, checkpoint, metadata, new_versions, None)

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
        """A run's last commit: the step and the lease given back, in one statement."""
        release = (lease, status)
        return self._put_step(writes, config, checkpoint, metadata, new_versions, release)

    def put_steps(
        self,
        steps: Sequence[StepArgs],
        *,
        lease: Lease | None = None,
        status: str | None = None,
    ) -> RunnableConfig:
        """Store steps of one thread in order in one round trip: one call of the step function
        per step, sent together and committed together (``step.run_all``); the last call gives
        ``lease`` back. Steps that store blob rows (their planning needs the previous step's
        rows stored) or write to another thread go one after another, as the base class does;
        so do all of them after an error, so that the steps before a failing one stay stored."""
        if self._STEP_IN_TRANSACTION or len(steps) < 2:
            return BaseCheckpointSaver.put_steps(self, steps, lease=lease, status=status)
        thread_id = get_thread_id(steps[0][1])
        try:
            together = self._put_steps_together(thread_id, steps, lease, status)
        except Exception:  # store them one by one: the steps before a failing one stay stored
            return self._put_steps_apart(thread_id, steps, lease, status)
        except BaseException:
            self._known.forget([thread_id])
            raise
        if together is None:  # nothing was sent: what the thread holds is what it held
            return BaseCheckpointSaver.put_steps(self, steps, lease=lease, status=status)
        prepared, outcomes, action = together
        for outcome, (_, config, *_) in zip(outcomes, steps, strict=True):
            if not outcome.lease_ok:
                self._known.forget([thread_id])
                self._refused(outcome, action, config)
        if not all(o.bases_ok for o in outcomes):  # a task's writes to merge (no step had a base)
            return self._put_steps_apart(thread_id, steps, lease, status)
        return [self._stored_step(p) for p in prepared][-1]

    def _put_steps_together(
        self, thread_id: str, steps: Sequence[StepArgs], lease: Lease | None, status: str | None
    ) -> tuple[Sequence[Step], Sequence[step.Outcome], str] | None:
        """Prepare the steps and send them in one round trip: the prepared steps, the
        step function's outcomes and the action's description; None if they cannot go together
        (blob rows, another thread), with nothing sent and the values remembered of the thread
        as they were (the steps are then planned one by one on what the thread holds; not
        forgotten, which made the next plan serialize every value of the thread again: W2's
        message list in full on every turn)."""
        prepared: list[Step] = []
        calls: list[step.Call] = []
        held: dict[str, tuple[str, inline.Known] | None] = {}  # by namespace, before the steps
        for i, (writes, config, checkpoint, metadata, new_versions) in enumerate(steps):
            p = self._prepare_step(writes, config, checkpoint, metadata, new_versions)
            release = (lease, status) if lease is not None and i == len(steps) - 1 else None
            args = step.params(
                p.thread_id, p.ns, config, p.row, p.writes, p.planned, self.lease_ttl, release
            )  # fmt: skip
            if args is None or p.planned or p.thread_id != thread_id:
                for ns, entry in held.items():
                    self._known.restore(thread_id, ns, entry)
                return None
            prepared.append(p)
            calls.append(args)
            if p.ns not in held:
                held[p.ns] = self._known.entry(thread_id, p.ns)
            self._known.put(p.thread_id, p.ns, p.checkpoint_id, p.known)  # the next plans on it
        action = f"store checkpoint {prepared[-1].checkpoint_id!r} of thread {thread_id!r}"
        outcomes = self._pg.statement(lambda conn: step.run_all(conn, calls), action)
        return prepared, outcomes, action

    def _put_steps_apart(
        self, thread_id: str, steps: Sequence[StepArgs], lease: Lease | None, status: str | None
    ) -> RunnableConfig:
        """The base class's ``put_steps`` (one call per step), planned afresh (SQLite's
        one-transaction version does not apply to the step function)."""
        self._known.forget([thread_id])
        return BaseCheckpointSaver.put_steps(self, steps, lease=lease, status=status)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes against the checkpoint ``config`` names, in one call of the
        step function with no checkpoint row (the lease is checked as for a step)."""
        self._put_task_writes([(config, writes, task_id, task_path)])

    def put_writes_many(self, calls: Sequence[WriteCall]) -> None:
        """Store several tasks' writes (one thread, one run) in one call of the step function
        with no checkpoint row: one round trip, one commit."""
        first = calls[0][0] if calls else None
        if (
            first is None
            or self._STEP_IN_TRANSACTION
            or any(
                get_thread_id(c) != get_thread_id(first) or lease_token(c) != lease_token(first)
                for c, *_ in calls
            )
        ):
            super().put_writes_many(calls)
            return
        self._put_task_writes(calls)

    def _put_task_writes(self, calls: Sequence[WriteCall]) -> None:
        """The writes of ``calls`` (tasks of one thread, under one lease token) in one call of
        the step function."""
        first = calls[0][0]
        thread_id = get_thread_id(first)
        encoded = [self._encode_writes(*call) for call in calls]
        ns = get_checkpoint_ns(first)
        args = step.params(thread_id, ns, first, None, encoded, [], self.lease_ttl, None)
        if args is None:  # pragma: no cover - the rows are the config's thread
            for call in calls:
                SqliteSaver.put_writes(self, *call)
            return
        tasks = ", ".join(repr(task_id) for _, _, task_id, _ in calls)
        noun = "task" if len(calls) == 1 else "tasks"
        if not self._call_step(
            args, f"store writes of {noun} {tasks} in thread {thread_id!r}", first
        ):
            for call in calls:  # a task's writes to merge into its stored row
                SqliteSaver.put_writes(self, *call)

    def _store_writes(self, conn: Any, encoded: Sequence[Any]) -> None:
        """Store tasks' encoded writes inside the caller's transaction (the path a step takes
        when a task's writes need merging into its stored row)."""
        task_writes.store(conn, encoded, _WRITES)

    def _call_step(self, args: step.Call, action: str, config: RunnableConfig) -> bool:
        """Call the step function; whether it stored the rows (False: a delta's base is gone).
        A write the lease refuses raises ``judge_write``'s error (nothing was stored)."""
        call = self._pg.run if self._STEP_IN_TRANSACTION else self._pg.statement
        outcome: step.Outcome = call(lambda conn: step.run(conn, args), action)
        if not outcome.lease_ok:
            self._refused(outcome, action, config)
        return outcome.bases_ok

    def _refused(self, outcome: step.Outcome, action: str, config: RunnableConfig) -> NoReturn:
        """Raise ``judge_write``'s error for a write the lease refused (nothing was stored)."""
        thread_id = get_thread_id(config)
        shared_leases.judge_write(None, outcome.lease, thread_id, config, self.lease_ttl)
        raise StorageError(f"cannot {action}: the writer's lease refused it")

    def _put_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        release: tuple[Lease, str | None] | None,
    ) -> RunnableConfig:
        prepared = self._prepare_step(writes, config, checkpoint, metadata, new_versions)
        thread_id = prepared.thread_id
        args = step.params(
            thread_id,
            prepared.ns,
            config,
            prepared.row,
            prepared.writes,
            prepared.planned,
            self.lease_ttl,
            release,
        )
        action = f"store checkpoint {prepared.checkpoint_id!r} of thread {thread_id!r}"
        if args is not None and self._call_step(args, action, config):
            return self._stored_step(prepared)
        # A write of another thread, a delta whose base was pruned meanwhile, or a task's
        # writes to merge into its stored row: the transaction path stores the step (writing
        # such values in full, merging such writes).
        stored = SqliteSaver.put_step(self, writes, config, checkpoint, metadata, new_versions)
        if release is not None:
            self.release_lease(*release)
        return stored

    def _before_commit(self, conn: PgConn) -> None:  # type: ignore[override]
        """Called right before each write transaction commits. A seam for fault tests."""

    def _write_checkpoint(
        self, conn: Any, thread_id: str, config: RunnableConfig, row: tuple[Any, ...]
    ) -> None:
        """Insert the checkpoint row and read (and lock) the thread's lease in one statement;
        a refused write raises before the commit, so nothing of it lands. A thread that had
        no row, and whose row another transaction (a run taking the lease) inserted
        meanwhile, is judged by the lease that transaction committed."""
        stamp = row[4]  # the checkpoint's ts
        params = (thread_id, *row, thread_id, stamp, stamp)
        owner, expires, epoch, created = conn.execute(
            self._CHECKPOINT_AND_LEASE_SQL, params
        ).fetchone()
        if epoch is None and not created:  # created meanwhile: judge the lease it committed
            self._check_write(conn, thread_id, config)
            return
        lease = None if epoch is None else (owner, expires, epoch)
        shared_leases.judge_write(conn, lease, thread_id, config, self.lease_ttl)

    def _check_write(self, conn: Any, thread_id: str, config: RunnableConfig) -> None:
        shared_leases.check_write(conn, thread_id, config, self.lease_ttl, " FOR UPDATE")

    def _try_lease(self, thread_id: str) -> Lease | float | None:
        return leases.try_acquire(self._pg, thread_id, self.lease_ttl)

    def acquire_and_load(
        self, thread_id: str, config: RunnableConfig, *, wait: float | None = None
    ) -> tuple[Lease | None, CheckpointTuple | None]:
        """Take a free lease and read ``get_tuple``'s first row in one round trip
        (``leases.take_and_read``); a held lease goes the long way (``acquire_lease``, waiting
        as asked, then ``get_tuple``)."""
        loaded = self._take_and_load(str(thread_id), config)
        return loaded or super().acquire_and_load(str(thread_id), config, wait=wait)

    async def aacquire_and_load(
        self, thread_id: str, config: RunnableConfig, *, wait: float | None = None
    ) -> tuple[Lease | None, CheckpointTuple | None]:
        """As ``acquire_and_load``; a held lease is waited for with ``asyncio.sleep``."""
        loaded = await self._run_sync(self._take_and_load, str(thread_id), config)
        return loaded or await super().aacquire_and_load(str(thread_id), config, wait=wait)

    def _take_and_load(
        self, thread_id: str, config: RunnableConfig
    ) -> tuple[Lease, CheckpointTuple | None] | None:
        """A free lease and ``get_tuple(config)`` in one round trip, or None (lease held)."""
        read = self._first_read(config)
        taken, row = leases.take_and_read(self._pg, thread_id, self.lease_ttl, read)
        if taken is None:
            return None
        return taken, self._pg.retry_read(lambda: self._tuple_from(config, read, row))

    def release_lease(self, lease: Lease, status: str | None = "idle") -> None:
        stamp = _now()
        self._pg.statement(  # one statement; giving a lease back twice is harmless
            lambda conn: shared_leases.release(conn, lease, status, stamp),
            f"release the lease on thread {lease.thread_id!r}",
            idempotent=True,
        )


def _namespace(namespace: str | None, schema_name: str | None) -> str:
    if namespace is not None and schema_name is not None and namespace != schema_name:
        raise ConfigurationError(
            f"PostgresSaver got namespace={namespace!r} and schema={schema_name!r}: they name the "
            f"same thing, pass one"
        )
    return schema.check_name(namespace or schema_name or "public")


def _is_async_pool(conn: Any) -> bool:
    """Whether ``conn`` is a ``psycopg_pool.AsyncConnectionPool``.

    tether runs its storage code in worker threads on sync connections (written once, no
    transaction spans an ``await``); an async pool's connections belong to its event loop and
    cannot be used there. So the saver opens its own pool to the same server (the async pool's
    connection string and ``max_size``; not its ``kwargs``, which may set a row factory) and
    closes that pool on ``close()``; the async pool stays the caller's.
    """
    if conn is None or isinstance(conn, str):
        return False
    import psycopg_pool

    return isinstance(conn, psycopg_pool.AsyncConnectionPool)


def _split_connection(
    conn: Any, owner: str = "PostgresSaver", *, async_pool: bool = False
) -> tuple[Any, Any]:
    """``(pool, connection)`` from what the caller passed as ``conn`` to ``owner``
    (``async_pool``: whether ``owner`` takes an ``AsyncConnectionPool`` by itself)."""
    if conn is None:
        return None, None
    import psycopg
    import psycopg_pool

    if isinstance(conn, psycopg_pool.ConnectionPool):
        return conn, None
    if isinstance(conn, psycopg.Connection):
        return None, conn
    if isinstance(conn, str):
        raise ConfigurationError(
            f"{owner}(conn) takes a pool or a connection; for a connection string use "
            f"{owner}.from_conn_string(url)"
        )
    unsupported = (
        "an AsyncConnection is" if async_pool else "an AsyncConnectionPool or AsyncConnection is"
    )
    takes = (
        "a psycopg_pool.ConnectionPool or AsyncConnectionPool"
        if async_pool
        else "a psycopg_pool.ConnectionPool"
    )
    raise ConfigurationError(
        f"{owner}(conn) takes {takes} or a psycopg.Connection, got {type(conn).__name__}; "
        f"{unsupported} not supported: give tether the connection string and it runs its own "
        f"pool"
    )
