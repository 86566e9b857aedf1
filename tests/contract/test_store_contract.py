"""The store contract, run against every store in ``store_kit.STORE_FACTORIES``, each test
through the sync API and through the async API (ids ``[sqlite-file-async]``...).

A backend joins by adding one entry to ``STORE_FACTORIES`` (see ``store_kit.py``). Semantic
search, TTL, filter and recall tests are in ``test_store_search.py``, on the same factories.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from store_kit import PARAMS, STORE_FACTORIES, driven

from tether.errors import ConfigurationError, SerializationError, StorageError
from tether.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    InvalidStoreOperation,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)
from tether.store.memory import InMemoryStore


@pytest.fixture(**PARAMS)
def store(request: pytest.FixtureRequest) -> Iterator[BaseStore]:
    """A fresh store of each backend, called through its sync or its async methods."""
    yield from driven(request)  # type: ignore[misc]


def keys(items: list[SearchItem]) -> list[str]:
    return [item.key for item in items]


# --- put / get / delete -------------------------------------------------------------------


def test_put_get_round_trip(store: BaseStore) -> None:
    value = {"text": "likes Python", "n": 3, "tags": ["a", "b"], "nested": {"x": None}}
    store.put(("users", "u1"), "mem-1", value)

    item = store.get(("users", "u1"), "mem-1")

    assert isinstance(item, Item)
    assert item.value == value
    assert item.key == "mem-1"
    assert item.namespace == ("users", "u1")
    assert isinstance(item.created_at, datetime) and item.created_at.tzinfo is not None
    assert item.created_at == item.updated_at


def test_get_missing_returns_none(store: BaseStore) -> None:
    store.put(("users", "u1"), "a", {"v": 1})

    assert store.get(("users", "u1"), "b") is None
    assert store.get(("users", "u2"), "a") is None
    assert store.get(("users",), "a") is None


def test_overwrite_replaces_value_keeps_created_at_moves_updated_at(store: BaseStore) -> None:
    store.put(("ns",), "k", {"a": 1, "b": 2})
    first = store.get(("ns",), "k")
    store.put(("ns",), "k", {"a": 10})
    second = store.get(("ns",), "k")

    assert first is not None and second is not None
    assert second.value == {"a": 10}  # replaced, not merged
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


def test_delete(store: BaseStore) -> None:
    store.put(("ns", "x"), "k", {"a": 1})
    store.put(("ns", "x"), "other", {"a": 2})

    store.delete(("ns", "x"), "k")
    store.delete(("ns", "x"), "never-existed")  # not an error

    assert store.get(("ns", "x"), "k") is None
    assert store.get(("ns", "x"), "other") is not None


def test_namespace_without_items_is_not_listed(store: BaseStore) -> None:
    store.put(("gone",), "k", {"a": 1})
    store.put(("kept",), "k", {"a": 1})
    store.get(("never",), "k")

    store.delete(("gone",), "k")

    assert store.list_namespaces() == [("kept",)]


def test_stored_value_is_isolated_from_caller_mutation(store: BaseStore) -> None:
    value: dict[str, Any] = {"tags": ["a"]}
    store.put(("ns",), "k", value)
    value["tags"].append("mutated-after-put")
    read = store.get(("ns",), "k")
    assert read is not None
    read.value["tags"].append("mutated-after-get")

    again = store.get(("ns",), "k")

    assert again is not None and again.value == {"tags": ["a"]}


def test_list_namespace_is_accepted_and_returned_as_tuple(store: BaseStore) -> None:
    store.put(["users", "u1"], "k", {"a": 1})  # type: ignore[arg-type]

    item = store.get(("users", "u1"), "k")

    assert item is not None and item.namespace == ("users", "u1")


# --- search -------------------------------------------------------------------------------


@pytest.fixture
def people(store: BaseStore) -> BaseStore:
    store.put(("users", "u1", "mem"), "m1", {"text": "likes tea", "score": 9})
    store.put(("users", "u1", "mem"), "m2", {"text": "likes coffee", "score": 10})
    store.put(("users", "u1", "prefs"), "p1", {"theme": "dark"})
    store.put(("users", "u10", "mem"), "m3", {"text": "other user", "score": 2})
    store.put(("teams", "t1"), "t", {"name": "core"})
    return store


def test_search_by_namespace_prefix_matches_whole_labels(people: BaseStore) -> None:
    assert sorted(keys(people.search(("users", "u1")))) == ["m1", "m2", "p1"]
    assert sorted(keys(people.search(("users", "u1", "mem")))) == ["m1", "m2"]
    assert sorted(keys(people.search(("users",)))) == ["m1", "m2", "m3", "p1"]
    assert people.search(("use",)) == []  # a label prefix is not a namespace prefix
    assert people.search(("users", "u1", "me")) == []
    assert sorted(keys(people.search(()))) == ["m1", "m2", "m3", "p1", "t"]


def newest_first(store: BaseStore) -> bool:
    """Durable stores list newest first (LangGraph's SQL stores: ``ORDER BY updated_at DESC``);
    InMemoryStore lists in insertion order, as LangGraph's InMemoryStore does."""
    return not isinstance(getattr(store, "store", store), InMemoryStore)


def test_search_returns_search_items_in_the_stores_order(people: BaseStore) -> None:
    people.put(("users", "u1", "mem"), "m1", {"text": "likes green tea", "score": 9})

    results = people.search(("users",))

    assert all(isinstance(item, SearchItem) and item.score is None for item in results)
    expected = ["m1", "m3", "p1", "m2"] if newest_first(people) else ["m1", "m2", "p1", "m3"]
    assert keys(results) == expected
    assert results[0].value == {"text": "likes green tea", "score": 9}
    assert results[0].namespace == ("users", "u1", "mem")


def test_search_query_without_index_is_ignored(people: BaseStore) -> None:
    with_query = people.search(("users", "u1"), query="what does the user drink?")

    assert keys(with_query) == keys(people.search(("users", "u1")))
    assert all(item.score is None for item in with_query)


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"score": 9}, ["m1"]),
        ({"score": 9.0}, ["m1"]),
        ({"score": {"$eq": 10}}, ["m2"]),
        ({"score": {"$ne": 9}}, ["m2", "m3", "p1"]),  # $ne matches a missing field
        ({"score": {"$gt": 9}}, ["m2"]),  # 10 > 9 as numbers, not as text
        ({"score": {"$gte": 9}}, ["m1", "m2"]),
        ({"score": {"$lt": 10}}, ["m1", "m3"]),
        ({"score": {"$lte": 2}}, ["m3"]),
        ({"score": {"$gt": 2, "$lt": 10}}, ["m1"]),
        ({"score": {"$gt": 1.5}}, ["m1", "m2", "m3"]),
        ({"text": {"$gt": "likes d"}}, ["m1", "m3"]),  # strings compare as strings
        ({"text": "likes tea", "score": 9}, ["m1"]),
        ({"text": "likes tea", "score": 10}, []),
        ({"theme": "dark"}, ["p1"]),
        ({"score": "9"}, []),  # a string is not the number 9
        ({"text": {"$gt": 5}}, []),  # ordering a string field against a number: no match
    ],
    ids=repr,
)
def test_search_filter_operators(
    people: BaseStore, filter: dict[str, Any], expected: list[str]
) -> None:
    assert sorted(keys(people.search(("users",), filter=filter))) == expected


