"""Namespaces (seed 002): several apps share one database, each sees only its own rows."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import pytest

import pg_service
from tether.checkpoint.postgres import PostgresSaver
from tether.errors import ConfigurationError
from tether.graph import END, START, StateGraph

pytestmark = pytest.mark.services


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _graph(saver: PostgresSaver, name: str):
    builder = StateGraph(Log)
    builder.add_node("n", lambda state: {"log": [name]})
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder.compile(checkpointer=saver)


def test_every_operation_stays_inside_its_namespace() -> None:
    url = pg_service.database_url()
    first, second = pg_service.new_namespace(), pg_service.new_namespace()
    config = {"configurable": {"thread_id": "same-id"}}
    with (
        PostgresSaver.from_conn_string(url, namespace=first) as a,
        PostgresSaver.from_conn_string(url, schema=second) as b,
    ):
        _graph(a, "a").invoke({"log": ["in"]}, {**config, "metadata": {"run": "a"}})
        _graph(b, "b").invoke({"log": ["in"]}, config)
        _graph(b, "b").invoke({"log": ["in"]}, config)
        assert a.get_tuple(config).checkpoint["channel_values"]["log"] == ["in", "a"]
        assert len(list(b.list(None))) == 6
        assert {t.checkpoint["channel_values"].get("log", [None])[-1] for t in a.list(None)} <= {
            "a",
            "in",
            None,
        }
        assert len(list(a.list(None, filter={"run": "a"}))) == 3
        assert list(b.list(None, filter={"run": "a"})) == []

        a.copy_thread("same-id", "copy")
        assert b.get_tuple({"configurable": {"thread_id": "copy"}}) is None
        b.prune(["same-id"], keep_last=1)
        assert len(list(a.list(config))) == 3
        a.delete_thread("same-id")
        assert a.get_tuple(config) is None
        assert b.get_tuple(config).checkpoint["channel_values"]["log"][-1] == "b"


def test_namespace_and_schema_must_agree() -> None:
    with pytest.raises(ConfigurationError, match="pass one"):
        PostgresSaver.from_conn_string("postgresql://127.0.0.1:1/x", namespace="a", schema="b")


def test_prepared_statements_can_be_turned_on() -> None:
    url = pg_service.database_url()
    with PostgresSaver.from_conn_string(
        url, namespace=pg_service.SHARED, prepare=True, max_size=1
    ) as saver:  # one connection, so every statement runs past the threshold on it
        graph = _graph(saver, "p")
        for _ in range(8):  # past psycopg's threshold, so statements are prepared on the server
            graph.invoke({"log": ["in"]}, {"configurable": {"thread_id": "prepared"}})
        with saver._pg.read() as conn:
            prepared = conn.raw.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
            steps = conn.raw.execute(  # the step call too, not sent straight through libpq
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ("%tether_step%",),
            ).fetchone()
        assert prepared[0] > 0 and steps[0] > 0
