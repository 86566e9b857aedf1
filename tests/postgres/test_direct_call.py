"""The step call sent straight through libpq (``postgres.direct``): the same arguments on the
wire as psycopg's, the same errors (a server error inside the step function, a connection
dropped during the call), and the cursor still used where the direct call does not apply."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg.adapt import PyFormat, Transformer

import pg_service
from tether.checkpoint.base import empty_checkpoint
from tether.checkpoint.ids import new_checkpoint_id
from tether.checkpoint.postgres import PostgresSaver, arrays, direct
from tether.checkpoint.postgres.connection import PgConn
from tether.errors import BackendUnavailable, ConfigurationError, StorageError

pytestmark = pytest.mark.services


def _put(saver: PostgresSaver, thread: str) -> Any:
    checkpoint = empty_checkpoint()
    checkpoint["id"] = new_checkpoint_id()
    checkpoint["channel_values"] = {"n": 1}
    checkpoint["channel_versions"] = {"n": saver.get_next_version(None)}
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    return saver.put_step([], config, checkpoint, {"source": "loop", "step": 1}, {})


def _saver(namespace: str, **options: Any) -> PostgresSaver:
    saver = PostgresSaver.from_conn_string(
        pg_service.database_url(), namespace=namespace, **options
    )
    saver.setup()
    return saver


def _trigger(namespace: str, body: str) -> None:
    """Run ``body`` (PL/pgSQL) before every checkpoint row the step function inserts."""
    with psycopg.connect(pg_service.database_url(), autocommit=True) as admin:
        admin.execute(
            f"CREATE FUNCTION {namespace}.fault() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {body}; RETURN NEW; END $$"
        )
        admin.execute(
            f"CREATE TRIGGER fault BEFORE INSERT ON {namespace}.checkpoints "
            f"FOR EACH ROW EXECUTE FUNCTION {namespace}.fault()"
        )


def _untrigger(namespace: str) -> None:
    with psycopg.connect(pg_service.database_url(), autocommit=True) as admin:
        admin.execute(f"DROP TRIGGER fault ON {namespace}.checkpoints")


def test_arguments_go_as_psycopg_would_send_them() -> None:
    """The bytes and types ``dump`` writes are psycopg's for the same values (integers go as
    bigint, the type of every integer parameter of the step function)."""
    args = [
        "thread-é",
        None,
        7,
        -(2**40),
        1.5,
        b"\x00\x01",
        arrays.Texts(["a", None, "ü"]),
        arrays.Texts(["", "ÿ", "1f1edf3f"]),
        arrays.Texts([uuid.UUID(int=1)]),
        arrays.Blobs([b"x", None]),
        arrays.Blobs([b"", b"\x00y"]),
        arrays.Int4s([0, 1, None]),
        arrays.Int8s([2**40]),
    ]
    with psycopg.connect(pg_service.database_url(), autocommit=True) as conn:
        arrays.register(conn.adapters)
        conn.adapters.register_dumper(int, psycopg.types.numeric.Int8BinaryDumper)
        expected = Transformer(conn)
        values = expected.dump_sequence(args, [PyFormat.BINARY] * len(args))
        got = direct.dump(args, conn.info.encoding)
    assert got is not None
    assert got[0] == [None if v is None else bytes(v) for v in values]
    assert got[1] == [0 if v is None else t for v, t in zip(values, expected.types, strict=True)]


def test_a_value_of_another_type_leaves_the_call_to_the_cursor() -> None:
    assert direct.dump(["a", uuid.uuid4()], "utf-8") is None
    assert direct.dump([2**63], "utf-8") is None
    for nul in ("a\x00b", arrays.Texts(["a", "\x00"])):
        with pytest.raises(psycopg.DataError, match="NUL"):
            direct.dump([nul], "utf-8")


def test_the_step_call_goes_direct_unless_statements_are_prepared() -> None:
    sql = direct.sql("SELECT %b::text || %b::text")
    with psycopg.connect(pg_service.database_url(), autocommit=True) as conn:
        conn.prepare_threshold = None
        assert direct.call(conn, sql, ["a", "b"]) == "ab"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT 1").fetchone() == (1,)  # psycopg still uses it as before
        conn.prepare_threshold = 0
        assert direct.call(conn, sql, ["a", "b"]) is direct.NOT_SENT
        conn.prepare_threshold = None
        conn.autocommit = False  # psycopg would open a transaction first: left to the cursor
        assert direct.call(conn, sql, ["a", "b"]) is direct.NOT_SENT


def test_a_psycopg_without_the_pieces_used_leaves_every_call_to_the_cursor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert direct.USABLE  # the psycopg the tests install has them: the fast path is tested
    monkeypatch.setattr(direct, "USABLE", False)
    sql = direct.sql("SELECT %b::text || %b::text")
    with psycopg.connect(pg_service.database_url(), autocommit=True) as conn:
        conn.prepare_threshold = None
        assert direct.call(conn, sql, ["a", "b"]) is direct.NOT_SENT
        assert direct.call_all(conn, [(sql, ["a", "b"])]) is direct.NOT_SENT
    namespace = pg_service.new_namespace()
    with _saver(namespace) as saver:
        stored = _put(saver, "through-the-cursor")
        found = saver.get_tuple(stored)
        assert found is not None and found.checkpoint["channel_values"] == {"n": 1}


def test_a_server_error_inside_the_step_function_is_the_same_tether_error() -> None:
    """Raised in the step function, an error reaches the caller as the same ``StorageError``
    from the same psycopg error, straight (``prepare=False``) or through the cursor."""
    namespace = pg_service.new_namespace()
    errors = []
    for prepare in (False, True):
        with _saver(namespace, prepare=prepare) as saver:
            if not prepare:
                _trigger(namespace, "RAISE EXCEPTION 'refused by a trigger'")
            with pytest.raises(StorageError) as caught:
                _put(saver, "t")
            errors.append(caught.value)
            assert saver.get_tuple({"configurable": {"thread_id": "t"}}) is None
    for error in errors:
        assert "refused by a trigger" in str(error) and "of thread 't'" in str(error)
        assert type(error.__cause__) is psycopg.errors.RaiseException
        assert error.__cause__.diag.sqlstate == "P0001"


def test_nul_in_a_thread_id_is_refused_as_before() -> None:
    with (
        _saver(pg_service.new_namespace()) as saver,
        pytest.raises(ConfigurationError, match="NUL"),
    ):
        _put(saver, "a\x00b")


def test_a_connection_dropped_during_the_call_is_unavailable_and_safe_to_rerun() -> None:
    """The server ends the step call's backend while the call runs: ``BackendUnavailable``
    naming the server, nothing stored, and the same step stores once when run again."""
    namespace = pg_service.new_namespace()
    with _saver(namespace) as saver:
        _put(saver, "t")
        _trigger(namespace, "PERFORM pg_terminate_backend(pg_backend_pid())")
        checkpoint = empty_checkpoint()
        checkpoint["id"] = new_checkpoint_id()
        config = {"configurable": {"thread_id": "t2", "checkpoint_ns": ""}}
        with pytest.raises(BackendUnavailable) as caught:
            saver.put_step([], config, checkpoint, {"source": "loop", "step": 1}, {})
        message = str(caught.value)
        assert "127.0.0.1" in message and "may or may not have landed" in message
        assert saver.get_tuple(config) is None
        _untrigger(namespace)
        saver.put_step([], config, checkpoint, {"source": "loop", "step": 1}, {})
        saver.put_step([], config, checkpoint, {"source": "loop", "step": 1}, {})  # a re-run
        assert [t.checkpoint["id"] for t in saver.list(config)] == [checkpoint["id"]]


@pytest.mark.parametrize("straight", [True, False], ids=["direct", "cursor"])
def test_calls_sent_together_are_one_transaction(straight: bool) -> None:
    """``PgConn.values``: the calls' values in order; a call that fails raises psycopg's error
    and undoes the calls before it (one implicit transaction); the connection stays usable."""
    namespace = pg_service.new_namespace()
    insert = f"INSERT INTO {namespace}.t VALUES (%b::int) RETURNING 100 / v"
    with psycopg.connect(pg_service.database_url(), autocommit=True) as raw:
        raw.execute(f"CREATE SCHEMA {namespace}")
        raw.execute(f"CREATE TABLE {namespace}.t (v int PRIMARY KEY)")
        raw.prepare_threshold = None if straight else 0
        conn = PgConn(raw, namespace)
        assert conn.values([(insert, [2]), (insert, [3])]) == [50, 33]
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.values([(insert, [4]), (insert, [0])])
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.values([(insert, [2]), (insert, [5])])
        assert raw.pgconn.pipeline_status == psycopg.pq.PipelineStatus.OFF
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        rows = raw.execute(f"SELECT v FROM {namespace}.t ORDER BY v").fetchall()
        assert rows == [(2,), (3,)]
        assert conn.value(insert, [10]) == 10


def test_a_connection_dropped_during_calls_sent_together_is_broken() -> None:
    namespace = pg_service.new_namespace()
    with psycopg.connect(pg_service.database_url(), autocommit=True) as raw:
        raw.prepare_threshold = None
        raw.execute(f"CREATE SCHEMA {namespace}")
        conn = PgConn(raw, namespace)
        end = "SELECT pg_terminate_backend(pg_backend_pid()) AND %b::bool"
        with pytest.raises(psycopg.OperationalError):
            conn.values([("SELECT %b::int", [1]), (end, ["t"])])
        assert raw.broken