def test_search_filter_nested_fields_bools_and_lists(store: BaseStore) -> None:
    store.put(("docs",), "a", {"meta": {"lang": "en", "pages": 9}, "ok": True, "tags": [1, 2]})
    store.put(("docs",), "b", {"meta": {"lang": "fr", "pages": 10}, "ok": 1, "tags": [1]})
    store.put(("docs",), "c", {"meta.lang": "en"})  # a key with a literal dot

    def find(filter: dict[str, Any]) -> list[str]:
        return sorted(keys(store.search(("docs",), filter=filter)))

    assert find({"meta.lang": "en"}) == ["a", "c"]
    assert find({"meta.pages": {"$gt": 9}}) == ["b"]
    assert find({"meta": {"lang": "fr"}}) == ["b"]  # a dict condition matches a subset
    assert find({"ok": True}) == ["a"]  # True is not 1
    assert find({"ok": 1}) == ["b"]
    assert find({"tags": [1, 2]}) == ["a"]
    assert find({"meta.missing": {"$lt": 100}}) == []


def test_search_limit_and_offset_paginate(store: BaseStore) -> None:
    for i in range(25):
        store.put(("many",), f"k{i:02d}", {"i": i})

    everything = keys(store.search(("many",), limit=100))
    pages = [keys(store.search(("many",), limit=10, offset=o)) for o in (0, 10, 20)]

    assert len(store.search(("many",))) == 10  # default limit
    assert [len(p) for p in pages] == [10, 10, 5]
    assert pages[0] + pages[1] + pages[2] == everything
    order = reversed(range(25)) if newest_first(store) else range(25)
    assert everything == [f"k{i:02d}" for i in order]
    assert store.search(("many",), offset=25) == []
    assert store.search(("many",), limit=0) == []
    expected = ["k23", "k22"] if newest_first(store) else ["k21", "k22"]
    assert keys(store.search(("many",), filter={"i": {"$gte": 20}}, limit=2, offset=1)) == expected


