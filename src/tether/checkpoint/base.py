"""The checkpoint saver contract: data model, helpers every backend shares, and the base class.

A saver stores, per thread and namespace, a chain of checkpoints (each naming its parent), the
channel values they point at, and the pending writes of tasks run from each checkpoint.
Signatures and semantics follow LangGraph's ``BaseCheckpointSaver`` so LangGraph code ports
by changing the import prefix.
"""

from __future__ import annotations

import copy
import functools
import random
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, NamedTuple, TypedDict

from typing_extensions import Self

from tether.checkpoint import lease
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.lease import Lease
from tether.checkpoint.serde.base import SerializerProtocol, UnstorableValue
from tether.constants import (
    CHECKPOINT_ID,
    CHECKPOINT_NS,
    CONF,
    EXCLUDED_METADATA_KEYS,
    THREAD_ID,
    WRITES_IDX_MAP,
)
from tether.errors import ConfigurationError, CorruptDataError, MissingConfigKey

__all__ = [
    "LATEST_VERSION",
    "BaseCheckpointSaver",
    "ChannelVersions",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "PendingWrite",
    "PruneStrategy",
    "RunnableConfig",
    "SerializerProtocol",
    "SyncBackedAsyncMixin",
    "WriteCall",
    "as_id_list",
    "check_limit",
    "dump_channel_value",
    "dump_value",
    "state_root",
    "checkpoint_address",
    "checkpoint_config",
    "copy_checkpoint",
    "empty_checkpoint",
    "get_checkpoint_id",
    "get_checkpoint_metadata",
    "get_checkpoint_ns",
    "get_thread_id",
    "index_writes",
    "list_scope",
    "prune_keep_count",
]

RunnableConfig = dict[str, Any]
"""A run's config: ``{"configurable": {"thread_id": ..., ...}, "metadata": {...}, ...}``."""

ChannelVersions = dict[str, str | int | float]
"""Channel name -> version. tether savers issue string versions (see ``get_next_version``)."""

PendingWrite = tuple[str, str, Any]
"""``(task_id, channel, value)``: a write made by a task, not yet applied to a checkpoint."""

PruneStrategy = Literal["keep_latest", "delete"]

WriteCall = tuple["RunnableConfig", Sequence[tuple[str, Any]], str, str]
"""The arguments of one ``put_writes`` call: ``(config, writes, task_id, task_path)``."""

LATEST_VERSION = 4
"""Checkpoint format version written by tether (LangGraph's v4: sends live in a channel)."""


class Checkpoint(TypedDict):
    """The state of a thread after a super-step."""

    v: int
    """Format version (``LATEST_VERSION``)."""
    id: str
    """Checkpoint id; ids sort by creation (``tether.checkpoint.ids``)."""
    ts: str
    """ISO-8601 UTC time of creation."""
    channel_values: dict[str, Any]
    """Value of every non-empty channel."""
    channel_versions: ChannelVersions
    """Current version of every channel ever written."""
    versions_seen: dict[str, ChannelVersions]
    """Per node, the versions of its trigger channels it has already consumed."""
    updated_channels: list[str] | None
    """Channels updated by the super-step that produced this checkpoint."""


class CheckpointMetadata(TypedDict, total=False):
    """Metadata of a checkpoint. Users' own keys (copied from the config) sit beside these."""

    source: Literal["input", "loop", "update", "fork"]
    step: int
    """-1 for the first input checkpoint of a thread, then +1 per super-step."""
    parents: dict[str, str]
    """Namespace -> checkpoint id of every enclosing graph's checkpoint."""
    run_id: str


StepArgs = tuple[
    Sequence[WriteCall], RunnableConfig, Checkpoint, CheckpointMetadata, ChannelVersions
]
"""The arguments of one ``put_step`` call: ``(writes, config, checkpoint, metadata,
new_versions)``."""


class CheckpointTuple(NamedTuple):
    """A checkpoint with its address, metadata, parent address and pending writes."""

    config: RunnableConfig
    checkpoint: Checkpoint
    metadata: CheckpointMetadata
    parent_config: RunnableConfig | None = None
    pending_writes: list[PendingWrite] | None = None


# --- helpers shared by every backend ---------------------------------------------------------


