"""Reading stored rows back: checkpoint bodies, channel values (delta chains), pending writes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import ormsgpack

from tether.checkpoint import deltas
from tether.checkpoint.base import CheckpointTuple, SerializerProtocol, checkpoint_config
from tether.checkpoint.sqlite import pieces
from tether.errors import CorruptDataError, SerializationError

CHECKPOINT_COLUMNS = "thread_id, ns, checkpoint_id, parent_id, ts, metadata, body"


def pack_body(checkpoint: dict[str, Any]) -> bytes:
    """The checkpoint's bookkeeping (no values): versions, what each node has seen."""
    return ormsgpack.packb(
        {
            "v": checkpoint.get("v", 1),
            "channel_versions": checkpoint["channel_versions"],
            "versions_seen": checkpoint["versions_seen"],
            "updated_channels": checkpoint.get("updated_channels"),
        }
    )


def unpack_body(data: bytes, where: str) -> dict[str, Any]:
    try:
        body = ormsgpack.unpackb(data)
    except Exception as exc:
        raise CorruptDataError(f"{where}: the checkpoint row cannot be decoded ({exc})") from exc
    if not isinstance(body, dict) or "channel_versions" not in body:
        raise CorruptDataError(f"{where}: the checkpoint row is not a tether checkpoint")
    return body


