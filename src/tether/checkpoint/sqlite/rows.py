"""Reading stored rows back: checkpoint bodies, channel values (delta chains), tuples (pending
writes: ``writes``)."""

from __future__ import annotations

import functools
import json
import json.scanner
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ormsgpack

from tether.checkpoint import deltas
from tether.checkpoint.base import CheckpointTuple, SerializerProtocol
from tether.checkpoint.sqlite import inline, pieces
from tether.constants import CHECKPOINT_ID, CHECKPOINT_NS, CONF, THREAD_ID
from tether.errors import CorruptDataError, SerializationError

Chains = dict[tuple[str, str], deltas.Chain]
CHECKPOINT_COLUMNS = "thread_id, ns, checkpoint_id, parent_id, ts, metadata, body"
SELECTED = tuple(f"c.{column.strip()}" for column in CHECKPOINT_COLUMNS.split(","))
"""The checkpoint columns of ``checkpoints c`` a read selects."""
_HAS_WRITES = (
    "EXISTS (SELECT 1 FROM writes w WHERE w.thread_id = c.thread_id AND w.ns = c.ns "
    "AND w.checkpoint_id = c.checkpoint_id)"
)
FLAGGED_COLUMNS = ", ".join([*SELECTED, _HAS_WRITES])
"""The checkpoint columns of ``checkpoints c``, then whether the row has pending writes (a
checkpoint without any, the usual case, then needs no query of ``writes``)."""
ADDRESSED_COLUMNS = ", ".join([*SELECTED[2:], _HAS_WRITES])
"""``FLAGGED_COLUMNS`` without thread_id and ns, for a query whose WHERE fixes both: the row
is ``(thread_id, ns, *found)`` (two text values fewer to convert per read)."""


def first_reads(columns: str) -> tuple[str, str]:
    """The statements ``get_tuple`` runs first, selecting ``columns`` (``ADDRESSED_COLUMNS``
    or a dialect's): one checkpoint row by its key, and the thread's head (ids sort by
    creation and a head never moves back: the head is the greatest id, DESIGN 3.4)."""
    select = f"SELECT {columns} FROM checkpoints c WHERE c.thread_id = ? AND c.ns = ?"
    return f"{select} AND c.checkpoint_id = ?", f"{select} ORDER BY c.checkpoint_id DESC LIMIT 1"


class Where(tuple[str, str, str, str]):
    """``(path, thread_id, ns, checkpoint_id)`` of a checkpoint row, formatted (as errors do
    with ``f"{where}"``) only when an error names the row: building the text for every row
    read cost more than the errors ever need."""

    __slots__ = ()

    def __str__(self) -> str:
        path, thread_id, ns, checkpoint_id = self
        ns_part = f", namespace {ns!r}" if ns else ""
        return f"{path!r} thread {thread_id!r}{ns_part} checkpoint {checkpoint_id!r}"


_new_where: Callable[[tuple[str, str, str, str]], Where] = functools.partial(tuple.__new__, Where)

Place = Where | str
"""What names a row in error messages: a ``Where`` or a ready string."""


def where_of(path: str, thread_id: str, ns: str, checkpoint_id: str) -> Where:
    return _new_where((path, thread_id, ns, checkpoint_id))


STRIPPED_ZEROS = 24
"""Leading zeros a compact body leaves out of each version (``get_next_version`` makes
``"<32-digit counter>.<16 hex>"``: the first 24 digits are zeros below 10**8 steps)."""
_ZEROS = "0" * STRIPPED_ZEROS


