"""InMemoryStore specifics, the Item types and the filter helpers.

The behaviour every store shares is in tests/contract/test_store_contract.py.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import types
from datetime import datetime, timezone

import pytest

from tether.errors import ConfigurationError, StorageError
from tether.store.base import (
    NOT_PROVIDED,
    BaseStore,
    InvalidNamespaceError,
    InvalidStoreOperation,
    Item,
    PutOp,
    SearchItem,
    validate_namespace,
    validate_ops,
)
from tether.store.filters import lookup_field, matches_filter, namespace_matches
from tether.store.memory import InMemoryStore

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
T1 = datetime(2024, 1, 2, 3, 4, 6, tzinfo=timezone.utc)


# --- InMemoryStore -------------------------------------------------------------------------


def test_in_memory_store_is_a_base_store_with_ttl() -> None:
    store = InMemoryStore()

    assert isinstance(store, BaseStore)
    assert store.supports_ttl is True


def test_index_config_errors_name_what_is_wrong() -> None:
    with pytest.raises(ConfigurationError, match="dims must be a positive int"):
        InMemoryStore(index={"dims": 0, "embed": lambda texts: [[0.0] for _ in texts]})
    with pytest.raises(ConfigurationError, match="embed must be a function"):
        InMemoryStore(index={"dims": 3, "embed": 42})
    with pytest.raises(ConfigurationError, match=r"unknown keys \['dim'\]"):
        InMemoryStore(index={"dim": 3, "embed": lambda texts: texts})
    with pytest.raises(ConfigurationError, match="async, and a sync store method"):

        async def aembed(texts: list[str]) -> list[list[float]]:
            return [[1.0] for _ in texts]

        async def scenario() -> None:
            InMemoryStore(index={"dims": 1, "embed": aembed}).put(("ns",), "k", {"a": "x"})

        asyncio.run(scenario())


def test_updated_at_strictly_increases_across_rapid_writes() -> None:
    store = InMemoryStore()
    stamps = []
    for i in range(200):
        store.put(("ns",), "k", {"i": i})
        item = store.get(("ns",), "k")
        assert item is not None
        stamps.append(item.updated_at)

    assert all(a < b for a, b in zip(stamps, stamps[1:]))
    assert len({store.get(("ns",), "k").created_at for _ in range(3)}) == 1  # type: ignore[union-attr]


def test_concurrent_writers_from_threads_lose_nothing() -> None:
    store = InMemoryStore()
    barrier = threading.Barrier(8)

    def writer(worker: int) -> None:
        barrier.wait()
        for i in range(50):
            store.put(("workers", f"w{worker}"), f"k{i}", {"worker": worker, "i": i})
            store.search(("workers",), limit=5)
            store.list_namespaces(prefix=("workers",))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(store.search(("workers",), limit=1000)) == 400
    assert store.list_namespaces(prefix=("workers",)) == [("workers", f"w{w}") for w in range(8)]
    assert len({item.updated_at for item in store.search(("workers",), limit=1000)}) == 400


def test_sync_and_async_calls_work_inside_a_running_loop() -> None:
    store = InMemoryStore()

    async def scenario() -> tuple[Item | None, Item | None]:
        store.put(("ns",), "sync", {"a": 1})  # no I/O: safe to call from a coroutine
        await store.aput(("ns",), "async", {"a": 2})
        return store.get(("ns",), "async"), await store.aget(("ns",), "sync")

    from_sync, from_async = asyncio.run(scenario())

    assert from_sync is not None and from_sync.value == {"a": 2}
    assert from_async is not None and from_async.value == {"a": 1}


def test_search_items_are_fresh_copies() -> None:
    store = InMemoryStore()
    store.put(("ns",), "k", {"nested": {"n": 1}})

    store.search(("ns",))[0].value["nested"]["n"] = 99

    assert store.search(("ns",))[0].value == {"nested": {"n": 1}}


# --- Item and SearchItem -------------------------------------------------------------------


def test_item_dict_equality_hash_and_repr() -> None:
    item = Item(value={"a": 1}, key="k", namespace=("x", "y"), created_at=T0, updated_at=T1)
    same = Item(value={"a": 1}, key="k", namespace=["x", "y"], created_at=T0, updated_at=T1)  # type: ignore[arg-type]
    newer = Item(value={"a": 1}, key="k", namespace=("x", "y"), created_at=T0, updated_at=T0)

    assert item.dict() == {
        "namespace": ["x", "y"],
        "key": "k",
        "value": {"a": 1},
        "created_at": "2024-01-02T03:04:05+00:00",
        "updated_at": "2024-01-02T03:04:06+00:00",
    }
    assert item == same and hash(item) == hash(same) and item.namespace == ("x", "y")
    assert item != newer and hash(item) == hash(newer)
    assert item != {"a": 1}
    assert repr(item).startswith("Item(namespace=['x', 'y'], key='k'")


def test_item_accepts_iso_strings_for_each_timestamp() -> None:
    item = Item(
        value={},
        key="k",
        namespace=("x",),
        created_at="2024-01-02T03:04:05Z",  # type: ignore[arg-type]
        updated_at="2024-01-02T03:04:06+00:00",  # type: ignore[arg-type]
    )

    assert item.created_at == T0 and item.updated_at == T1


def test_search_item_carries_score() -> None:
    hit = SearchItem(("x",), "k", {"a": 1}, T0, T1, score=0.5)

    assert hit.score == 0.5
    assert hit.dict()["score"] == 0.5 and hit.dict()["key"] == "k"
    assert SearchItem(("x",), "k", {"a": 1}, T0, T1).score is None
    assert isinstance(hit, Item)


def test_not_provided_sentinel() -> None:
    assert repr(NOT_PROVIDED) == "NOT_PROVIDED"


# --- validation helpers --------------------------------------------------------------------


def test_validate_namespace_normalizes_and_names_the_problem() -> None:
    assert validate_namespace(["a", "b"]) == ("a", "b")
    assert validate_namespace((), allow_empty=True) == ()
    with pytest.raises(InvalidNamespaceError, match=r"my prefix \('a', 'b\.c'\): label 'b\.c'"):
        validate_namespace(("a", "b.c"), what="my prefix")


def test_errors_belong_to_the_tether_tree() -> None:
    assert issubclass(InvalidNamespaceError, InvalidStoreOperation)
    assert issubclass(InvalidStoreOperation, StorageError)
    assert issubclass(InvalidStoreOperation, ValueError)


def test_validate_ops_names_the_store_in_ttl_errors() -> None:
    with pytest.raises(ConfigurationError, match="MyStore does not support TTL"):
        validate_ops([PutOp(("ns",), "k", {"a": 1}, ttl=3)], store="MyStore")

    checked = validate_ops([PutOp(("ns",), "k", {"a": 1}, ttl=3)], supports_ttl=True)
    assert checked == [PutOp(("ns",), "k", {"a": 1}, None, 3)]
    with pytest.raises(InvalidStoreOperation, match="ttl must be a positive number"):
        validate_ops([PutOp(("ns",), "k", {"a": 1}, ttl=-1)], supports_ttl=True)


# --- filter helpers ------------------------------------------------------------------------


def test_lookup_field_prefers_a_literal_key_over_a_path() -> None:
    value = {"a.b": "literal", "a": {"b": "nested"}}

    assert lookup_field(value, "a.b") == "literal"
    assert lookup_field({"a": {"b": "nested"}}, "a.b") == "nested"
    assert matches_filter({"a": {"b": None}}, {"a.b": None})
    assert not matches_filter({"a": {}}, {"a.b": None})  # missing is not null


def test_matches_filter_empty_filter_matches_everything() -> None:
    assert matches_filter({"x": 1}, None)
    assert matches_filter({"x": 1}, {})


def test_numeric_and_string_ordering_do_not_mix() -> None:
    assert matches_filter({"n": 10}, {"n": {"$gt": 9}})
    assert not matches_filter({"n": "10"}, {"n": {"$gt": 9}})
    assert not matches_filter({"n": True}, {"n": {"$gt": 0}})  # a bool is not a number
    assert matches_filter({"s": "b"}, {"s": {"$gt": "a", "$lte": "b"}})


def test_namespace_matches_prefix_suffix_wildcard() -> None:
    ns = ("users", "u1", "mem")

    assert namespace_matches(ns, ("users",), "prefix")
    assert namespace_matches(ns, ("*", "u1"), "prefix")
    assert namespace_matches(ns, ("u1", "*"), "suffix")
    assert namespace_matches(ns, (), "suffix")
    assert not namespace_matches(ns, ("u1",), "prefix")
    assert not namespace_matches(ns, ("a", "users", "u1", "mem"), "suffix")


def test_provider_string_without_langchain_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain", None)  # import fails, installed or not
    with pytest.raises(ConfigurationError, match="pip install langchain.*tether:local"):
        InMemoryStore(index={"dims": 3, "embed": "openai:text-embedding-3-small"})


def test_provider_string_resolves_through_init_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    class Model:
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[1.0, float(len(t))] for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return [1.0, float(len(text))]

    def init_embeddings(name: str) -> Model:
        asked.append(name)
        if name == "nope":
            raise ValueError("unknown provider")
        return Model()

    package = types.ModuleType("langchain")
    module = types.ModuleType("langchain.embeddings")
    module.init_embeddings = init_embeddings  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", package)
    monkeypatch.setitem(sys.modules, "langchain.embeddings", module)

    store = InMemoryStore(index={"dims": 2, "embed": "fake:model", "fields": ["t"]})
    store.put(("ns",), "k", {"t": "abc"})

    assert asked == ["fake:model"]
    assert store.search(("ns",), query="xyz")[0].score == pytest.approx(1.0)
    with pytest.raises(ConfigurationError, match="could not load it .*unknown provider"):
        InMemoryStore(index={"dims": 2, "embed": "nope"})


def test_a_store_without_ttl_support_refuses_ttl() -> None:
    class NoTTL(InMemoryStore):
        supports_ttl = False

    store = NoTTL()
    with pytest.raises(ConfigurationError, match="NoTTL does not support TTL"):
        store.put(("ns",), "k", {"a": 1}, ttl=5)
    store.put(("ns",), "k", {"a": 1}, ttl=None)  # None means "never expires": fine

    assert store.get(("ns",), "k") is not None
