"""Bad input on PostgreSQL: each is a clear tether error naming the object, nothing written."""

from __future__ import annotations

import logging
from typing import TypedDict

import psycopg
import pytest

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from tether.errors import (
    BackendUnavailable,
    ConfigurationError,
    CorruptDataError,
    SchemaVersionError,
)
from tether.graph import END, START, StateGraph

pytestmark = pytest.mark.services


def _open(url: str, **options: object) -> PostgresSaver:
    return PostgresSaver.from_conn_string(url, **options)


def test_unreachable_host_names_it_without_the_password() -> None:
    saver = _open("postgresql://postgres:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1:1/nowhere") as caught:
        saver.setup()
    assert "s3cret" not in str(caught.value)
    assert "cannot be reached" in str(caught.value)


def test_unknown_role_is_a_credentials_error() -> None:
    url = pg_service.database_url().replace("user=postgres", "user=tether_no_such_role")
    with pytest.raises(BackendUnavailable, match="credentials"):
        _open(url).setup()


def test_missing_database_says_to_create_it() -> None:
    url = pg_service.url_for("tether_no_such_database")
    with pytest.raises(BackendUnavailable, match="does not exist.*CREATE DATABASE"):
        _open(url).setup()


@pytest.mark.parametrize("name", ["Has-Caps", "1starts_with_digit", "x" * 64, "semi;colon"])
def test_bad_namespace_name_is_refused_before_connecting(name: str) -> None:
    with pytest.raises(ConfigurationError, match="namespace"):
        _open("postgresql://127.0.0.1:1/x", namespace=name)


def test_wrong_connection_objects_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="from_conn_string"):
        PostgresSaver("postgresql://127.0.0.1/x")
    with pytest.raises(ConfigurationError, match="ConnectionPool"):
        PostgresSaver(object())


def _fresh_namespace() -> str:
    return pg_service.new_namespace()


def test_schema_from_a_newer_tether_is_refused() -> None:
    url, ns = pg_service.database_url(), _fresh_namespace()
    _open(url, namespace=ns).setup()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE {ns}.tether_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match=r"newer tether.*v99"):
        _open(url, namespace=ns).get_tuple({"configurable": {"thread_id": "t"}})


def test_langgraph_tables_in_the_schema_are_refused_with_the_namespace_hint() -> None:
    url, ns = pg_service.database_url(), _fresh_namespace()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {ns}")
        conn.execute(
            f"CREATE TABLE {ns}.checkpoints (thread_id TEXT, checkpoint_ns TEXT, "
            f"checkpoint_id TEXT, checkpoint JSONB)"
        )
    with pytest.raises(SchemaVersionError, match=r"checkpoints.*namespace="):
        _open(url, namespace=ns).setup()
    with psycopg.connect(url) as conn:  # nothing of tether's was created next to them
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (ns,)
        ).fetchall()
    assert tables == [("checkpoints",)]


def test_concurrent_setup_of_a_new_schema_all_succeed() -> None:
    url, ns = pg_service.database_url(), _fresh_namespace()
    assert pg_service.setup_concurrently(lambda: _open(url, namespace=ns)) == []


class Text(TypedDict):
    text: str


def _big_graph() -> StateGraph:
    def node(state: Text) -> dict:
        return {"text": state["text"] + "!" * 400}

    builder = StateGraph(Text)
    builder.add_node("grow", node)
    builder.add_edge(START, "grow")
    builder.add_edge("grow", END)
    return builder


def test_corrupt_blob_row_fails_its_thread_only(caplog: pytest.LogCaptureFixture) -> None:
    url, ns = pg_service.database_url(), pg_service.SHARED
    with pg_service.fresh_saver() as saver:
        graph = _big_graph().compile(checkpointer=saver)
        for thread in ("bad", "good"):
            graph.invoke({"text": thread}, {"configurable": {"thread_id": thread}})
        with psycopg.connect(url, autocommit=True) as conn:
            changed = conn.execute(
                f"UPDATE {ns}.blobs SET data = '\\xc1c1c1'::bytea, kind = 0 WHERE thread_id = 'bad'"
            ).rowcount
        assert changed >= 1
    with PostgresSaver.from_conn_string(url, namespace=ns) as saver:
        with pytest.raises(CorruptDataError, match="'bad'"):
            saver.get_tuple({"configurable": {"thread_id": "bad"}})
        good = saver.get_tuple({"configurable": {"thread_id": "good"}})
        assert good is not None and good.checkpoint["channel_values"]["text"].startswith("good")
        with caplog.at_level(logging.WARNING):
            listed = list(saver.list(None))
        assert {t.config["configurable"]["thread_id"] for t in listed} >= {"good"}
        assert "skipped a checkpoint" in caplog.text


def test_async_saver_is_the_same_saver_under_the_async_name() -> None:
    import asyncio

    async def main() -> None:
        async with AsyncPostgresSaver.from_conn_string(
            pg_service.database_url(), namespace=pg_service.SHARED
        ) as saver:
            graph = _big_graph().compile(checkpointer=saver)
            out = await graph.ainvoke({"text": "a"}, {"configurable": {"thread_id": "aio"}})
            assert out["text"] == "a" + "!" * 400
            assert (await saver.aget_tuple({"configurable": {"thread_id": "aio"}})) is not None

    asyncio.run(main())


def test_a_nul_in_a_task_id_is_a_configuration_error_and_nothing_is_written() -> None:
    with pg_service.fresh_saver() as saver:
        config = {"configurable": {"thread_id": "nul-task", "checkpoint_ns": ""}}
        stored = saver.put(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
        with pytest.raises(ConfigurationError, match="NUL"):
            saver.put_writes(stored, [("n", 1)], "task\x00a")
        found = saver.get_tuple(stored)
        assert found is not None and found.pending_writes == []