def pack_body(
    checkpoint: Mapping[str, Any], small: Mapping[str, Any] | None = None, compact: bool = False
) -> bytes:
    """The checkpoint's bookkeeping (versions, what each node has seen) and its small values
    (``small``: their body fields, ``inline.pack``).

    ``compact`` stores versions without their first ``STRIPPED_ZEROS`` characters when every
    version starts with that many zeros (``"z": 24`` marks such a body; reading puts them
    back): ~25 bytes less per channel, so a checkpoint row of ten small channels fits four to a
    page instead of three. Other bodies are stored as they are.
    """
    versions, seen = checkpoint["channel_versions"], checkpoint["versions_seen"]
    body: dict[str, Any] = {"v": checkpoint.get("v", 1)}
    if compact and (stripped := _stripped(versions, seen)) is not None:
        body["channel_versions"], body["versions_seen"] = stripped
        body["z"] = STRIPPED_ZEROS
    else:
        body["channel_versions"], body["versions_seen"] = versions, seen
    if checkpoint.get("updated_channels") is not None:  # absent reads back as None
        body["updated_channels"] = checkpoint["updated_channels"]
    if small:
        body.update(small)
    return ormsgpack.packb(body)


_SEEN_CUT: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
"""node -> (a copy of the versions it had seen, those versions cut): what ``_stripped`` cut
last for each node name. A node's map is unchanged in most puts (only the nodes that ran see
new versions), and comparing it with the copy costs less than cutting it again. Keyed by name
only and checked by content, so any thread or saver may use any entry (a stale one is just
not equal)."""
_SEEN_CUT_MAX = 1024
"""Node names ``_SEEN_CUT`` holds before it starts over (node names are graphs', so few)."""


def _stripped(
    versions: Mapping[str, Any], seen: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, str], dict[str, dict[str, str]]] | None:
    """The versions without their leading ``_ZEROS``, or None if one does not have them.

    One function with plain loops: this runs on every put, over every node's map (a call or a
    comprehension per map costs more than the work itself). The versions nodes have seen recur
    in every later checkpoint of the thread, so those are cut once (``_short_of``), and a
    node's map equal to the one cut last time reuses that cut (``_SEEN_CUT``)."""
    short_of, last = _short_of, _SEEN_CUT
    try:
        short_seen = {}
        for node, by_node in seen.items():
            if (cut := last.get(node)) is not None and cut[0] == by_node:
                short_seen[node] = cut[1]
                continue
            short = {}
            for channel, version in by_node.items():
                if (cut_version := short_of(version)) is None:
                    return None
                short[channel] = cut_version
            short_seen[node] = short
            if len(last) >= _SEEN_CUT_MAX:
                last.clear()
            last[node] = (dict(by_node), short)
        short_versions = {}
        for channel, version in versions.items():  # often new ones: cut, not cached
            if version[:STRIPPED_ZEROS] != _ZEROS:  # a slice compare is cheaper than startswith
                return None
            short_versions[channel] = version[STRIPPED_ZEROS:]
    except TypeError:  # a version that is not a str (or not hashable)
        return None
    return short_versions, short_seen


@functools.lru_cache(maxsize=4096)
def _short_of(version: str) -> str | None:
    """``version`` without its leading ``_ZEROS`` (None if it lacks them), cached."""
    return version[STRIPPED_ZEROS:] if version[:STRIPPED_ZEROS] == _ZEROS else None


def _pad(short: dict[str, str], zeros: str) -> None:
    """Put the stripped zeros back, in place (the dict was just decoded: no one else has it;
    replacing values costs less than building a new dict)."""
    for channel, version in short.items():
        short[channel] = zeros + version


def unpack_body(data: bytes, where: Place) -> dict[str, Any]:
    try:
        body = ormsgpack.unpackb(data)
        if type(body) is dict and (stripped := body.get("z")):
            zeros = _ZEROS if stripped == STRIPPED_ZEROS else "0" * stripped
            _pad(body["channel_versions"], zeros)
            for by_node in (body["versions_seen"] or {}).values():
                _pad(by_node, zeros)
    except Exception as exc:
        raise CorruptDataError(f"{where}: the checkpoint row cannot be decoded ({exc})") from exc
    if not isinstance(body, dict) or "channel_versions" not in body:
        raise CorruptDataError(f"{where}: the checkpoint row is not a tether checkpoint")
    return body


