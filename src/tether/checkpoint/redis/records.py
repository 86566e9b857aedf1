"""What the Redis backend stores in each hash field, and how a read is turned into a tuple.

Values are bytes; meaning sits in the serializer above (``serde``). A checkpoint body is
``[tag, bytes, parent_id, run_id]`` (the checkpoint without its values, serialized by
``serde``), a blob row ``[kind, tag, bytes, added, base_version]`` (``tether.checkpoint.deltas``),
a write ``[channel, tag, bytes, task_path, task_id, idx]``, all packed with msgpack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import ormsgpack

from tether.checkpoint import deltas
from tether.checkpoint.base import (
    CheckpointTuple,
    SerializerProtocol,
    checkpoint_config,
)
from tether.checkpoint.redis.keys import field
from tether.errors import CorruptDataError, SerializationError

Typed = tuple[str, bytes]
Known = dict[str, tuple[str, str, bytes]]
"""Per channel: (version, tag, bytes) of a serialized value a saver holds already."""
Rows = dict[tuple[str, str], deltas.BlobRow]

_UNESCAPES = {"\x01": "\x01", "\x02": "\x00", "\x03": "\n"}


def pack_body(typed: Typed, parent_id: str | None, run_id: Any) -> bytes:
    return ormsgpack.packb([typed[0], typed[1], parent_id, None if run_id is None else str(run_id)])


def pack_blob(row: deltas.BlobRow) -> bytes:
    return ormsgpack.packb([row.kind, row.type_tag, row.data, row.added, row.base_version])


def pack_write(channel: str, typed: Typed, task_path: str, task_id: str, idx: int) -> bytes:
    return ormsgpack.packb([channel, typed[0], typed[1], task_path, task_id, idx])


def link_of(channel: str, row: deltas.BlobRow) -> str:
    """The field a chained row continues at ('' for a full or empty row)."""
    if row.kind in deltas.CHAINED and row.base_version is not None:
        return field(channel, row.base_version)
    return ""


def unfield(text: str) -> list[str]:
    """The parts of a field built by ``keys.field``."""
    return [re.sub("\x01(.)", lambda m: _UNESCAPES[m.group(1)], p) for p in text.split("\x00")]


def unpack(data: bytes, where: str) -> Any:
    try:
        return ormsgpack.unpackb(data)
    except (ormsgpack.MsgpackDecodeError, ValueError, TypeError) as exc:
        raise CorruptDataError(f"{where}: stored bytes are not a tether record ({exc})") from exc


def decode(serde: SerializerProtocol, typed: Typed, where: str) -> Any:
    try:
        return serde.loads_typed(typed)
    except SerializationError:
        raise
    except Exception as exc:  # any decoder failure on stored bytes is damage
        raise CorruptDataError(f"{where}: the stored value cannot be decoded ({exc})") from exc


def blob_rows(flat: Sequence[bytes], where: str) -> Rows:
    """The rows a read returned (``[field, row, field, row, ...]``) keyed (channel, version)."""
    rows: Rows = {}
    for i in range(0, len(flat), 2):
        channel, version = unfield(flat[i].decode())
        kind, tag, data, added, base = unpack(flat[i + 1], where)
        rows[(channel, version)] = deltas.BlobRow(kind, tag, data, base, added, 0, 0)
    return rows


class Loaded:
    """One checkpoint as read by the ``READ`` script, decoded into a ``CheckpointTuple``."""

    def __init__(self, serde: SerializerProtocol, where: str, known: Known | None = None) -> None:
        self.serde = serde
        self.where = where
        self.known = known or {}
        self.chains: dict[str, deltas.Chain] = {}
        self.values: Known = {}
        """The serialized values read (or known), by channel: what to remember of a head."""

    def build(self, thread_id: str, ns: str, found: Sequence[Any]) -> CheckpointTuple:
        raw_id, raw_body, raw_meta, flat_rows, raw_writes = found
        checkpoint_id = raw_id.decode()
        where = f"{self.where}, checkpoint {checkpoint_id!r}"
        tag, data, parent_id, _ = unpack(raw_body, where)
        checkpoint = decode(self.serde, (tag, data), where)
        meta_tag, meta_data = unpack(raw_meta, where) if raw_meta else ("msgpack", b"\x80")
        metadata = decode(self.serde, (meta_tag, meta_data), where)
        rows = blob_rows(flat_rows, where)
        values: dict[str, Any] = {}
        for channel, raw_version in checkpoint["channel_versions"].items():
            version = str(raw_version)
            typed = self._typed(rows, channel, version, f"{where}, channel {channel!r}")
            if typed is not None:
                self.values[channel] = (version, *typed)
                values[channel] = decode(self.serde, typed, f"{where}, channel {channel!r}")
        checkpoint["channel_values"] = values
        return CheckpointTuple(
            config=checkpoint_config(thread_id, ns, checkpoint_id),
            checkpoint=checkpoint,
            metadata=metadata,
            parent_config=checkpoint_config(thread_id, ns, parent_id) if parent_id else None,
            pending_writes=self._writes(raw_writes, where),
        )

    def _typed(self, rows: Rows, channel: str, version: str, at: str) -> Typed | None:
        """A channel's serialized value: known already, or assembled from the rows read."""
        known = self.known.get(channel)
        if known is not None and known[0] == version:
            return known[1], known[2]
        chain = deltas.walk(rows, channel, version)
        if not chain:
            return None
        self.chains[channel] = chain
        try:
            return chain.value()
        except ValueError as exc:
            raise CorruptDataError(f"{at}: {exc}") from exc

    def _writes(self, raw: Sequence[bytes], where: str) -> list[tuple[str, str, Any]]:
        rows = sorted(
            (path, task_id, idx, channel, tag, data)
            for channel, tag, data, path, task_id, idx in (unpack(r, where) for r in raw)
        )
        return [
            (task_id, channel, decode(self.serde, (tag, data), f"{where}, write to {channel!r}"))
            for _, task_id, _, channel, tag, data in rows
        ]


def pack_meta(typed: Typed) -> bytes:
    return ormsgpack.packb([typed[0], typed[1]])


def matches(metadata: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    missing = object()
    return all(metadata.get(key, missing) == value for key, value in filter.items())