# --- list_namespaces -----------------------------------------------------------------------


@pytest.fixture
def tree(store: BaseStore) -> BaseStore:
    for namespace in [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
        ("a", "c", "f"),
        ("x", "b"),
    ]:
        store.put(namespace, "k", {"v": 1})
    return store


def test_list_namespaces_all_sorted(tree: BaseStore) -> None:
    assert tree.list_namespaces() == [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
        ("a", "c", "f"),
        ("x", "b"),
    ]
    assert tree.list_namespaces(prefix=()) == tree.list_namespaces()


def test_list_namespaces_prefix_suffix_and_max_depth(tree: BaseStore) -> None:
    assert tree.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b", "f"),
    ]
    assert tree.list_namespaces(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert tree.list_namespaces(prefix=("a",), suffix=("f",)) == [
        ("a", "b", "f"),
        ("a", "c", "f"),
    ]
    assert tree.list_namespaces(max_depth=1) == [("a",), ("x",)]
    assert tree.list_namespaces(prefix=("a", "b", "d", "e", "z")) == []


def test_list_namespaces_wildcard(tree: BaseStore) -> None:
    assert tree.list_namespaces(prefix=("*", "b")) == [
        ("a", "b", "c"),
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
        ("a", "b", "f"),
        ("x", "b"),
    ]
    assert tree.list_namespaces(suffix=("d", "*")) == [("a", "b", "d", "e"), ("a", "b", "d", "i")]
    assert tree.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]


def test_list_namespaces_limit_and_offset(tree: BaseStore) -> None:
    everything = tree.list_namespaces()

    assert tree.list_namespaces(limit=2) == everything[:2]
    assert tree.list_namespaces(limit=2, offset=4) == everything[4:]
    assert tree.list_namespaces(max_depth=2, limit=1, offset=1) == [("a", "c")]


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ((), "cannot be empty"),
        ("users", "write ('users',)"),
        (("users", "a.b"), "contains '.'"),
        (("users", ""), "cannot be empty strings"),
        (("users", 7), "labels must be strings"),
        (None, "must be a tuple"),
    ],
    ids=repr,
)
def test_invalid_namespace_errors(store: BaseStore, namespace: Any, message: str) -> None:
    with pytest.raises(InvalidNamespaceError, match="namespace") as put_error:
        store.put(namespace, "k", {"a": 1})
    with pytest.raises(InvalidNamespaceError) as get_error:
        store.get(namespace, "k")

    assert message in str(put_error.value) and message in str(get_error.value)
    assert isinstance(put_error.value, StorageError) and isinstance(put_error.value, ValueError)


def test_search_prefix_validation(store: BaseStore) -> None:
    with pytest.raises(InvalidNamespaceError, match=r"'a\.b' contains '\.'"):
        store.search(("a.b",))
    with pytest.raises(InvalidNamespaceError, match="write \\('users',\\)"):
        store.search("users")  # type: ignore[arg-type]


def test_value_must_be_a_dict(store: BaseStore) -> None:
    with pytest.raises(
        SerializationError, match=r"put\(\('ns',\), 'k'\): the value must be a dict"
    ):
        store.put(("ns",), "k", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(InvalidStoreOperation, match="key must be a str"):
        store.put(("ns",), 3, {"a": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filter", "message"),
    [
        ({"a": {"$regex": "x"}}, "unknown operator '$regex'; use one of $eq, $gt"),
        ({"a": {"$gt": None}}, "$gt needs a number or a string"),
        ({"a": {"$lt": [1]}}, "$lt needs a number or a string"),
        ({"": 1}, "non-empty strings"),
        (["a"], "must be a dict"),
    ],
    ids=repr,
)
def test_invalid_filters(store: BaseStore, filter: Any, message: str) -> None:
    with pytest.raises(InvalidStoreOperation) as error:
        store.search(("ns",), filter=filter)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": -1}, {"offset": -2}, {"limit": "10"}, {"max_depth": 0}],
    ids=repr,
)
def test_invalid_counts(store: BaseStore, kwargs: dict[str, Any]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(InvalidStoreOperation, match=f"{name} must be an int"):
        if name == "max_depth":
            store.list_namespaces(**kwargs)
        else:
            store.search(("ns",), **kwargs)


def test_index_argument_without_an_index_has_no_effect(store: BaseStore) -> None:
    store.put(("ns",), "a", {"text": "x"}, index=False)
    store.put(("ns",), "b", {"text": "y"}, index=["text"])

    assert sorted(keys(store.search(("ns",)))) == ["a", "b"]


def test_invalid_op_fails_the_whole_batch_before_any_write(store: BaseStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("ok",), "k", {"a": 1}), PutOp(("bad.ns",), "k", {"a": 1})])
    with pytest.raises(InvalidStoreOperation, match="unknown store operation"):
        store.batch([PutOp(("ok",), "k", {"a": 1}), ("not", "an", "op")])  # type: ignore[list-item]

    assert store.get(("ok",), "k") is None