_scan_json = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def load_metadata(text: str, where: Place) -> dict[str, Any]:
    try:
        # The C scanner alone first (json.loads adds a type check and two regex matches;
        # metadata is read with every checkpoint); anything it does not take whole goes
        # through json.loads.
        value, end = _scan_json(text, 0)
        if end == len(text):
            return value if type(value) is dict else {}
    except (StopIteration, ValueError, TypeError):
        pass
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CorruptDataError(f"{where}: its metadata is not valid JSON ({exc})") from exc
    return value if isinstance(value, dict) else {}


ChainQuery = Callable[[list[tuple[str, str]], str, str], tuple[str, Sequence[Any]]]
"""``(pairs, thread_id, ns) -> (sql, params)``: the statement that reads the chain rows of the
pairs (columns as ``_chain_sql`` selects them); a dialect may pass its own."""

Opened = Callable[[str, bytes, str, str, str | None], tuple[str, bytes]]
"""A stored value's ``(type, data)`` as the serializer gave them, from ``(type, data, thread_id,
channel, version)`` as stored (``version`` None for a pending write): for a dialect that stores
values in another form than the serializer's bytes."""


def fetch_chains(
    conn: sqlite3.Connection,
    thread_id: str,
    ns: str,
    wanted: Iterable[tuple[str, str]],
    query: ChainQuery | None = None,
    opened: Opened | None = None,
) -> Chains:
    """Every row needed to rebuild the given (channel, version) values, in one query (a
    dialect passes its own statement as ``query``, and its ``opened``)."""
    pairs = list(dict.fromkeys(wanted))
    if not pairs:
        return {}
    chains = {p: deltas.Chain() for p in pairs}
    for start in range(0, len(pairs), 400):
        sql, params = (query or _chain_query)(pairs[start : start + 400], thread_id, ns)
        found = conn.execute(sql, params).fetchall()  # one call, not one per row (psycopg)
        # A row shared by several chains may come with its data only once (PostgreSQL's
        # statement sends it once); the others take it from there.
        sent = {(r[0], r[3]): (r[5], r[6]) for r in found if r[6] is not None}
        for channel, root, depth, version, kind, row_tag, row_data, count in found:
            stored_tag, stored = (
                (row_tag, row_data)
                if row_data is not None
                else sent.get((channel, version), (row_tag, row_data))
            )
            tag, data = stored_tag or "", stored or b""
            if opened is not None:
                tag, data = opened(tag, data, thread_id, channel, version)
            tag, data = pieces.resolve(conn, thread_id, tag, data, _at(thread_id, channel))
            chains[(channel, root)].add(depth, deltas.StoredRow(version, kind, tag, data, count))
    return chains


def _chain_query(page: list[tuple[str, str]], thread_id: str, ns: str) -> tuple[str, Sequence[Any]]:
    params: list[Any] = [x for pair in page for x in pair]
    return _chain_sql(len(page)), [*params, thread_id, ns, thread_id, ns]


@functools.lru_cache(maxsize=64)
def _chain_sql(pairs: int) -> str:
    values = ",".join("(?, ?)" for _ in range(pairs))
    return f"""
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
            WHERE c.kind IN ({deltas.DELTA}, {deltas.REF}) AND c.depth <= {deltas.MAX_CHAIN}
        )
        SELECT channel, root, depth, version, kind, type, data, count FROM chain
    """


def existing_blobs(
    conn: sqlite3.Connection, thread_id: str, ns: str, wanted: set[tuple[str, str | None]]
) -> set[tuple[str, str | None]]:
    """Which of the (channel, version) pairs have a stored row."""
    pairs = list(wanted)
    values = ",".join("(?, ?)" for _ in pairs)
    found = conn.execute(
        f"WITH want(channel, version) AS (VALUES {values}) "
        f"SELECT b.channel, b.version FROM want w JOIN blobs b ON b.thread_id = ? AND b.ns = ? "
        f"AND b.channel = w.channel AND b.version = w.version",
        [x for pair in pairs for x in pair] + [thread_id, ns],
    )
    return {(c, v) for c, v in found}