def load_metadata(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CorruptDataError(f"{where}: its metadata is not valid JSON ({exc})") from exc
    return value if isinstance(value, dict) else {}


class Chain:
    """The rows of one channel value: a full blob, then deltas (oldest first)."""

    __slots__ = ("channel", "rows", "version")

    def __init__(self, channel: str, version: str) -> None:
        self.channel = channel
        self.version = version
        self.rows: list[tuple[int, int, str, bytes, int]] = []

    def assembled(self) -> tuple[int, str, bytes]:
        rows = sorted(self.rows, reverse=True)  # deepest (the full blob) first
        kind = rows[0][1]
        if kind == deltas.EMPTY:
            return kind, "", b""
        tag, data = deltas.assemble([(k, t, d, c) for _, k, t, d, c in rows])
        return kind, tag, data

    @property
    def stats(self) -> tuple[int, int, int]:
        """(depth, bytes of the delta rows, bytes of the full blob)."""
        rows = sorted(self.rows, reverse=True)
        return len(rows) - 1, sum(len(r[3]) for r in rows[1:]), len(rows[0][3])


def fetch_chains(
    conn: sqlite3.Connection, thread_id: str, ns: str, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Chain]:
    """Every row needed to rebuild the given (channel, version) values, in one query."""
    pairs = list(dict.fromkeys(wanted))
    if not pairs:
        return {}
    chains: dict[tuple[str, str], Chain] = {p: Chain(*p) for p in pairs}
    for start in range(0, len(pairs), 400):
        page = pairs[start : start + 400]
        values = ",".join("(?, ?)" for _ in page)
        params: list[Any] = [x for pair in page for x in pair]
        sql = f"""
            WITH RECURSIVE want(channel, version) AS (VALUES {values}),
            chain(channel, root, version, kind, base_version, type, data, count, depth) AS (
                SELECT b.channel, b.version, b.version, b.kind, b.base_version, b.type, b.data,
                       b.count, 0
                FROM want w JOIN blobs b
                  ON b.thread_id = ? AND b.ns = ? AND b.channel = w.channel
                 AND b.version = w.version
                UNION ALL
                SELECT b.channel, c.root, b.version, b.kind, b.base_version, b.type, b.data,
                       b.count, c.depth + 1
                FROM chain c JOIN blobs b
                  ON b.thread_id = ? AND b.ns = ? AND b.channel = c.channel
                 AND b.version = c.base_version
                WHERE c.kind = 1
            )
            SELECT channel, root, depth, kind, type, data, count FROM chain
        """
        params += [thread_id, ns, thread_id, ns]
        for channel, root, depth, kind, stored_tag, stored, count in conn.execute(sql, params):
            tag, data = pieces.resolve(
                conn, thread_id, stored_tag or "", stored or b"", _at(thread_id, channel)
            )
            chains[(channel, root)].rows.append((depth, kind, tag, data, count))
    return chains


def decode_values(
    serde: SerializerProtocol,
    chains: dict[tuple[str, str], Chain],
    versions: dict[str, Any],
    where: str,
) -> dict[str, Any]:
    """Channel values at ``versions``; a channel with no stored value is left out."""
    values: dict[str, Any] = {}
    for channel, version in versions.items():
        chain = chains.get((channel, str(version)))
        if chain is None or not chain.rows:
            continue
        try:
            kind, tag, data = chain.assembled()
        except ValueError as exc:
            raise CorruptDataError(
                f"{where}, channel {channel!r}: broken delta chain ({exc})"
            ) from exc
        if kind == deltas.EMPTY:
            continue
        values[channel] = decode(serde, tag, data, f"{where}, channel {channel!r}")
    return values


def decode(serde: SerializerProtocol, tag: str, data: bytes, where: str) -> Any:
    try:
        return serde.loads_typed((tag, data))
    except (CorruptDataError, SerializationError) as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    except Exception as exc:
        raise CorruptDataError(f"{where}: stored bytes cannot be decoded ({exc})") from exc


def fetch_writes(
    conn: sqlite3.Connection, thread_id: str, ns: str, checkpoint_ids: list[str]
) -> dict[str, list[tuple[str, str, str, bytes]]]:
    """Pending writes per checkpoint, in (task_path, task_id, idx) order."""
    found: dict[str, list[tuple[str, str, str, bytes]]] = {cid: [] for cid in checkpoint_ids}
    for start in range(0, len(checkpoint_ids), 400):
        page = checkpoint_ids[start : start + 400]
        marks = ",".join("?" for _ in page)
        rows = conn.execute(
            f"SELECT checkpoint_id, task_id, channel, type, data FROM writes "
            f"WHERE thread_id = ? AND ns = ? AND checkpoint_id IN ({marks}) "
            f"ORDER BY checkpoint_id, task_path, task_id, idx",
            [thread_id, ns, *page],
        )
        for cid, task_id, channel, stored_tag, stored in rows:
            tag, data = pieces.resolve(
                conn, thread_id, stored_tag or "", stored or b"", _at(thread_id, channel)
            )
            found[cid].append((task_id, channel, tag, data))
    return found


def _at(thread_id: str, channel: str) -> str:
    return f"thread {thread_id!r}, channel {channel!r}"


def build_tuple(
    serde: SerializerProtocol,
    row: tuple[Any, ...],
    body: dict[str, Any],
    values: dict[str, Any],
    writes: list[tuple[str, str, str, bytes]],
    where: str,
) -> CheckpointTuple:
    thread_id, ns, checkpoint_id, parent_id, ts, metadata, _ = row
    checkpoint = {
        "v": body.get("v", 1),
        "id": checkpoint_id,
        "ts": ts,
        "channel_values": values,
        "channel_versions": body["channel_versions"],
        "versions_seen": body["versions_seen"],
        "updated_channels": body.get("updated_channels"),
    }
    pending = [
        (
            task_id,
            channel,
            decode(serde, tag, data, f"{where}, write of task {task_id!r} to {channel!r}"),
        )
        for task_id, channel, tag, data in writes
    ]
    parent = checkpoint_config(thread_id, ns, parent_id) if parent_id else None
    return CheckpointTuple(
        checkpoint_config(thread_id, ns, checkpoint_id),
        checkpoint,  # type: ignore[arg-type]
        load_metadata(metadata, where),  # type: ignore[arg-type]
        parent,
        pending,
    )


def where_of(path: str, thread_id: str, ns: str, checkpoint_id: str) -> str:
    ns_part = f", namespace {ns!r}" if ns else ""
    return f"{path!r} thread {thread_id!r}{ns_part} checkpoint {checkpoint_id!r}"
