"""Listing, copying, pruning and deleting in the Redis backend (all on top of ``APPLY``).

``list`` selects candidate ids from the ordered id sets (the thread catalog for every thread),
checks metadata filters on the small metadata records in batches, and loads only the
checkpoints it yields. Pruning computes, from the kept checkpoints' ``need`` lists and the
``links`` of chained rows, which rows are still read, and deletes the rest in one ``APPLY`` run
guarded by the sizes it saw (a concurrent write makes it recompute).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tether.checkpoint.base import (
    CheckpointTuple,
    RunnableConfig,
    checkpoint_config,
    list_scope,
)
from tether.checkpoint.redis import records
from tether.checkpoint.redis.keys import NS_PARTS, ThreadKeys, ns_tag, part
from tether.constants import THREAD_ID
from tether.errors import ConfigurationError, CorruptDataError, SerializationError, StorageError

if TYPE_CHECKING:
    from tether.checkpoint.redis.saver import Op, RedisSaver

Selected = list[tuple[str, str, str]]
"""(checkpoint_id, thread_id, ns), newest first."""

_PAGE = 64
_IDS, _CP, _META, _NEED, _BLOBS, _LINKS, _WRITES, _WK = (str(i) for i in range(5, 13))
_ROUNDS = 5


def namespaces(saver: RedisSaver, thread_id: str) -> dict[str, str]:
    """The thread's namespaces: escaped key tag -> namespace."""
    found = saver.client.hgetall(ThreadKeys(saver.prefix, thread_id).spaces)
    return {k.decode(): v.decode() for k, v in found.items()}


def select(
    saver: RedisSaver, config: RunnableConfig | None, before: RunnableConfig | None
) -> Selected:
    """The ids ``list`` may yield, newest first (values are loaded later, page by page)."""
    thread_id, ns, exact, before_id = list_scope(config, before)
    selected: Selected = []
    with saver._mapped("list checkpoints"):
        for tid in [thread_id] if thread_id is not None else _catalog(saver):
            keys = ThreadKeys(saver.prefix, tid)
            for space in namespaces(saver, tid).values():
                if ns is not None and space != ns:
                    continue
                ids_key = keys.ns(space)[0]
                if exact is not None:
                    found = [exact] if saver.client.zscore(ids_key, exact) is not None else []
                else:
                    top = "+" if before_id is None else "(" + before_id
                    found = [i.decode() for i in saver.client.zrevrangebylex(ids_key, top, "-")]
                selected += [(cid, tid, space) for cid in found]
    if exact is not None and before_id is not None:
        selected = [s for s in selected if s[0] < before_id]
    selected.sort(reverse=True)
    return selected


def _catalog(saver: RedisSaver) -> list[str]:
    """Every thread in the catalog; entries of threads that expired are removed on the way."""
    catalog = ThreadKeys(saver.prefix, "").catalog
    threads = [t.decode() for t in saver.client.zrange(catalog, 0, -1)]
    pipe = saver.client.pipeline(transaction=False)
    for thread_id in threads:
        pipe.exists(ThreadKeys(saver.prefix, thread_id).spaces)
    there = pipe.execute() if threads else []
    gone = [t for t, found in zip(threads, there, strict=True) if not found]
    if gone:
        saver.client.zrem(catalog, *gone)
    return [t for t, found in zip(threads, there, strict=True) if found]


def iter_loaded(
    saver: RedisSaver, selected: Selected, filter: dict[str, Any], limit: int | None, skip: bool
) -> Iterator[CheckpointTuple]:
    """Load the selected checkpoints a page at a time; with ``skip`` (listing across threads) a
    checkpoint that cannot be decoded is logged and skipped instead of failing the listing."""
    if any(not isinstance(k, str) for k in filter):
        raise ConfigurationError(f"metadata filter keys must be strings, got {list(filter)!r}")
    count = 0
    for start in range(0, len(selected), _PAGE):
        page = selected[start : start + _PAGE]
        wanted = _filtered(saver, page, filter) if filter else page
        for checkpoint_id, thread_id, ns in wanted:
            if limit is not None and count >= limit:
                return
            try:
                loaded = saver.get_tuple(checkpoint_config(thread_id, ns, checkpoint_id))
            except (CorruptDataError, SerializationError) as exc:
                if not skip:
                    raise
                _log_skip(exc)
                continue
            if loaded is not None:
                count += 1
                yield loaded


