"""PostgresSaver built as LangGraph's is: from a URL (with or without ``with``), a pool, or a
connection; all see the same rows."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import psycopg
import psycopg_pool
import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from tether.errors import ConfigurationError
from tether.graph import END, START, StateGraph

pytestmark = pytest.mark.services


def _put_one(saver: PostgresSaver, thread_id: str) -> None:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"x": 1}
    checkpoint["channel_versions"] = {"x": "1"}
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    saver.put(config, checkpoint, {"source": "input", "step": -1}, {"x": "1"})


def test_url_pool_and_connection_share_the_rows() -> None:
    url = pg_service.database_url()
    namespace = pg_service.new_namespace()
    saver = PostgresSaver.from_conn_string(url, namespace=namespace)  # no `with`
    _put_one(saver, "from-url")
    saver.close()
    config = {"configurable": {"thread_id": "from-url"}}
    with psycopg_pool.ConnectionPool(url, kwargs={"autocommit": True}, open=True) as pool:
        pooled = PostgresSaver(pool, namespace=namespace)
        assert pooled.get_tuple(config).checkpoint["channel_values"] == {"x": 1}
        _put_one(pooled, "from-pool")
        pooled.close()  # the pool is the caller's: still open
        assert not pool.closed
    with psycopg.connect(url) as conn:  # not in autocommit: the saver switches it on
        single = PostgresSaver(conn, namespace=namespace)
        assert {t.config["configurable"]["thread_id"] for t in single.list(None)} == {
            "from-url",
            "from-pool",
        }
        _put_one(single, "from-conn")
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        assert saver.get_tuple({"configurable": {"thread_id": "from-conn"}}) is not None


def test_an_async_pool_gives_its_server_and_stays_the_callers() -> None:
    """Given an AsyncConnectionPool, AsyncPostgresSaver opens its own pool to the same server
    (its storage code runs on sync connections in worker threads) and leaves the caller's
    pool open; a graph run through it stores rows the URL saver reads."""
    url = pg_service.database_url()
    namespace = pg_service.new_namespace()

    async def run() -> tuple[Any, bool]:
        async with psycopg_pool.AsyncConnectionPool(
            url, kwargs={"autocommit": True}, min_size=1, max_size=3, open=False
        ) as pool:
            async with AsyncPostgresSaver(pool, namespace=namespace) as saver:
                await saver.setup()
                assert saver._pg.pool is not None and saver._pg.pool.max_size == 3
                graph = _graph().compile(checkpointer=saver)
                config = {"configurable": {"thread_id": "from-async-pool"}}
                out = await graph.ainvoke({"log": ["in"]}, config)
            async with pool.connection() as conn:  # still the caller's, still open
                await conn.execute("SELECT 1")
            return out, pool.closed

    out, closed = asyncio.run(run())
    assert out == {"log": ["in", "a"]} and not closed
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        head = saver.get_tuple({"configurable": {"thread_id": "from-async-pool"}})
        assert head is not None and head.checkpoint["channel_values"]["log"] == ["in", "a"]


def test_an_async_connection_is_refused_with_what_to_pass() -> None:
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(pg_service.database_url()) as conn:
            with pytest.raises(ConfigurationError, match="AsyncConnection is not supported"):
                AsyncPostgresSaver(conn)

    asyncio.run(run())


class _Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _graph() -> Any:
    builder = StateGraph(_Log)
    builder.add_node("a", lambda state: {"log": ["a"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    return builder
