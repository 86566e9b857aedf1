"""A compiled graph hands its store to nodes, as ``store=`` and as ``runtime.store``.

Runs on InMemoryStore and on a SqliteStore file with a semantic index, through ``invoke``
and ``ainvoke``: what one thread writes, another thread (and a node searching by meaning)
reads.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, TypedDict

import pytest

from tether.checkpoint.memory import InMemorySaver
from tether.graph import START, StateGraph
from tether.runtime import Runtime
from tether.store.base import BaseStore
from tether.store.memory import InMemoryStore
from tether.store.sqlite import SqliteStore

WORDS = ["tea", "coffee", "python", "night"]
INDEX = {
    "dims": len(WORDS),
    "embed": lambda texts: [
        [float(re.findall("[a-z]+", t.lower()).count(w)) for w in WORDS] for t in texts
    ],
    "fields": ["text"],
}


class State(TypedDict, total=False):
    remember: str
    ask: str
    answer: str


def remember(state: State, config: dict[str, Any], *, store: BaseStore) -> State:
    if state.get("remember"):
        user = config["configurable"]["user_id"]
        store.put(
            (user, "facts"), str(len(store.list((user, "facts")))), {"text": state["remember"]}
        )
    return {}


def recall(state: State, runtime: Runtime) -> State:
    assert runtime.store is not None
    if not state.get("ask"):
        return {}
    hits = runtime.store.search(("u1", "facts"), query=state["ask"], limit=1)
    return {"answer": hits[0].value["text"] if hits else "nothing"}


def build(store: BaseStore) -> Any:
    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    return builder.compile(checkpointer=InMemorySaver(), store=store)


@pytest.fixture(params=["memory", "sqlite-file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        yield InMemoryStore(index=INDEX)
        return
    with SqliteStore.from_conn_string(str(tmp_path / "store.db"), index=INDEX) as opened:
        yield opened


def config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "user_id": "u1"}}


def test_nodes_share_the_store_across_threads(store: BaseStore) -> None:
    graph = build(store)
    graph.invoke({"remember": "drinks tea"}, config("t1"))
    graph.invoke({"remember": "writes python at night"}, config("t2"))

    answer = graph.invoke({"ask": "what about python?"}, config("t3"))["answer"]

    assert answer == "writes python at night"
    assert sorted(i.value["text"] for i in store.list(("u1",))) == [
        "drinks tea",
        "writes python at night",
    ]


def test_async_run_uses_the_same_store(store: BaseStore) -> None:
    graph = build(store)

    async def scenario() -> str:
        await graph.ainvoke({"remember": "likes coffee"}, config("a1"))
        result = await graph.ainvoke({"ask": "coffee?"}, config("a2"))
        return result["answer"]

    assert asyncio.run(scenario()) == "likes coffee"