# --- batch and async ----------------------------------------------------------------------


def test_batch_mixed_ops_apply_in_order(store: BaseStore) -> None:
    store.put(("ns", "a"), "old", {"n": 1})

    results = store.batch(
        [
            PutOp(("ns", "b"), "new", {"n": 2}),
            GetOp(("ns", "b"), "new"),
            SearchOp(("ns",), filter={"n": {"$gte": 1}}),
            ListNamespacesOp((MatchCondition("prefix", ("ns",)),)),
            PutOp(("ns", "b"), "new", None),
            GetOp(("ns", "b"), "new"),
            GetOp(("ns", "a"), "old"),
        ]
    )

    assert len(results) == 7
    assert results[0] is None and results[4] is None
    got = results[1]
    assert isinstance(got, Item) and got.value == {"n": 2}
    in_order = ["new", "old"] if newest_first(store) else ["old", "new"]
    assert keys(results[2]) == in_order  # type: ignore[arg-type]
    assert results[3] == [("ns", "a"), ("ns", "b")]
    assert results[5] is None
    old = results[6]
    assert isinstance(old, Item) and old.value == {"n": 1}


def test_batch_accepts_any_iterable(store: BaseStore) -> None:
    results = store.batch(PutOp(("gen",), f"k{i}", {"i": i}) for i in range(3))

    assert results == [None, None, None]
    assert len(store.search(("gen",))) == 3


def test_async_twins(store: BaseStore) -> None:
    async def scenario() -> dict[str, Any]:
        await store.aput(("users", "u1"), "k", {"n": 9})
        await store.aput(("users", "u2"), "k", {"n": 10})
        first = await store.aget(("users", "u1"), "k")
        found = await store.asearch(("users",), filter={"n": {"$gt": 9}})
        namespaces = await store.alist_namespaces(prefix=("users",), max_depth=2)
        await store.adelete(("users", "u1"), "k")
        batch = await store.abatch([GetOp(("users", "u1"), "k"), GetOp(("users", "u2"), "k")])
        if not store.supports_ttl:
            with pytest.raises(ConfigurationError, match="does not support TTL"):
                await store.aput(("users", "u1"), "k", {"n": 1}, ttl=1)
        return {"first": first, "found": found, "namespaces": namespaces, "batch": batch}

    out = asyncio.run(scenario())

    assert out["first"] is not None and out["first"].value == {"n": 9}
    assert keys(out["found"]) == ["k"] and out["found"][0].namespace == ("users", "u2")
    assert out["namespaces"] == [("users", "u1"), ("users", "u2")]
    assert out["batch"][0] is None and out["batch"][1].value == {"n": 10}
    assert store.get(("users", "u1"), "k") is None


# --- seed 003 on every backend --------------------------------------------------------------


@pytest.fixture(params=list(STORE_FACTORIES))
def plain_store(request: pytest.FixtureRequest) -> Iterator[BaseStore]:
    """A fresh store of each backend (once per backend: the graph calls it as it likes)."""
    with STORE_FACTORIES[request.param](request) as made:
        yield made


def test_seed_003_user_preferences_shared_across_threads(plain_store: BaseStore) -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "cross_thread_store.py"
    spec = importlib.util.spec_from_file_location("cross_thread_store", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    example.scenario(plain_store, type(plain_store).__name__)  # asserts the replies itself

    assert plain_store.get(("user-1", "prefs"), "settings").value == {"theme": "dark"}
    assert plain_store.get(("user-2", "prefs"), "settings") is None
