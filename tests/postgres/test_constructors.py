"""PostgresSaver built as LangGraph's is: from a URL (with or without ``with``), a pool, or a
connection; all see the same rows."""

from __future__ import annotations

import psycopg
import psycopg_pool
import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.postgres import PostgresSaver

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
