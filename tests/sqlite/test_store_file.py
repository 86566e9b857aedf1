"""SqliteStore on a real file: durability, schema checks, sharing a file with SqliteSaver."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import ConfigurationError, SchemaVersionError, SerializationError
from tether.store.base import PutOp
from tether.store.sqlite import SqliteStore
from tether.store.sqlite.aio import AsyncSqliteStore


def embed(texts: list[str]) -> list[list[float]]:
    return [[float(len(t)), 1.0] for t in texts]


def test_items_and_vectors_survive_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    child = f"""
import os
from tether.store.sqlite import SqliteStore
index = {{"dims": 2, "embed": embed, "fields": ["text"]}}
store = SqliteStore.from_conn_string({str(path)!r}, index=index)
store.put(("u",), "k", {{"text": "abc"}}, ttl=60)
os._exit(0)  # no close, no cleanup
"""
    preamble = "def embed(texts):\n    return [[float(len(t)), 1.0] for t in texts]\n"
    done = subprocess.run(
        [sys.executable, "-c", preamble + child], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr

    index = {"dims": 2, "embed": embed, "fields": ["text"]}
    with SqliteStore.from_conn_string(f"sqlite:///{path}", index=index) as store:
        hits = store.search(("u",), query="xyz")

    assert [(h.key, h.value, h.score) for h in hits] == [("k", {"text": "abc"}, pytest.approx(1.0))]


def test_a_value_that_is_not_json_fails_the_whole_batch(tmp_path: Path) -> None:
    with SqliteStore.from_conn_string(str(tmp_path / "s.db")) as store:
        with pytest.raises(SerializationError, match=r"put\(\('ns',\), 'bad'\).*datetime"):
            store.batch(
                [
                    PutOp(("ns",), "ok", {"a": 1}),
                    PutOp(("ns",), "bad", {"when": datetime.datetime.now()}),
                ]
            )
        with pytest.raises(SerializationError, match="NaN"):
            store.put(("ns",), "nan", {"x": float("nan")})

        assert store.get(("ns",), "ok") is None


def test_a_file_remembers_its_dims(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    with SqliteStore.from_conn_string(path, index={"dims": 2, "embed": embed}) as store:
        store.put(("ns",), "k", {"text": "a"})

    with pytest.raises(ConfigurationError, match="holds vectors of 2 dimensions.*dims=3"):
        SqliteStore.from_conn_string(path, index={"dims": 3, "embed": embed})


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    SqliteStore.from_conn_string(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tether_store_meta SET value = '99' WHERE name = 'schema_version'")

    with pytest.raises(SchemaVersionError, match="schema v99"):
        SqliteStore.from_conn_string(path)


@pytest.mark.parametrize("store_first", [True, False], ids=["store-first", "saver-first"])
def test_store_and_saver_share_one_file(tmp_path: Path, store_first: bool) -> None:
    path = str(tmp_path / "app.db")
    openers = [
        lambda: SqliteStore.from_conn_string(path),
        lambda: SqliteSaver.from_conn_string(path),
    ]
    if not store_first:
        openers.reverse()
    first = openers[0]()
    second = openers[1]()
    store = first if store_first else second
    try:
        store.put(("ns",), "k", {"a": 1})
        assert store.get(("ns",), "k") is not None
    finally:
        second.close()
        first.close()


def test_async_sqlite_store_as_async_context_manager(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        async with AsyncSqliteStore.from_conn_string(str(tmp_path / "a.db")) as store:
            await store.aput(("ns",), "k", {"a": 1})
            return [item.key for item in await store.alist(("ns",))]

    assert asyncio.run(scenario()) == ["k"]


def test_your_own_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "own.db", check_same_thread=False, isolation_level=None)
    store = SqliteStore(conn)
    store.put(("ns",), "k", {"a": 1})
    store.close()  # does not close a connection it did not open

    assert conn.execute("SELECT count(*) FROM tether_store_items").fetchone() == (1,)


def test_a_batch_killed_mid_transaction_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    child = f"""
import os
from tether.store.base import PutOp
from tether.store.sqlite import SqliteStore

class Bomb(dict):
    def items(self):  # json.dumps reads the items inside the batch's transaction
        os._exit(7)

store = SqliteStore.from_conn_string({str(path)!r})
store.put(("ns",), "before", {{"a": 0}})
store.batch([*(PutOp(("ns",), f"k{{i}}", {{"i": i}}) for i in range(100)),
             PutOp(("ns",), "before", None), PutOp(("ns",), "bomb", Bomb(x=1))])
"""
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=False
    )
    assert done.returncode == 7, done.stderr

    with SqliteStore.from_conn_string(str(path)) as store:
        assert [item.key for item in store.list(("ns",))] == ["before"]


def test_threads_writing_at_once(tmp_path: Path) -> None:
    with SqliteStore.from_conn_string(str(tmp_path / "t.db")) as store:

        def write(worker: int) -> None:
            for i in range(50):
                store.put(("ns", str(worker)), f"k{i}", {"i": i})
                assert store.get(("ns", str(worker)), f"k{i}") is not None

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert len(store.list(("ns",))) == 200
        assert store.list_namespaces() == [("ns", str(w)) for w in range(4)]
