"""Schema v7: a step's values reach the step function as one composite argument (``rowarg``).
The binary record reads back field by field through either path (direct, cursor), bad values
are refused as psycopg refuses them, and a v6 schema is upgraded in place while a v6 process
still running keeps storing steps through v6's functions."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

import pg_service
from tether.checkpoint.postgres import PostgresSaver, arrays, direct, rowarg, schema, step

from .old_layout import PerWriteSaver
from .test_one_call_step import _cfg, _step

pytestmark = pytest.mark.services

_VALUES: list[Any] = [
    "thread-é",
    "",
    None,
    2**40,
    1.5,
    30,  # an int lease ttl goes as float8
    uuid.UUID(int=1),  # an id given as a UUID goes as its text
    None,
    -(2**63),
    None,
    "cp",
    None,
    "2026-01-01T00:00:00+00:00",
    -1,
    "loop",
    None,
    '{"a": "ü", "b": [1, null]}',
    b"\x00\x01",
    arrays.Texts(["", "ns"]),
    arrays.Texts(["cp", None]),
    arrays.Texts(["task", "tâsk"]),
    arrays.Texts(["", "path"]),
    arrays.Int4s([0, None]),
    arrays.Blobs([b"\x00y", None]),
]
"""A plain step's 24 fields (schema v8), with every kind of value and NULLs."""


def test_a_row_reads_back_field_by_field_through_both_paths() -> None:
    namespace = pg_service.new_namespace()
    with PostgresSaver.from_conn_string(pg_service.database_url(), namespace=namespace) as s:
        s.setup()
    row = rowarg.Row(_VALUES, step._OIDS[8, True])
    sql = f'SELECT (%b::"{namespace}".tether_step8_plain_args)::text'
    with psycopg.connect(pg_service.database_url(), autocommit=True) as conn:
        rowarg.register(conn.adapters)
        arrays.register(conn.adapters)
        conn.prepare_threshold = None
        sent = direct.call(conn, direct.sql(sql), [row])
        through_cursor = conn.execute(sql, [row]).fetchone()[0]  # type: ignore[index]
        fields = conn.execute(
            f'SELECT (%b::"{namespace}".tether_step8_plain_args).*', [row]
        ).fetchone()
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert sent == through_cursor
    assert fields is not None
    expected = list(_VALUES)
    expected[5] = 30.0
    expected[6] = str(uuid.UUID(int=1))
    expected[16] = {"a": "ü", "b": [1, None]}
    assert [list(v) if isinstance(v, list) else v for v in fields] == expected


def test_bad_values_are_refused_as_psycopg_refuses_them() -> None:
    for value, oid in (("a\x00b", 25), ('{"a": "\x00"}', 3802), (arrays.Texts(["\x00"]), 1009)):
        with pytest.raises(psycopg.DataError, match="NUL"):
            rowarg.write(rowarg.Row([value], (oid,)), "utf-8")
    with pytest.raises(psycopg.DataError, match="out of range"):
        rowarg.write(rowarg.Row([2**63], (20,)), "utf-8")
    with pytest.raises(TypeError):
        rowarg.write(rowarg.Row([arrays.Blobs([b""])], (1009,)), "utf-8")


def test_a_v6_schema_is_upgraded_and_its_thread_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    url, namespace = pg_service.database_url(), pg_service.new_namespace()
    with monkeypatch.context() as v6:  # this tether as it wrote at schema v6
        v6.setattr(schema, "SCHEMA_VERSION", 6)
        with PerWriteSaver.from_conn_string(url, namespace=namespace) as old:
            config = _step(old, _cfg("chat"), {"n": 1})
            config = _step(old, config, {"n": 2}, [(config, [("n", 2)], "task-a", "")])
    assert _functions(url, namespace) == {"tether_put_step", "tether_step", "tether_step_plain"}
    with PostgresSaver.from_conn_string(url, namespace=namespace) as saver:
        head = saver.get_tuple(_cfg("chat"))
        assert head is not None and head.config == config
        parent = saver.get_tuple(head.parent_config)
        assert parent is not None and parent.pending_writes == [("task-a", "n", 2)]
        config = _step(saver, config, {"n": 3}, [(config, [("n", 3)], "task-b", "")])
        config = _step(saver, config, {"n": 4})
        history = [t.checkpoint["channel_values"]["n"] for t in saver.list(_cfg("chat"))]
    functions = _functions(url, namespace)
    with psycopg.connect(url, autocommit=True) as conn:
        (version,) = conn.execute(
            f"SELECT value FROM \"{namespace}\".tether_meta WHERE key = 'schema_version'"  # noqa: S608
        ).fetchone() or (None,)
        conn.execute(f'DROP SCHEMA "{namespace}" CASCADE')
    assert history == [4, 3, 2, 1]
    assert version == str(schema.SCHEMA_VERSION) == "8"
    assert functions == {"tether_step8", "tether_step8_plain", "tether_take_read"}


def _functions(url: str, namespace: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {
            r[0]
            for r in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %s",
                (namespace,),
            )
        }
