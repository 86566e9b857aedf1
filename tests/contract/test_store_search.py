"""Semantic search, TTL, filters and namespaces, on every store in ``STORE_FACTORIES``.

Embedders here are small deterministic functions (bag of words over a fixed vocabulary,
vectors looked up by text), so expected scores are computed by hand-written brute force.
Each test runs through the sync API and the async API (``mode``).
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from store_kit import PARAMS, Driver, driven

from tether.errors import ConfigurationError, InvalidStoreOperation
from tether.store.base import GetOp, PutOp, SearchItem, SearchOp

VOCAB = ["python", "tea", "coffee", "night", "dark", "theme", "peanuts", "code", "morning"]


def bag(text: str) -> list[float]:
    words = re.findall("[a-z]+", text.lower())
    return [float(words.count(word)) for word in VOCAB]


def embed(texts: list[str]) -> list[list[float]]:
    return [bag(text) for text in texts]


def cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


INDEX = {"dims": len(VOCAB), "embed": embed, "fields": ["text"]}


@pytest.fixture(**PARAMS)
def make(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A function opening a store with options, driven in sync or async mode."""
    opened: list[Iterator[Driver]] = []

    def open_store(**options: Any) -> Driver:
        opened.append(driven(request, **options))
        return next(opened[-1])

    yield open_store
    for generator in reversed(opened):
        generator.close()


def keys(items: list[SearchItem]) -> list[str]:
    return [item.key for item in items]


# --- semantic search ----------------------------------------------------------------------


MEMORIES = {
    "m1": "likes python code",
    "m2": "drinks tea in the morning",
    "m3": "coffee at night",
    "m4": "prefers the dark theme",
    "m5": "allergic to peanuts",
}


def test_query_ranks_by_exact_cosine(make: Any) -> None:
    store = make(index=INDEX)
    for key, text in MEMORIES.items():
        store.put(("u1", "mem"), key, {"text": text})
    query = "python code at night with tea tea tea?"

    results = store.search(("u1",), query=query, limit=3)

    expected = sorted(MEMORIES, key=lambda k: -cos(bag(query), bag(MEMORIES[k])))[:3]
    assert keys(results) == expected == ["m2", "m1", "m3"]
    for item in results:
        assert item.score == pytest.approx(cos(bag(query), bag(MEMORIES[item.key])))
    assert keys(store.search(("u1",), query=query, limit=2, offset=1)) == ["m1", "m3"]


def test_query_with_filter_and_namespace(make: Any) -> None:
    store = make(index=INDEX)
    store.put(("u1",), "a", {"text": "python", "kind": "fact"})
    store.put(("u1",), "b", {"text": "python code", "kind": "pref"})
    store.put(("u2",), "c", {"text": "python code", "kind": "fact"})

    results = store.search(("u1",), query="python code", filter={"kind": "fact"})

    assert keys(results) == ["a"] and results[0].score == pytest.approx(1 / math.sqrt(2))


def test_items_without_vectors_follow_scored_ones(make: Any) -> None:
    store = make(index=INDEX)
    store.put(("ns",), "plain", {"text": "python"}, index=False)
    store.put(("ns",), "nofield", {"other": "python"})
    store.put(("ns",), "hit", {"text": "tea"})

    results = store.search(("ns",), query="tea")

    assert keys(results)[0] == "hit" and results[0].score == pytest.approx(1.0)
    assert sorted(keys(results)[1:]) == ["nofield", "plain"]
    assert [item.score for item in results[1:]] == [None, None]
    assert all(item.score is None for item in store.search(("ns",)))  # no query, no score


