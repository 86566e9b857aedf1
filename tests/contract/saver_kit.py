"""Helpers for the saver contract suite: a driver that runs one test body in sync or async
form, and builders for configs and checkpoint chains.

Contract tests are ``async def`` functions taking the ``saver`` fixture (a ``Driver``). Every
saver call goes through ``await saver.<method>(...)``; in ``sync`` mode the driver calls the
sync method and the test coroutine is run without an event loop (conftest's
``pytest_pyfunc_call``), in ``async`` mode it awaits the ``a*`` twin under ``asyncio.run``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Literal

from tether.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointTuple,
    RunnableConfig,
    copy_checkpoint,
    empty_checkpoint,
)
from tether.checkpoint.ids import new_checkpoint_id

Mode = Literal["sync", "async"]
MODES: tuple[Mode, ...] = ("sync", "async")


class Driver:
    """One saver seen through the sync API or the async API, with the same awaitable calls."""

    def __init__(self, raw: BaseCheckpointSaver, mode: Mode) -> None:
        self.raw = raw
        self.mode = mode

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return getattr(self.raw, name)(*args, **kwargs)
        return await getattr(self.raw, "a" + name)(*args, **kwargs)

    async def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: dict[str, Any],
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._call("put", config, checkpoint, metadata, new_versions)

    async def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._call("put_writes", config, writes, task_id, task_path)

    async def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._call("get_tuple", config)

    async def get(self, config: RunnableConfig) -> Checkpoint | None:
        return await self._call("get", config)

    async def list(
        self, config: RunnableConfig | None, **kwargs: Any
    ) -> builtins.list[CheckpointTuple]:
        if self.mode == "sync":
            return builtins.list(self.raw.list(config, **kwargs))
        return [item async for item in self.raw.alist(config, **kwargs)]

    async def delete_thread(self, thread_id: str) -> None:
        await self._call("delete_thread", thread_id)

    async def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._call("delete_for_runs", run_ids)

    async def copy_thread(self, source: str, target: str) -> None:
        await self._call("copy_thread", source, target)

    async def prune(self, thread_ids: Sequence[str], **kwargs: Any) -> None:
        await self._call("prune", thread_ids, **kwargs)

    # conveniences built on the calls above

    async def ids(self, config: RunnableConfig | None, **kwargs: Any) -> builtins.list[str]:
        """Checkpoint ids that ``list`` returns, in its order."""
        return [t.checkpoint["id"] for t in await self.list(config, **kwargs)]

    async def values(self, config: RunnableConfig) -> dict[str, Any]:
        """Channel values of the addressed checkpoint (it must exist)."""
        found = await self.get_tuple(config)
        assert found is not None, f"no checkpoint at {config}"
        return found.checkpoint["channel_values"]


def cfg(thread_id: str, ns: str | None = "", checkpoint_id: str | None = None) -> RunnableConfig:
    """A config; ``ns=None`` leaves ``checkpoint_ns`` out."""
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if ns is not None:
        configurable["checkpoint_ns"] = ns
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def next_checkpoint(
    saver: Driver | BaseCheckpointSaver,
    previous: Checkpoint | None,
    updates: dict[str, Any],
    removed: Sequence[str] = (),
) -> tuple[Checkpoint, ChannelVersions]:
    """The checkpoint after ``previous`` where ``updates`` changed and ``removed`` went away;
    returns it with the ``new_versions`` to pass to ``put``."""
    raw = saver.raw if isinstance(saver, Driver) else saver
    checkpoint = copy_checkpoint(previous) if previous else empty_checkpoint()
    checkpoint["id"] = new_checkpoint_id()
    checkpoint["ts"] = datetime.now(timezone.utc).isoformat()
    current = max(checkpoint["channel_versions"].values(), default=None, key=str)
    version = raw.get_next_version(current)
    new_versions: ChannelVersions = {}
    for channel, value in updates.items():
        checkpoint["channel_values"][channel] = value
        checkpoint["channel_versions"][channel] = version
        new_versions[channel] = version
    for channel in removed:
        checkpoint["channel_values"].pop(channel, None)
        checkpoint["channel_versions"].pop(channel, None)
    checkpoint["updated_channels"] = sorted(updates)
    return checkpoint, new_versions


async def put_chain(
    saver: Driver,
    thread_id: str,
    steps: Sequence[dict[str, Any]],
    *,
    ns: str = "",
    metadata: dict[str, Any] | None = None,
    parent: RunnableConfig | None = None,
) -> builtins.list[RunnableConfig]:
    """Put one checkpoint per ``steps`` entry (the channel updates of that step), each the child
    of the previous; metadata is ``{"source": "loop", "step": i, **metadata}``. Returns the
    configs ``put`` returned."""
    configs: builtins.list[RunnableConfig] = []
    previous: Checkpoint | None = None
    config = parent or cfg(thread_id, ns)
    if parent is not None:
        found = await saver.get_tuple(parent)
        previous = found.checkpoint if found else None
    for step, updates in enumerate(steps):
        checkpoint, new_versions = next_checkpoint(saver, previous, updates)
        meta = {"source": "input" if step == 0 else "loop", "step": step - 1, **(metadata or {})}
        config = await saver.put(config, checkpoint, meta, new_versions)
        configs.append(config)
        previous = checkpoint
    return configs
