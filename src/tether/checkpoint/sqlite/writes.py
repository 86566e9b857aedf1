"""A task's pending writes as one row (schema v8).

A ``put_writes`` call stores one row per task of a checkpoint, keyed by ``(thread_id, ns,
checkpoint_id, task_id)``; its ``body`` is the msgpack list of the task's entries
``[idx, channel, type, data]`` in ``idx`` order, ``data`` being the serializer's bytes (or a
large value's frame, ``tether.checkpoint.large``; ``framed`` marks a row holding one).

LangGraph's merge rules hold per ``(task_id, idx)`` (``base.index_writes``): a call whose writes
are all to special channels replaces entries with the same ``idx``; any other call adds only
the entries not stored yet (first wins, so a retried task changes nothing). A task's first
call is one ``INSERT OR IGNORE``; a later call for the same task (an interrupt, a resume value,
the task's writes after it) finds the row there and merges into it inside the same transaction.
The task path is the row's (a task's calls give the same one): the first call's, or the last
replacing call's. PostgreSQL stores the same rows (``Dialect``; its step function inserts them
and leaves a merge to this module, ``tether.checkpoint.postgres.step``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import ormsgpack

from tether.checkpoint import large
from tether.checkpoint.base import (
    RunnableConfig,
    SerializerProtocol,
    dump_channel_value,
    get_checkpoint_id,
    get_checkpoint_ns,
    get_thread_id,
)
from tether.checkpoint.sqlite import pieces
from tether.checkpoint.sqlite.rows import Opened
from tether.constants import WRITES_IDX_MAP
from tether.errors import CorruptDataError, MissingConfigKey

Entry = tuple[int, str, str, bytes]
"""``(idx, channel, type, data)`` of one write."""
Found = dict[str, list[tuple[str, str, str, bytes]]]
"""checkpoint id -> ``(task_id, channel, type, data)`` of its pending writes, in order."""

COLUMNS = "thread_id, ns, checkpoint_id, task_id, task_path, framed, body"
_KEY = "thread_id = ? AND ns = ? AND checkpoint_id = ? AND task_id = ?"


class Dialect(NamedTuple):
    """How a backend stores the rows: its insert-if-absent and locking read of a task's row,
    and what it does to entries before packing them (PostgreSQL compresses values)."""

    insert: str
    select: str
    stored_form: Callable[[list[Entry]], list[Entry]] | None = None


SQLITE = Dialect(
    f"INSERT OR IGNORE INTO writes ({COLUMNS}) VALUES (?,?,?,?,?,?,?)",
    f"SELECT task_path, body FROM writes WHERE {_KEY}",
)


class Encoded(NamedTuple):
    """One ``put_writes`` call, serialized: the row's key, task path, merge rule, entries."""

    thread_id: str
    ns: str
    checkpoint_id: str
    task_id: str
    task_path: str
    upsert: bool
    entries: list[Entry]


_new_encoded: Callable[[tuple[Any, ...]], Encoded] = functools.partial(tuple.__new__, Encoded)


def encode(
    serde: SerializerProtocol,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str = "",
) -> Encoded:
    """One task's writes, serialized and numbered (one entry per ``idx``, in ``idx`` order)."""
    thread_id = get_thread_id(config)
    checkpoint_id = get_checkpoint_id(config)
    if checkpoint_id is None:
        raise MissingConfigKey(
            f"put_writes for task {task_id!r} in thread {thread_id!r} needs "
            f"config['configurable']['checkpoint_id']: the checkpoint the task ran from"
        )
    # ``base.index_writes``' numbering and serialization in one loop (-5.8k instructions a
    # one-write call against calling it, a comprehension and a scan for special channels)
    entries: list[Entry] = []
    special = regular = False
    for position, (channel, value) in enumerate(writes):
        idx = WRITES_IDX_MAP.get(channel)
        if idx is None:
            idx, regular = position, True
        else:
            special = True
        entries.append((idx, channel, *dump_channel_value(serde, channel, value)))
    upsert = special and not regular
    if special:  # a special channel's idx may repeat: merge the call into itself
        entries = merge([], entries, upsert)
    ns = get_checkpoint_ns(config)
    return _new_encoded((thread_id, ns, checkpoint_id, task_id, task_path, upsert, entries))


def merge(stored: Iterable[Entry], new: Iterable[Entry], upsert: bool) -> list[Entry]:
    """``stored`` with ``new`` merged in by idx (``upsert``: new entries replace, else only
    absent ones are added; within ``new`` the same rule applies in order), in idx order."""
    by_idx = {entry[0]: entry for entry in stored}
    for entry in new:
        if upsert or entry[0] not in by_idx:
            by_idx[entry[0]] = entry
    return [by_idx[idx] for idx in sorted(by_idx)]


def row_of(call: Encoded, entries: list[Entry], framed: bool) -> tuple[Any, ...]:
    """The stored row of a call whose entries are in their stored form (frames, compression);
    ``framed``: whether one holds a large value's frame."""
    return (*call[:5], int(framed), ormsgpack.packb(entries))


def store(conn: Any, calls: Sequence[Encoded], dialect: Dialect = SQLITE) -> None:
    """Store each call's row (inside the caller's transaction), merging into the task's row
    when it already has one."""
    for call in calls:
        entries = pieces.store(conn, call[0], call.entries, 2, 3)
        framed = entries is not call.entries and holds_frame(entries)  # the same list: none large
        if dialect.stored_form is not None:
            entries = dialect.stored_form(entries)
        if conn.execute(dialect.insert, row_of(call, entries, framed)).rowcount == 0:
            _merge_into(conn, call, entries, dialect)