def test_field_paths_per_item_and_list_elements(make: Any) -> None:
    store = make(index={"dims": len(VOCAB), "embed": embed, "fields": ["meta.title"]})
    store.put(("ns",), "nested", {"meta": {"title": "peanuts"}, "text": "tea"})
    store.put(("ns",), "listed", {"notes": [{"x": "tea"}, {"x": "coffee"}]}, index=["notes[*].x"])
    store.put(("ns",), "whole", {"a": "dark", "b": "theme"}, index=["$"])

    assert keys(store.search(("ns",), query="peanuts", limit=1)) == ["nested"]
    both = store.search(("ns",), query="coffee", limit=1)
    assert keys(both) == ["listed"] and both[0].score == pytest.approx(1.0)  # best element
    assert keys(store.search(("ns",), query="dark theme", limit=1)) == ["whole"]


def test_overwrite_replaces_vectors_and_delete_removes_them(make: Any) -> None:
    store = make(index=INDEX)
    store.put(("ns",), "k", {"text": "tea"})
    store.put(("ns",), "k", {"text": "coffee"})
    store.put(("ns",), "gone", {"text": "tea"})
    store.delete(("ns",), "gone")

    results = store.search(("ns",), query="tea")

    assert keys(results) == ["k"] and results[0].score == pytest.approx(0.0)