def empty_checkpoint() -> Checkpoint:
    """Return a checkpoint with no channels, a fresh id and the current time."""
    return Checkpoint(
        v=LATEST_VERSION,
        id=new_checkpoint_id(),
        ts=datetime.now(timezone.utc).isoformat(),
        channel_values={},
        channel_versions={},
        versions_seen={},
        updated_channels=None,
    )


def copy_checkpoint(checkpoint: Checkpoint) -> Checkpoint:
    """Copy a checkpoint's containers (not the channel values themselves)."""
    copied: dict[str, Any] = dict(checkpoint)
    copied["channel_values"] = dict(checkpoint["channel_values"])
    copied["channel_versions"] = dict(checkpoint["channel_versions"])
    copied["versions_seen"] = {k: dict(v) for k, v in checkpoint["versions_seen"].items()}
    updated = checkpoint.get("updated_channels")
    copied["updated_channels"] = None if updated is None else list(updated)
    return copied  # type: ignore[return-value]  # same keys as the input Checkpoint


def get_checkpoint_metadata(
    config: Mapping[str, Any], metadata: Mapping[str, Any]
) -> CheckpointMetadata:
    """Return ``metadata`` plus the scalar keys of ``config["metadata"]`` and ``configurable``.

    Keys already in ``metadata`` win; keys starting with ``__`` and the reserved
    ``EXCLUDED_METADATA_KEYS`` are skipped; only str/int/float/bool values are copied. NUL
    characters are removed from strings (PostgreSQL JSONB cannot store them). This is how a
    user's ``config["metadata"]["user_id"]`` becomes filterable in ``list(filter=...)``.
    """
    merged: dict[str, Any] = {
        k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in metadata.items()
    }
    for source in (config.get("metadata"), config.get(CONF)):
        if not source:
            continue
        keys = source.keys() - merged.keys() - EXCLUDED_METADATA_KEYS  # usually empty
        if not keys:
            continue
        for key, value in source.items():
            if key not in keys or key.startswith("__"):
                continue
            if isinstance(value, str):
                merged[key] = value.replace("\x00", "")
            elif isinstance(value, (int, float, bool)):
                merged[key] = value
    return merged  # type: ignore[return-value]  # CheckpointMetadata allows user keys


_MISSING_THREAD_ID = (
    "config['configurable']['thread_id'] is missing: "
    "pass config={'configurable': {'thread_id': ...}}"
)


def get_thread_id(config: Mapping[str, Any] | None) -> str:
    """Return the config's thread id as a string, or raise ``ConfigurationError``."""
    configurable = config.get(CONF) if config else None
    thread_id = configurable.get(THREAD_ID) if configurable else None
    if thread_id is None:
        raise MissingConfigKey(_MISSING_THREAD_ID)
    return thread_id if isinstance(thread_id, str) else str(thread_id)


def checkpoint_address(config: Mapping[str, Any] | None) -> tuple[str, str, str | None]:
    """``(get_thread_id, get_checkpoint_ns, get_checkpoint_id)`` of ``config`` in one call."""
    configurable = config.get(CONF) if config else None
    if not configurable:
        raise MissingConfigKey(_MISSING_THREAD_ID)
    thread_id = configurable.get(THREAD_ID)
    if thread_id is None:
        raise MissingConfigKey(_MISSING_THREAD_ID)
    if not isinstance(thread_id, str):
        thread_id = str(thread_id)
    checkpoint_id = configurable.get(CHECKPOINT_ID) or configurable.get("thread_ts")
    return thread_id, configurable.get(CHECKPOINT_NS) or "", checkpoint_id or None


def get_checkpoint_ns(config: Mapping[str, Any]) -> str:
    """Return the config's checkpoint namespace (``""`` for the root graph)."""
    return (config.get(CONF) or {}).get(CHECKPOINT_NS) or ""


def get_checkpoint_id(config: Mapping[str, Any] | None) -> str | None:
    """Return the config's checkpoint id (LangGraph's legacy ``thread_ts`` also accepted)."""
    if not config:
        return None
    configurable = config.get(CONF) or {}
    checkpoint_id = configurable.get(CHECKPOINT_ID) or configurable.get("thread_ts")
    return checkpoint_id or None


def checkpoint_config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    """Return the config that addresses one stored checkpoint."""
    return {
        CONF: {THREAD_ID: thread_id, CHECKPOINT_NS: checkpoint_ns, CHECKPOINT_ID: checkpoint_id}
    }