def inline_values(serde: SerializerProtocol, body: dict[str, Any], where: Place) -> dict[str, Any]:
    """The values stored in the checkpoint row, decoded."""
    try:
        return inline.decode_all(serde, body)
    except Exception:  # decode one by one, so the error names its channel
        try:
            small = inline.unpack(body)
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise CorruptDataError(f"{where}: the inline values cannot be read ({exc})") from exc
        return {
            channel: decode(serde, *typed, f"{where}, channel {channel!r}")
            for channel, typed in small.items()
            if typed is not None
        }


def blob_channels(body: dict[str, Any], where: Place) -> list[tuple[str, str]]:
    """The (channel, version) pairs of a checkpoint whose values are not in its row, found
    without decoding any value (a row whose inline entries number its channels has none)."""
    versions = body["channel_versions"]
    ends, others = body.get("ends"), body.get("inline") or {}
    if (len(ends) if isinstance(ends, list) else 0) + len(others) == len(versions):
        return []
    try:
        covered = inline.unpack(body)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise CorruptDataError(f"{where}: the inline values cannot be read ({exc})") from exc
    return [(c, str(v)) for c, v in versions.items() if c not in covered]


def add_blob_values(
    serde: SerializerProtocol,
    values: dict[str, Any],
    wanted: list[tuple[str, str]],
    chains: Chains,
    cached: dict[str, tuple[str, bytes]],
    where: Place,
) -> dict[str, Any]:
    """Add to ``values`` the ``wanted`` channels' values, from ``cached`` (serialized values
    known to be this checkpoint's) or their blob chains; a channel with no stored value is
    left out. Returns ``values``."""
    for channel, version in wanted:
        if channel in cached:
            values[channel] = decode(serde, *cached[channel], f"{where}, channel {channel!r}")
            continue
        chain = chains.get((channel, version))
        if not chain:
            continue
        try:
            found = chain.value()
        except ValueError as exc:
            raise CorruptDataError(
                f"{where}, channel {channel!r}: broken delta chain ({exc})"
            ) from exc
        if found is not None:
            values[channel] = decode(serde, *found, f"{where}, channel {channel!r}")
    return values


def decode(serde: SerializerProtocol, tag: str, data: bytes, where: Place) -> Any:
    try:
        return serde.loads_typed((tag, data))
    except (CorruptDataError, SerializationError) as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    except Exception as exc:
        raise CorruptDataError(f"{where}: stored bytes cannot be decoded ({exc})") from exc


def _at(thread_id: str, channel: str) -> str:
    return f"thread {thread_id!r}, channel {channel!r}"


def build_tuple(
    serde: SerializerProtocol,
    row: tuple[Any, ...],
    body: dict[str, Any],
    values: dict[str, Any],
    writes: list[tuple[str, str, str, bytes]],
    where: Place,
) -> CheckpointTuple:
    thread_id, ns, checkpoint_id, parent_id, ts, metadata = row[:6]
    checkpoint = {
        "v": body.get("v", 1),
        "id": checkpoint_id,
        "ts": ts,
        "channel_values": values,
        "channel_versions": body["channel_versions"],
        "versions_seen": body["versions_seen"],
        "updated_channels": body.get("updated_channels"),
    }
    pending = (
        [
            (
                task_id,
                channel,
                decode(serde, tag, data, f"{where}, write of task {task_id!r} to {channel!r}"),
            )
            for task_id, channel, tag, data in writes
        ]
        if writes
        else []
    )
    # The configs as literals and the tuple without the Python-level ``__new__`` a NamedTuple
    # has: every checkpoint read comes through here.
    return _new_tuple(
        (
            {CONF: {THREAD_ID: thread_id, CHECKPOINT_NS: ns, CHECKPOINT_ID: checkpoint_id}},
            checkpoint,
            load_metadata(metadata, where),
            {CONF: {THREAD_ID: thread_id, CHECKPOINT_NS: ns, CHECKPOINT_ID: parent_id}}
            if parent_id
            else None,
            pending,
        )
    )


_new_tuple: Callable[[tuple[Any, ...]], CheckpointTuple] = functools.partial(
    tuple.__new__, CheckpointTuple
)
