"""Looking under a Redis saver: the keys of a thread and their TTLs (tests only; SCAN)."""

from __future__ import annotations

from typing import Any

from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.redis.keys import ThreadKeys


def thread_keys(saver: Any, thread_id: str) -> list[bytes]:
    base = ThreadKeys(saver.prefix, thread_id).base
    pattern = base.replace("[", "\\[").replace("?", "\\?").replace("*", "\\*") + ":*"
    return sorted(saver.client.scan_iter(match=pattern, count=500))


def ttls(saver: Any, thread_id: str) -> dict[bytes, int]:
    """PTTL of every key of the thread but its lease (-1: no expiry)."""
    return {
        key: saver.client.pttl(key)
        for key in thread_keys(saver, thread_id)
        if not key.endswith(b":lease")
    }


def put_step(
    saver: Any,
    thread_id: str,
    values: dict[str, Any],
    *,
    ns: str = "",
    parent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store a checkpoint holding ``values`` (every channel a new version) after ``parent``."""
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = dict(values)
    old = saver.get_tuple(parent) if parent else None
    versions = dict(old.checkpoint["channel_versions"]) if old else {}
    for channel in values:
        versions[channel] = saver.get_next_version(versions.get(channel))
    checkpoint["channel_versions"] = versions
    config = parent or {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
    new_versions = {c: versions[c] for c in values}
    stored = saver.put(config, checkpoint, {"source": "loop", "step": 0}, new_versions)
    return dict(stored)