def index_writes(writes: Sequence[tuple[str, Any]]) -> tuple[list[tuple[int, str, Any]], bool]:
    """Number a ``put_writes`` batch: ``([(idx, channel, value), ...], upsert)``.

    ``idx`` is the position in the batch, except special channels take their fixed negative
    index from ``WRITES_IDX_MAP``. ``upsert`` is true when every write is to a special channel:
    such a batch replaces earlier rows with the same key; any other batch inserts only keys not
    stored yet (first wins), which makes a retried task's writes idempotent.
    """
    indexed: list[tuple[int, str, Any]] = []
    upsert = bool(writes)
    for position, (channel, value) in enumerate(writes):
        idx = WRITES_IDX_MAP.get(channel)
        if idx is None:  # not a special channel (WRITES_IDX_MAP keys == SPECIAL_CHANNELS)
            idx, upsert = position, False
        indexed.append((idx, channel, value))
    return indexed, upsert


def prune_keep_count(strategy: str, keep_last: int | None) -> int:
    """Validate ``prune`` arguments; return how many checkpoints to keep per namespace (0 = all
    deleted)."""
    if strategy == "delete":
        if keep_last is not None:
            raise ConfigurationError(
                f"prune(strategy='delete') deletes everything; keep_last={keep_last} "
                "makes no sense with it: use strategy='keep_latest' with keep_last"
            )
        return 0
    if strategy != "keep_latest":
        raise ConfigurationError(
            f"unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'"
        )
    if keep_last is None:
        return 1
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        raise ConfigurationError(f"prune keep_last must be an int >= 1, got {keep_last!r}")
    return keep_last


class ListScope(NamedTuple):
    """What a ``list()`` call selects; None means "any"."""

    thread_id: str | None
    ns: str | None
    checkpoint_id: str | None
    before_id: str | None


def list_scope(config: Mapping[str, Any] | None, before: Mapping[str, Any] | None) -> ListScope:
    """The thread, namespace (only if the config names one), checkpoint id and ``before``
    cursor of a ``list()`` call; ``before`` without a checkpoint id: ``ConfigurationError``."""
    thread_id = get_thread_id(config) if config else None
    configurable = (config or {}).get(CONF) or {}
    ns = get_checkpoint_ns(config) if config and CHECKPOINT_NS in configurable else None
    before_id = None
    if before is not None:
        before_id = get_checkpoint_id(before)
        if before_id is None:
            raise ConfigurationError(
                "list(before=...) needs before['configurable']['checkpoint_id']: "
                "pass the config of the checkpoint to list older ones than"
            )
    return ListScope(thread_id, ns, get_checkpoint_id(config), before_id)


def check_limit(limit: Any) -> int | None:
    """``list()``'s ``limit`` as given, or a ``ConfigurationError`` when it is not a count."""
    if limit is None or (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0):
        return limit
    raise ConfigurationError(
        f"list(limit=...): limit must be an int >= 0 or None (no limit), got {limit!r}"
    )


_NAMESPACE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_namespace(name: Any) -> str:
    """A saver namespace: lower-case letters, digits and ``_``, at most 63, no leading digit
    (it becomes a PostgreSQL schema name or a SQLite table-name prefix)."""
    if not isinstance(name, str) or not _NAMESPACE.fullmatch(name):
        raise ConfigurationError(
            f"namespace {name!r} is not valid: use lower-case letters, digits and '_' (at most "
            f"63, not starting with a digit), e.g. 'user_graph'"
        )
    return name


def as_id_list(ids: Iterable[str] | str) -> list[str]:
    """Accept one id or several; a bare string is one id, not a sequence of characters."""
    return [ids] if isinstance(ids, str) else [str(i) for i in ids]


def dump_value(serde: SerializerProtocol, value: Any, root: str) -> tuple[str, bytes]:
    """Serialize ``value``; an unstorable part is reported under ``root`` (``state.messages``)."""
    try:
        return serde.dumps_typed(value)
    except UnstorableValue as err:
        raise err.with_root(root) from None


def dump_channel_value(serde: SerializerProtocol, channel: str, value: Any) -> tuple[str, bytes]:
    """Serialize a channel's value or write; errors are reported under ``state.<channel>``."""
    try:
        return serde.dumps_typed(value)
    except UnstorableValue as err:
        raise err.with_root(state_root(channel)) from None