def _merge_into(conn: Any, call: Encoded, entries: list[Entry], dialect: Dialect) -> None:
    """Merge a call's entries into the task's stored row (which exists: the insert was
    ignored), rewriting it only when that changes it."""
    key = call[:4]
    path, body = conn.execute(dialect.select, key).fetchone()
    stored = [tuple(entry) for entry in unpack(body, _where(*key))]
    merged = merge(stored, entries, call.upsert)
    if merged == stored:
        return
    path = call.task_path if call.upsert else path
    body = ormsgpack.packb(merged)
    conn.execute(
        f"UPDATE writes SET task_path = ?, framed = ?, body = ? WHERE {_KEY}",
        (path, int(holds_frame(merged)), body, *key),
    )


def holds_frame(entries: Iterable[Sequence[Any]]) -> bool:
    """Whether an entry holds a large value's frame."""
    return any(large.is_frame(entry[2]) for entry in entries)


def unpack(body: bytes, where: str) -> list[Any]:
    """A row's entries, each checked to be ``[idx, channel, type, data]``."""
    try:
        entries = ormsgpack.unpackb(body)
        if type(entries) is not list or any(
            type(e) is not list or len(e) != 4 or type(e[1]) is not str for e in entries
        ):
            raise ValueError("not a list of [idx, channel, type, data] entries")
    except (ValueError, TypeError) as exc:
        raise CorruptDataError(f"{where}: the stored writes cannot be read ({exc})") from exc
    return entries


def _where(thread_id: str, ns: str, checkpoint_id: str, task_id: str) -> str:
    ns_part = f", namespace {ns!r}" if ns else ""
    return f"thread {thread_id!r}{ns_part} checkpoint {checkpoint_id!r}, writes of task {task_id!r}"


def fetch(
    conn: Any, thread_id: str, ns: str, checkpoint_ids: list[str], opened: Opened | None = None
) -> Found:
    """Pending writes per checkpoint, in (task_path, task_id, idx) order (``opened``: how a
    dialect that stores values in another form gives them back)."""
    found: Found = {cid: [] for cid in checkpoint_ids}
    for start in range(0, len(checkpoint_ids), 400):
        page = checkpoint_ids[start : start + 400]
        marks = ",".join("?" for _ in page)
        rows = conn.execute(
            f"SELECT checkpoint_id, task_id, framed, body FROM writes "
            f"WHERE thread_id = ? AND ns = ? AND checkpoint_id IN ({marks}) "
            f"ORDER BY checkpoint_id, task_path, task_id",
            [thread_id, ns, *page],
        ).fetchall()
        for cid, task_id, framed, body in rows:
            out = found[cid]
            for _, channel, stored_tag, stored in unpack(body, _where(thread_id, ns, cid, task_id)):
                tag, data = stored_tag or "", stored or b""
                if opened is not None:
                    tag, data = opened(tag, data, thread_id, channel, None)
                if framed:
                    at = f"thread {thread_id!r}, channel {channel!r}"
                    tag, data = pieces.resolve(conn, thread_id, tag, data, at)
                out.append((task_id, channel, tag, data))
    return found


def frame_digests(conn: Any, thread_id: str) -> set[str] | None:
    """The pieces the thread's write rows name (None when a frame cannot be read)."""
    needed: set[str] = set()
    for (body,) in conn.execute(
        "SELECT body FROM writes WHERE thread_id = ? AND framed <> 0", (thread_id,)
    ):
        try:
            for entry in ormsgpack.unpackb(body):
                if large.is_frame(entry[2]):
                    needed.update(large.frame_digests(entry[3]))
        except (ValueError, TypeError, KeyError, IndexError):
            return None
    return needed


def convert_v7(conn: Any) -> None:
    """Schema v8's migration: the v7 table's rows (one per write) packed into ``writes_v8``,
    one row per task, which then takes the table's name."""
    conn.execute(
        """CREATE TABLE writes_v8 (
            thread_id TEXT NOT NULL,
            ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            task_path TEXT NOT NULL,
            framed INTEGER NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (thread_id, ns, checkpoint_id, task_id)
        ) WITHOUT ROWID"""
    )
    old = conn.execute(
        "SELECT thread_id, ns, checkpoint_id, task_id, task_path, idx, channel, type, data "
        "FROM writes ORDER BY thread_id, ns, checkpoint_id, task_id, idx"
    )
    key: tuple[Any, ...] | None = None
    path, entries = "", list[Entry]()
    for thread_id, ns, checkpoint_id, task_id, task_path, idx, channel, tag, data in old:
        if (thread_id, ns, checkpoint_id, task_id) != key:
            _insert_v8(conn, key, path, entries)
            key, path, entries = (thread_id, ns, checkpoint_id, task_id), task_path, []
        entries.append((idx, channel, tag, data))
    _insert_v8(conn, key, path, entries)
    conn.execute("DROP TABLE writes")
    conn.execute("ALTER TABLE writes_v8 RENAME TO writes")


def _insert_v8(conn: Any, key: tuple[Any, ...] | None, path: str, entries: list[Entry]) -> None:
    if key is not None:
        conn.execute(
            f"INSERT INTO writes_v8 ({COLUMNS}) VALUES (?,?,?,?,?,?,?)",
            (*key, path, int(holds_frame(entries)), ormsgpack.packb(entries)),
        )
