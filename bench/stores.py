"""Store operations per second: tether's stores next to LangGraph's, in one process run.

For each store: ``put`` of N items (one per call), ``get`` of each, ``search`` with a filter
(numbers compared on a nested key), and semantic ``search(query=...)`` over an index of
N items whose embed function is a cheap deterministic hash (so the bench times the store,
not a model). LangGraph's SqliteStore needs ``setup()``; both sides get the same items.

The Redis rows use ``TETHER_BENCH_REDIS_URL`` (default db 11 of the local server, as
``configs.py``) under a key prefix of their own, deleted afterwards. LangGraph's RedisStore
needs RediSearch, which plain Redis lacks: its ``setup()`` fails, and the error is listed
under the table instead of its rates.

The PostgreSQL rows use a fresh database per side on ``TETHER_BENCH_POSTGRES``'s server
(``postgres.fresh_database``, dropped after). LangGraph's PostgresStore with an index needs
the pgvector extension, which this server lacks: its semantic search is n/a.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DIMS = 64
REDIS_URL = os.environ.get("TETHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def hash_embed(texts: list[str]) -> list[list[float]]:
    """A deterministic 64-number vector per text (no model: the bench times the store)."""
    out = []
    for text in texts:
        digest = hashlib.sha512(text.encode()).digest()
        out.append([(b - 127.5) / 127.5 for b in digest[:DIMS]])
    return out


def _index() -> dict[str, Any]:
    return {"dims": DIMS, "embed": hash_embed, "fields": ["text"]}


@contextmanager
def _open(side: str, kind: str, path: Path, indexed: bool) -> Iterator[Any]:
    index = _index() if indexed else None
    if side == "langgraph" and kind == "memory":
        from langgraph.store.memory import InMemoryStore as LGMemory

        yield LGMemory(index=index)  # type: ignore[arg-type]
    elif kind == "redis":
        yield from _redis(side, index)
    elif kind == "postgres":
        yield from _postgres(side, index)
    elif side == "langgraph":
        from langgraph.store.sqlite import SqliteStore as LGSqlite

        with LGSqlite.from_conn_string(str(path), index=index) as store:  # type: ignore[arg-type]
            store.setup()
            yield store
    elif kind == "memory":
        from tether.store.memory import InMemoryStore

        yield InMemoryStore(index=index)  # type: ignore[arg-type]
    else:
        from tether.store.sqlite import SqliteStore

        with SqliteStore.from_conn_string(str(path), index=index) as store:  # type: ignore[arg-type]
            yield store


def _redis(side: str, index: dict[str, Any] | None) -> Iterator[Any]:
    if side == "langgraph":
        from langgraph.store.redis import RedisStore as LGRedis

        with LGRedis.from_conn_string(REDIS_URL, index=index) as store:  # type: ignore[arg-type]
            store.setup()  # fails on plain Redis (no RediSearch): reported, not timed
            yield store
        return
    from tether.store.redis import RedisStore

    prefix = f"tether-bench:{uuid.uuid4().hex[:8]}:"
    with RedisStore.from_conn_string(REDIS_URL, key_prefix=prefix, index=index) as store:  # type: ignore[arg-type]
        try:
            yield store
        finally:
            for key in list(store.client.scan_iter(match="{" + prefix + "}*", count=500)):
                store.client.delete(key)


def _postgres(side: str, index: dict[str, Any] | None) -> Iterator[Any]:
    import postgres

    with postgres.fresh_database() as url:
        if side == "langgraph":
            from langgraph.store.postgres import PostgresStore as LGPostgres

            with LGPostgres.from_conn_string(url, index=index) as store:  # type: ignore[arg-type]
                store.setup()
                yield store
            return
        from tether.store.postgres import PostgresStore

        with PostgresStore.from_conn_string(url, index=index) as store:  # type: ignore[arg-type]
            yield store


def _rate(count: int, run: Callable[[], None], warm: Callable[[], None] | None = None) -> float:
    if warm is not None:
        warm()  # compiles statements, fills caches: not timed
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def _measure(store: Any, n: int, searches: int, semantic_ok: bool) -> dict[str, float | None]:
    ns = ("users", "u1", "memories")
    items = [(f"k{i}", {"text": f"memory number {i}", "n": i}) for i in range(n)]

    def puts() -> None:
        for key, value in items:
            store.put(ns, key, value)

    def gets() -> None:
        for key, _ in items:
            store.get(ns, key)

    def filtered(searches: int = searches) -> None:
        for i in range(searches):
            store.search(("users",), filter={"n": {"$gte": i * 7 % n}}, limit=10)

    def semantic(searches: int = searches) -> None:
        for i in range(searches):
            store.search(("users",), query=f"memory number {i * 13 % n}", limit=10)

    rates: dict[str, float | None] = {
        "put": _rate(n, puts),
        "get": _rate(n, gets),
        "search(filter)": _rate(searches, filtered, lambda: filtered(3)),
    }
    rates["search(query)"] = _rate(searches, semantic, lambda: semantic(3)) if semantic_ok else None
    return rates


def _cell(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:,.0f}"


def bench_stores(workdir: Path, quick: bool = False) -> list[str]:
    """Markdown lines: ops/s per store and operation, tether / LangGraph ratio."""
    n, searches = (200, 20) if quick else (1000, 100)
    lines = [
        "## Stores: operations per second",
        "",
        f"{n} items put one per call, then got one by one; {searches} searches with a numeric "
        "filter ($gte on a top-level key: LangGraph's InMemoryStore fails on dotted keys) and "
        f"{searches} semantic searches (exact, {DIMS}-dim hash embeddings, top 10). "
        "Higher is better.",
        "",
        "| store | operation | tether ops/s | LangGraph ops/s | tether / LangGraph |",
        "|---|---|---|---|---|",
    ]
    failures: list[str] = []
    for kind in ("memory", "sqlite", "redis", "postgres"):
        rates = {}
        for side in ("tether", "langgraph"):
            path = workdir / f"store-{side}-{kind}.db"
            # LangGraph's SqliteStore index needs sqlite-vec, its PostgresStore's pgvector
            semantic_ok = not (side == "langgraph" and kind in ("sqlite", "postgres"))
            try:
                with _open(side, kind, path, indexed=semantic_ok) as store:
                    rates[side] = _measure(store, n, searches, semantic_ok)
            except Exception as exc:  # a backend that cannot run here: reported below
                if side == "tether":
                    raise
                failures.append(f"LangGraph's {kind} store failed: {type(exc).__name__}: {exc}")
                rates[side] = dict.fromkeys(rates["tether"])
        for op, ours in rates["tether"].items():
            theirs = rates["langgraph"][op]
            ratio = f"{ours / theirs:.2f}x" if ours and theirs else "n/a"
            lines.append(f"| {kind} | {op} | {_cell(ours)} | {_cell(theirs)} | {ratio} |")
    lines.append("")
    lines.append(
        "n/a: LangGraph's SqliteStore with an index loads the sqlite-vec extension, which this "
        "Python's sqlite3 cannot load (no enable_load_extension); its PostgresStore with an "
        "index needs pgvector, which this server lacks; tether's scans need neither. In those "
        "two rows tether's store has the index (its puts embed and write vectors), LangGraph's "
        "has none."
    )
    lines += ["", *(f"- {line[:300]}" for line in failures)] if failures else []
    return [*lines, ""]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print("\n".join(bench_stores(Path(folder))))