def state_root(channel: str) -> str:
    """The path root for errors about a channel's value: ``state.messages``, ``state['a:b']``."""
    return f"state.{channel}" if channel.isidentifier() else f"state[{channel!r}]"


@functools.lru_cache(maxsize=1024)
def _head_after(head: str) -> str | None:
    """``_version_head`` of the counter after a version's ``head`` (its digits before the
    dot), or None if it is not digits. Cached: every thread steps through the same few
    counters."""
    return _version_head(int(head) + 1) if head.isdigit() else None


@functools.lru_cache(maxsize=1024)
def _version_head(counter: int) -> str:
    """``"<counter as 32 digits>."``, cached as ``_head_after``."""
    return f"{counter:032d}."


_getrandbits = random.getrandbits


def _unimplemented(saver: object, method: str) -> NotImplementedError:
    name = type(saver).__name__
    return NotImplementedError(
        f"{name}.{method}() is not implemented: {name} does not support it. "
        f"Implement {method}() in {name} or use a tether saver that does."
    )


# --- the base class ---------------------------------------------------------------------------


class BaseCheckpointSaver:
    """Base class of checkpoint savers.

    A saver implements the sync methods, the async ``a*`` twins, or both (sync-only savers
    without I/O get the twins from ``SyncBackedAsyncMixin``). Every method a subclass does not
    implement raises ``NotImplementedError`` naming the saver and the method.
    """

    serde: SerializerProtocol

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        if serde is None:
            from tether.checkpoint.serde import MsgpackSerializer

            serde = MsgpackSerializer()
        self.serde = serde

    # --- sync ---------------------------------------------------------------------------------

    def get(self, config: RunnableConfig) -> Checkpoint | None:
        """Return the checkpoint ``config`` addresses (latest if it has no id), or None."""
        found = self.get_tuple(config)
        return found.checkpoint if found else None

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Return the addressed checkpoint with metadata, parent and pending writes, or None.

        Without ``checkpoint_id`` the latest checkpoint of ``(thread_id, checkpoint_ns)``.
        """
        raise _unimplemented(self, "get_tuple")

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Yield checkpoints newest first by checkpoint id, across everything selected.

        ``config=None`` (or ``{}``) lists every thread; otherwise its thread, its namespace
        only if ``checkpoint_ns`` is present, and only its checkpoint if ``checkpoint_id`` is.
        ``filter``: top-level metadata keys that must all be present and equal.
        ``before``: only checkpoints with an id lower than its ``checkpoint_id``.
        ``limit``: at most this many.
        """
        raise _unimplemented(self, "list")

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint whose parent is ``config``'s checkpoint_id; return its config.

        Only channels in ``new_versions`` have their values written; the others must already
        be stored at the version ``checkpoint["channel_versions"]`` names.
        """
        raise _unimplemented(self, "put")

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's ``(channel, value)`` writes on the checkpoint ``config`` names."""
        raise _unimplemented(self, "put_writes")

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, value and write of a thread (all namespaces)."""
        raise _unimplemented(self, "delete_thread")

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints whose metadata ``run_id`` is in ``run_ids``, with their
        writes."""
        raise _unimplemented(self, "delete_for_runs")

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, value and write of a thread to another thread."""
        raise _unimplemented(self, "copy_thread")

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy = "keep_latest",
        keep_last: int | None = None,
    ) -> None:
        """Shrink threads: keep the newest (or ``keep_last`` newest) checkpoints per namespace
        with their writes and values, or delete everything (``strategy="delete"``)."""
        raise _unimplemented(self, "prune")

    # --- async --------------------------------------------------------------------------------

    async def aget(self, config: RunnableConfig) -> Checkpoint | None:
        """Async ``get``."""
        found = await self.aget_tuple(config)
        return found.checkpoint if found else None

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async ``get_tuple``."""
        raise _unimplemented(self, "aget_tuple")

    def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async ``list``: an async iterator of checkpoint tuples, newest first."""
        raise _unimplemented(self, "alist")

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async ``put``."""
        raise _unimplemented(self, "aput")

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async ``put_writes``."""
        raise _unimplemented(self, "aput_writes")

    async def adelete_thread(self, thread_id: str) -> None:
        """Async ``delete_thread``."""
        raise _unimplemented(self, "adelete_thread")

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async ``delete_for_runs``."""
        raise _unimplemented(self, "adelete_for_runs")

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async ``copy_thread``."""
        raise _unimplemented(self, "acopy_thread")

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy = "keep_latest",
        keep_last: int | None = None,
    ) -> None:
        """Async ``prune``."""
        raise _unimplemented(self, "aprune")

    # --- versions and serializer --------------------------------------------------------------

    def get_next_version(self, current: str | int | float | None, channel: object = None) -> str:
        """Return the version after ``current`` (``None`` -> the first version).

        Versions are strings ``"<32-digit counter>.<16 random hex>"``: string order is numeric
        order of the counter, and two branches stepping from the same version get distinct
        versions. Int/float and LangGraph-style string versions are accepted as ``current``.
        ``channel`` is unused (LangGraph compatibility).
        """
        if type(current) is str:  # the usual case, one cached lookup
            head = _head_after(current.partition(".")[0])
        elif current is None:
            head = _version_head(1)
        elif isinstance(current, str):
            head = _head_after(str(current).partition(".")[0])
        else:
            head = _version_head(int(current) + 1)
        if head is None:
            raise CorruptDataError(
                f"channel version {current!r} is not a saver version "
                "('<counter>.<suffix>'): the checkpoint was written by another tool"
            )
        return head + _getrandbits(64).to_bytes(8, "big").hex()  # 16 hex digits, zero-padded

    # --- a step's last writes and its checkpoint together -----------------------------------------

    def put_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """``put_writes`` for each of ``writes``, then ``put``. A backend may do both in one
        commit; this default makes the calls one after another (not atomically)."""
        for call in writes:
            self.put_writes(*call)
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        for call in writes:
            await self.aput_writes(*call)
        return await self.aput(config, checkpoint, metadata, new_versions)

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
        """A run's last commit: ``put_step``, then ``release_lease(lease, status)``. A backend
        may do both in one round trip; this default makes the two calls."""
        stored = self.put_step(writes, config, checkpoint, metadata, new_versions)
        self.release_lease(lease, status)
        return stored

    async def aput_step_and_release(
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
        stored = await self.aput_step(writes, config, checkpoint, metadata, new_versions)
        await self.arelease_lease(lease, status)
        return stored

    def put_writes_many(self, calls: Sequence[WriteCall]) -> None:
        """``put_writes`` for each of ``calls`` (tasks of one step that finished together), in
        order, each atomic on its own. A backend may send them in one round trip; this default
        makes the calls one after another."""
        for call in calls:
            self.put_writes(*call)

    async def aput_writes_many(self, calls: Sequence[WriteCall]) -> None:
        for call in calls:
            await self.aput_writes(*call)

    def put_steps(
        self,
        steps: Sequence[StepArgs],
        *,
        lease: Lease | None = None,
        status: str | None = None,
    ) -> RunnableConfig:
        """Store steps in order, each as ``put_step`` (the last as ``put_step_and_release`` when
        ``lease`` is given). Each step is atomic on its own; if one fails the earlier ones stay
        stored and the later ones are not. A backend may send them in one round trip; this
        default makes the calls one after another."""
        *earlier, last = steps
        for args in earlier:
            self.put_step(*args)
        if lease is None:
            return self.put_step(*last)
        return self.put_step_and_release(*last, lease=lease, status=status)

    async def aput_steps(
        self,
        steps: Sequence[StepArgs],
        *,
        lease: Lease | None = None,
        status: str | None = None,
    ) -> RunnableConfig:
        *earlier, last = steps
        for args in earlier:
            await self.aput_step(*args)
        if lease is None:
            return await self.aput_step(*last)
        return await self.aput_step_and_release(*last, lease=lease, status=status)

    # --- one writer per thread (optional) --------------------------------------------------------

    supports_leases: bool = False
    """Whether ``acquire_lease`` really excludes other writers. The default does not."""

    def acquire_lease(self, thread_id: str, *, wait: float | None = None) -> Lease | None:
        """Take the thread's writer lease; None means this saver has no leases (no exclusion).

        ``wait=None`` raises ``ThreadBusy`` at once if another run holds it; a number of
        seconds polls until it is free and raises ``ThreadBusy`` after that long.
        """
        if not self.supports_leases:
            return None
        thread_id = str(thread_id)
        return lease.take_waiting(thread_id, wait, lambda: self._try_lease(thread_id))

    def _try_lease(self, thread_id: str) -> Lease | float | None:
        """One attempt at the lease (savers with ``supports_leases``): the lease, or when the
        holder's lease expires (epoch seconds). Must not wait."""
        raise _unimplemented(self, "_try_lease")

    def release_lease(self, lease: Lease, status: str | None = "idle") -> None:
        """Give the lease back and record the thread's status (idle, interrupted, error; None
        leaves it as it was)."""
        return None

    async def aacquire_lease(self, thread_id: str, *, wait: float | None = None) -> Lease | None:
        return None

    async def arelease_lease(self, lease: Lease, status: str | None = "idle") -> None:
        return None

    def acquire_and_load(
        self, thread_id: str, config: RunnableConfig, *, wait: float | None = None
    ) -> tuple[Lease | None, CheckpointTuple | None]:
        """Take the thread's lease (as ``acquire_lease``), then read ``get_tuple(config)``.

        What a run does first. This default makes the two calls; a networked backend may
        override it to do both in one round trip (the read must still follow the lease).
        """
        taken = self.acquire_lease(thread_id, wait=wait)
        return taken, self.get_tuple(config)

    async def aacquire_and_load(
        self, thread_id: str, config: RunnableConfig, *, wait: float | None = None
    ) -> tuple[Lease | None, CheckpointTuple | None]:
        taken = await self.aacquire_lease(thread_id, wait=wait)
        return taken, await self.aget_tuple(config)

    def with_allowlist(self, extra_allowlist: Iterable[Any]) -> Self:
        """Return a shallow copy (same storage) whose serializer also allows these types.

        A serializer without ``with_allowlist`` has no allowlist to extend; the copy keeps it.
        """
        clone = copy.copy(self)
        extend = getattr(self.serde, "with_allowlist", None)
        if extend is not None:
            clone.serde = extend(extra_allowlist)
        return clone