class CountingEmbeddings(Embeddings):
    """Documents and queries embedded differently, so mixing them up changes the ranking."""

    def __init__(self) -> None:
        self.documents: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return [bag(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return bag(text.replace("beverage", "tea"))


def test_langchain_embeddings_keep_query_and_documents_apart(make: Any) -> None:
    model = CountingEmbeddings()
    store = make(index={"dims": len(VOCAB), "embed": model, "fields": ["text"]})
    store.put(("ns",), "a", {"text": "tea"})
    store.put(("ns",), "b", {"text": "coffee"})

    results = store.search(("ns",), query="beverage")

    assert keys(results)[0] == "a" and results[0].score == pytest.approx(1.0)
    assert model.queries == ["beverage"] and model.documents == ["tea", "coffee"]


def test_async_embed_function(make: Any) -> None:
    calls: list[list[str]] = []

    async def aembed(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        await asyncio.sleep(0)
        return embed(texts)

    store = make(index={"dims": len(VOCAB), "embed": aembed, "fields": ["text"]})
    store.put(("ns",), "a", {"text": "night"})

    assert keys(store.search(("ns",), query="night")) == ["a"]
    assert calls == [["night"], ["night"]]


def test_batch_with_duplicate_texts_embeds_each_text_once(make: Any) -> None:
    calls: list[list[str]] = []

    def counting(texts: list[str]) -> list[list[float]]:
        calls.append(list(texts))
        return embed(texts)

    store = make(index={"dims": len(VOCAB), "embed": counting, "fields": ["text"]})
    store.batch(
        [
            PutOp(("ns",), "a", {"text": "tea"}),
            PutOp(("ns",), "b", {"text": "tea"}),
            PutOp(("ns",), "c", {"text": "coffee"}),
        ]
    )

    assert calls == [["tea", "coffee"]]
    assert sorted(keys(store.search(("ns",), query="tea", limit=2))) == ["a", "b"]


def test_wrong_vector_size_and_bad_index_config(make: Any) -> None:
    store = make(index={"dims": 3, "embed": embed})
    with pytest.raises(Exception, match="dims=3"):
        store.put(("ns",), "k", {"text": "tea"})
    assert store.get(("ns",), "k") is None
    with pytest.raises(ConfigurationError, match="index="):
        make(index={"dims": 3})
    with pytest.raises(ConfigurationError, match="cannot read it"):
        make(index={"dims": 3, "embed": embed, "fields": ["a..b"]})


def test_recall_1000_items_with_planted_neighbours(make: Any) -> None:
    """The top 10 of a search equals a brute-force cosine ranking (and the planted items)."""
    rng = random.Random(11)
    dims = 24
    query = [rng.gauss(0, 1) for _ in range(dims)]
    vectors = {f"v{i}": [rng.gauss(0, 1) for _ in range(dims)] for i in range(990)}
    for i in range(10):  # near the query, at decreasing distance
        vectors[f"near{i}"] = [q + rng.gauss(0, 0.05 * (i + 1)) for q in query]
    table = {**vectors, "QUERY": query}
    store = make(index={"dims": dims, "embed": lambda texts: [table[t] for t in texts]})
    store.batch([PutOp(("docs", key[:2]), key, {"id": key}, ["id"]) for key in vectors])

    results = store.search(("docs",), query="QUERY", limit=10)

    brute = sorted(vectors, key=lambda key: -cos(query, vectors[key]))[:10]
    assert keys(results) == brute
    assert set(brute) == {f"near{i}" for i in range(10)}


# --- TTL ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clocked(make: Any) -> Any:
    def open_store(**options: Any) -> tuple[Any, Clock]:
        store = make(**options)
        clock = Clock()
        store.store._clock = clock
        return store, clock

    return open_store


def test_expired_items_are_never_returned_before_a_sweep(clocked: Any) -> None:
    store, clock = clocked()
    store.put(("ns", "a"), "short", {"v": 1}, ttl=1)
    store.put(("ns", "b"), "long", {"v": 2}, ttl=60)
    store.put(("ns", "b"), "forever", {"v": 3})

    clock.advance(2)

    assert store.get(("ns", "a"), "short") is None
    assert sorted(keys(store.search(("ns",)))) == ["forever", "long"]
    assert store.list_namespaces() == [("ns", "b")]
    assert store.store.sweep_ttl() == 1
    clock.now -= timedelta(minutes=2)  # back in time: the swept item is really gone
    assert store.get(("ns", "a"), "short") is None
    assert store.get(("ns", "b"), "long") is not None


def test_reads_refresh_ttl_unless_told_not_to(clocked: Any) -> None:
    store, clock = clocked()
    store.put(("ns",), "got", {"v": 1}, ttl=10)
    store.put(("ns",), "found", {"v": 2}, ttl=10)
    store.put(("ns",), "untouched", {"v": 3}, ttl=10)

    clock.advance(8)
    assert store.get(("ns",), "got") is not None
    assert keys(store.search(("ns",), filter={"v": 2})) == ["found"]
    assert store.get(("ns",), "untouched", refresh_ttl=False) is not None
    clock.advance(8)

    assert store.get(("ns",), "got") is not None
    assert store.get(("ns",), "found") is not None
    assert store.get(("ns",), "untouched") is None


def test_ttl_config_default_and_no_refresh(clocked: Any) -> None:
    store, clock = clocked(ttl={"default_ttl": 5, "refresh_on_read": False})
    store.put(("ns",), "k", {"v": 1})
    store.put(("ns",), "keep", {"v": 1}, ttl=None)

    clock.advance(4)
    assert store.get(("ns",), "k") is not None  # not refreshed
    clock.advance(2)

    assert store.get(("ns",), "k") is None
    assert store.get(("ns",), "keep") is not None


def test_put_over_an_expired_item_starts_it_anew(clocked: Any) -> None:
    store, clock = clocked()
    store.put(("ns",), "k", {"v": 1}, ttl=1)
    first = store.get(("ns",), "k")
    clock.advance(5)
    store.put(("ns",), "k", {"v": 2})

    second = store.get(("ns",), "k")

    assert first is not None and second is not None
    assert second.created_at > first.created_at and second.value == {"v": 2}


def test_sweeper_deletes_expired_items(clocked: Any) -> None:
    store, clock = clocked(ttl={"sweep_interval_minutes": 0.0005})
    store.put(("ns",), "k", {"v": 1}, ttl=1)
    clock.advance(2)
    raw = store.store
    swept: list[int] = []
    sweep = raw.sweep_ttl
    raw.sweep_ttl = lambda: swept.append(sweep()) or swept[-1]

    future = raw.start_ttl_sweeper()
    try:
        for _ in range(500):  # bounded wait for the sweeper thread (at most ~5 s)
            if sum(swept):
                break
            threading.Event().wait(0.01)
    finally:
        assert raw.stop_ttl_sweeper(timeout=5)

    assert sum(swept) == 1 and future.done()
    clock.now -= timedelta(minutes=2)
    assert store.get(("ns",), "k") is None


def test_invalid_ttl(make: Any) -> None:
    with pytest.raises(ConfigurationError, match="default_ttl must be a positive"):
        make(ttl={"default_ttl": -1})
    with pytest.raises(ConfigurationError, match="unknown keys"):
        make(ttl={"default": 5})
    store = make()
    with pytest.raises(InvalidStoreOperation, match="ttl must be a positive"):
        store.put(("ns",), "k", {"v": 1}, ttl=0)


# --- filters and namespaces ---------------------------------------------------------------


def test_in_and_nin_filters(make: Any) -> None:
    store = make()
    for key, value in {"a": {"n": 1}, "b": {"n": 2.0}, "c": {"n": "1"}, "d": {}}.items():
        store.put(("ns",), key, value)

    def find(condition: Any) -> list[str]:
        return sorted(keys(store.search(("ns",), filter={"n": condition})))

    assert find({"$in": [1, 2]}) == ["a", "b"]
    assert find({"$in": ["1"]}) == ["c"]
    assert find({"$nin": [1, 2]}) == ["c", "d"]  # $nin matches a missing field
    assert find({"$in": []}) == []
    with pytest.raises(InvalidStoreOperation, match=r"\$in needs a list"):
        find({"$in": 1})


def test_numbers_compare_as_numbers_at_any_depth(make: Any) -> None:
    store = make()
    for n in (2, 9, 10, 100):
        store.put(("ns",), f"k{n}", {"stats": {"n": n}})

    found = store.search(("ns",), filter={"stats.n": {"$gt": 9, "$lte": 100}})

    assert sorted(keys(found)) == ["k10", "k100"]


def test_filter_values_and_fields_are_never_sql(make: Any) -> None:
    store = make()
    store.put(("ns",), "k", {"name": "x' OR '1'='1", "a'b": 1, 'q"': 2})

    assert keys(store.search(("ns",), filter={"name": "x' OR '1'='1"})) == ["k"]
    assert store.search(("ns",), filter={"name": "x"}) == []
    assert keys(store.search(("ns",), filter={"a'b": 1})) == ["k"]
    assert keys(store.search(("ns",), filter={'q"': 2})) == ["k"]  # checked in Python


def test_namespace_labels_match_exactly(make: Any) -> None:
    store = make()
    for namespace in [("a%",), ("ab",), ("a_",), ("a",), ("a", "b%")]:
        store.put(namespace, "k", {"ns": list(namespace)})

    def found(prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        return sorted(item.namespace for item in store.search(prefix))

    assert found(("a%",)) == [("a%",)]
    assert found(("a_",)) == [("a_",)]
    assert found(("a",)) == [("a",), ("a", "b%")]
    assert found(("a", "b")) == []
    assert store.list_namespaces(prefix=("a%",)) == [("a%",)]


def test_list_returns_every_item(make: Any) -> None:
    store = make()
    store.batch([PutOp(("ns", str(i % 2)), f"k{i}", {"i": i}) for i in range(1203)])

    everything = store.list(("ns",))
    odd = store.list(("ns", "1"), filter={"i": {"$lt": 10}})

    assert len(everything) == 1203 and len({item.key for item in everything}) == 1203
    assert sorted(item.value["i"] for item in odd) == [1, 3, 5, 7, 9]


def test_batch_reads_see_earlier_writes_with_vectors(make: Any) -> None:
    store = make(index=INDEX)

    results = store.batch(
        [
            PutOp(("ns",), "a", {"text": "tea"}),
            SearchOp(("ns",), query="tea"),
            GetOp(("ns",), "a"),
        ]
    )

    assert keys(results[1]) == ["a"] and results[1][0].score == pytest.approx(1.0)
    assert results[2].value == {"text": "tea"}
