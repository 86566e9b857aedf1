"""Namespaces in one SQLite file (seed 002): each saver sees only its own rows."""

from __future__ import annotations

import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import ConfigurationError, SchemaVersionError
from tether.graph import END, START, StateGraph


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _graph(saver: SqliteSaver, name: str) -> Any:
    builder = StateGraph(Log)
    builder.add_node("n", lambda state: {"log": [name * 300]})  # large: stored in blobs
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder.compile(checkpointer=saver)


def test_namespaces_and_the_default_share_a_file_without_seeing_each_other(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "shared.db")
    config = {"configurable": {"thread_id": "same-id"}}
    with (
        SqliteSaver.from_conn_string(path) as plain,
        SqliteSaver.from_conn_string(path, namespace="app_a") as a,
        SqliteSaver.from_conn_string(path, namespace="app_b") as b,
    ):
        _graph(plain, "p").invoke({"log": ["in"]}, config)
        _graph(a, "a").invoke({"log": ["in"]}, {**config, "metadata": {"run": "a"}})
        for _ in range(2):
            _graph(b, "b").invoke({"log": ["in"]}, config)
        assert a.get_tuple(config).checkpoint["channel_values"]["log"] == ["in", "a" * 300]
        assert len(list(plain.list(None))) == 3
        assert len(list(a.list(None))) == 3
        assert len(list(b.list(None))) == 6
        assert list(b.list(None, filter={"run": "a"})) == []

        a.copy_thread("same-id", "copy")
        assert b.get_tuple({"configurable": {"thread_id": "copy"}}) is None
        b.prune(["same-id"], keep_last=1)
        assert len(list(a.list(config))) == 3
        a.delete_thread("same-id")
        assert a.get_tuple(config) is None
        assert b.get_tuple(config).checkpoint["channel_values"]["log"][-1] == "b" * 300
        assert plain.get_tuple(config).checkpoint["channel_values"]["log"][-1] == "p" * 300
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"checkpoints", "app_a__checkpoints", "app_b__checkpoints"} <= tables


def test_a_namespace_reopened_later_keeps_its_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "reopen.db")
    config = {"configurable": {"thread_id": "t"}}
    with SqliteSaver.from_conn_string(path, namespace="app") as saver:
        _graph(saver, "x").invoke({"log": ["in"]}, config)
    with SqliteSaver.from_conn_string(path, namespace="app") as saver:
        assert len(list(saver.list(config))) == 3
    with SqliteSaver.from_conn_string(path) as saver:
        assert saver.get_tuple(config) is None


def test_a_namespace_in_a_file_of_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE checkpoints (thread_id TEXT, checkpoint BLOB)")
    with pytest.raises(SchemaVersionError, match="did not create"):
        SqliteSaver.from_conn_string(str(path), namespace="app").setup()


@pytest.mark.parametrize("name", ["Upper", "9lives", "has space", "x" * 64, ""])
def test_a_bad_namespace_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigurationError, match="namespace"):
        SqliteSaver.from_conn_string(str(tmp_path / "x.db"), namespace=name)