class StepCommitSaver(BaseCheckpointSaver):
    """For a backend whose ``put_step`` stores a step atomically: ``put`` is a step with no
    writes, so the checkpoint, its blobs and the head move land in one commit."""

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint, the blobs of its changed channels, and move the head: atomically."""
        return self.put_step([], config, checkpoint, metadata, new_versions)


class SyncBackedAsyncMixin(BaseCheckpointSaver):
    """Async twins written once on top of the sync methods.

    Each twin awaits ``_run_sync(fn, *args)``. By default that calls ``fn`` right away, which
    suits in-process backends (memory); a backend that blocks on I/O overrides ``_run_sync`` to
    run the call in a worker thread, so the event loop never waits on the disk or network.
    """

    async def _run_sync(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run_sync(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def collect() -> list[CheckpointTuple]:
            return list(self.list(config, filter=filter, before=before, limit=limit))

        for item in await self._run_sync(collect):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._run_sync(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._run_sync(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run_sync(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._run_sync(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._run_sync(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy = "keep_latest",
        keep_last: int | None = None,
    ) -> None:
        await self._run_sync(self.prune, thread_ids, strategy=strategy, keep_last=keep_last)

    async def aacquire_lease(self, thread_id: str, *, wait: float | None = None) -> Lease | None:
        """Wait with ``asyncio.sleep`` between attempts, so a waiter holds no worker thread."""
        if not self.supports_leases:
            return None
        thread_id = str(thread_id)

        async def attempt() -> Lease | float | None:
            return await self._run_sync(self._try_lease, thread_id)

        return await lease.atake_waiting(thread_id, wait, attempt)

    async def aput_step(
        self,
        writes: Sequence[WriteCall],
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._run_sync(
            self.put_step, writes, config, checkpoint, metadata, new_versions
        )

    async def arelease_lease(self, lease: Lease, status: str | None = "idle") -> None:
        await self._run_sync(self.release_lease, lease, status)

    async def aput_steps(
        self,
        steps: Sequence[StepArgs],
        *,
        lease: Lease | None = None,
        status: str | None = None,
    ) -> RunnableConfig:
        return await self._run_sync(self.put_steps, steps, lease=lease, status=status)

    async def aput_writes_many(self, calls: Sequence[WriteCall]) -> None:
        await self._run_sync(self.put_writes_many, calls)

    async def aput_step_and_release(
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
        return await self._run_sync(
            self.put_step_and_release,
            writes,
            config,
            checkpoint,
            metadata,
            new_versions,
            lease=lease,
            status=status,
        )