def _filtered(saver: RedisSaver, page: Selected, filter: dict[str, Any]) -> Selected:
    """The entries of ``page`` whose metadata matches ``filter`` (one HMGET per namespace)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for checkpoint_id, thread_id, ns in page:
        groups.setdefault((thread_id, ns), []).append(checkpoint_id)
    keep: set[tuple[str, str, str]] = set()
    with saver._mapped("list checkpoints"):
        for (thread_id, ns), ids in groups.items():
            meta_key = ThreadKeys(saver.prefix, thread_id).ns(ns)[2]
            for checkpoint_id, raw in zip(ids, saver.client.hmget(meta_key, ids), strict=True):
                if raw is None:
                    continue
                where = f"Redis at {saver.url}, thread {thread_id!r}, checkpoint {checkpoint_id!r}"
                try:
                    meta = records.decode(saver.serde, tuple(records.unpack(raw, where)), where)
                except (CorruptDataError, SerializationError):
                    keep.add((checkpoint_id, thread_id, ns))  # loading it reports the damage
                    continue
                if records.matches(meta, filter):
                    keep.add((checkpoint_id, thread_id, ns))
    return [entry for entry in page if entry in keep]


def _log_skip(exc: Exception) -> None:
    import logging

    logging.getLogger("tether.checkpoint.redis").warning(
        "list() skipped a checkpoint it cannot read: %s", exc
    )


def drop(saver: RedisSaver, thread_id: str) -> None:
    """Delete every key of a thread (its lease and epoch stay) and its catalog entry."""
    keys = ThreadKeys(saver.prefix, thread_id)
    with saver._mapped(f"delete thread {thread_id!r}"):
        saver._scripts["DROP"](keys=[keys.thread])
        saver.client.zrem(keys.catalog, thread_id)


def copy_thread(saver: RedisSaver, source: str, target: str) -> None:
    """Copy every namespace of ``source`` into ``target`` (existing rows of target stay)."""
    src = ThreadKeys(saver.prefix, source)
    for ns in namespaces(saver, source).values():
        with saver._mapped(f"copy thread {source!r}"):
            got = [
                saver.client.hgetall(k) if n not in ("ids", "wk") else saver.client.zrange(k, 0, -1)
                for k, n in zip(src.ns(ns), NS_PARTS, strict=True)
            ]
        ids, cps, metas, needs, blobs, links, writes, _ = got
        ops: list[Op] = []
        for name, row in blobs.items():
            link = links.get(name)
            ops.append(("B", link.decode() if link else "", name.decode(), row))
        for raw_id in ids:
            cid = raw_id.decode()
            meta = _retarget(saver, metas.get(raw_id), source, target)
            ops += [("H", _CP, cid, cps[raw_id]), ("H", _NEED, cid, needs.get(raw_id, b""))]
            ops += [("H", _META, cid, meta), ("Z", _IDS, cid, "")]
        for name, row in writes.items():
            ops += [("N", _WRITES, name.decode(), row), ("Z", _WK, name.decode(), "")]
        saver.apply(target, ns, ops, action=f"copy thread {source!r} to {target!r}")


def _retarget(saver: RedisSaver, raw: bytes | None, source: str, target: str) -> bytes:
    """Metadata naming ``source`` as its thread_id, rewritten to name ``target``."""
    if raw is None:
        return b""
    typed = tuple(records.unpack(raw, f"thread {source!r}"))
    meta = records.decode(saver.serde, typed, f"thread {source!r}")
    if meta.get(THREAD_ID) != source:
        return raw
    meta[THREAD_ID] = target
    return records.pack_meta(saver.serde.dumps_typed(meta))


def prune(saver: RedisSaver, thread_id: str, keep: int) -> None:
    """Keep the newest ``keep`` checkpoints of each namespace of a thread."""
    keys = ThreadKeys(saver.prefix, thread_id)
    for ns in namespaces(saver, thread_id).values():
        ids = [i.decode() for i in saver.client.zrange(keys.ns(ns)[0], 0, -1)]
        remove(saver, thread_id, ns, ids[:-keep])


def delete_for_runs(saver: RedisSaver, runs: set[str]) -> list[str]:
    """Delete the checkpoints whose run id is in ``runs``; return the threads touched."""
    touched = []
    with saver._mapped("delete runs"):
        threads = _catalog(saver)
    for thread_id in threads:
        keys = ThreadKeys(saver.prefix, thread_id)
        for ns in namespaces(saver, thread_id).values():
            bodies = saver.client.hgetall(keys.ns(ns)[1])
            where = f"thread {thread_id!r}"
            doomed = [
                cid.decode()
                for cid, body in bodies.items()
                if records.unpack(body, where)[3] in runs
            ]
            if doomed:
                remove(saver, thread_id, ns, doomed)
                touched.append(thread_id)
        if not saver.client.hlen(keys.spaces):
            drop(saver, thread_id)
    return touched


def remove(saver: RedisSaver, thread_id: str, ns: str, doomed: list[str]) -> None:
    """Delete checkpoints of one namespace with their writes and the rows no one reads now."""
    if not doomed:
        return
    keys = ThreadKeys(saver.prefix, thread_id).ns(ns)
    for _ in range(_ROUNDS):
        with saver._mapped(f"prune thread {thread_id!r}"):
            ops = _removal(saver, keys, set(doomed))
        if saver.apply(thread_id, ns, ops, action="prune", touch=False) is None:
            _forget_empty(saver, thread_id, ns)
            return
    raise StorageError(f"could not prune thread {thread_id!r}: it kept changing meanwhile")


def _removal(saver: RedisSaver, keys: list[str], doomed: set[str]) -> list[Op]:
    """The guarded operations that delete ``doomed`` checkpoints and the rows left unread."""
    client = saver.client
    ids = [i.decode() for i in client.zrange(keys[0], 0, -1)]
    kept = [i for i in ids if i not in doomed]
    links = {k.decode(): v.decode() for k, v in client.hgetall(keys[5]).items()}
    blob_fields = [f.decode() for f in client.hkeys(keys[4])]
    write_fields = [f.decode() for f in client.zrange(keys[7], 0, -1)]
    needed: set[str] = set()
    for raw in client.hmget(keys[3], kept) if kept else []:
        for start in (raw or b"").decode().split("\n"):
            name = start
            while name and name not in needed:
                needed.add(name)
                name = links.get(name, "")
    gone = [i for i in ids if i in doomed]
    prefixes = tuple(part(i) + "\x00" for i in gone)
    ops: list[Op] = [
        ("C", _IDS, "ZCARD", str(len(ids))),
        ("C", _BLOBS, "HLEN", str(len(blob_fields))),
    ]
    for cid in gone:
        ops += [
            ("R", _IDS, cid, ""),
            ("D", _CP, cid, ""),
            ("D", _META, cid, ""),
            ("D", _NEED, cid, ""),
        ]
    for name in blob_fields:
        if name not in needed:
            ops += [("D", _BLOBS, name, ""), ("D", _LINKS, name, "")]
    for name in write_fields:
        if name.startswith(prefixes):
            ops += [("D", _WRITES, name, ""), ("R", _WK, name, "")]
    return ops


def _forget_empty(saver: RedisSaver, thread_id: str, ns: str) -> None:
    """Take a namespace with nothing left out of the thread's namespace list."""
    keys = ThreadKeys(saver.prefix, thread_id)
    ids_key, writes_key = keys.ns(ns)[0], keys.ns(ns)[6]
    if not saver.client.zcard(ids_key) and not saver.client.hlen(writes_key):
        saver.client.hdel(keys.spaces, ns_tag(ns))
