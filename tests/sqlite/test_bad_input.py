"""Bad files and bad input give clear errors that name the file, and leave the data readable."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from tether.checkpoint.sqlite import SqliteSaver, schema
from tether.errors import (
    BackendUnavailable,
    CorruptDataError,
    SchemaVersionError,
    StorageError,
)

from .graphs import corrupt_inline_value, counter_graph


def run_one(path: Path, thread: str = "t1") -> dict[str, Any]:
    with SqliteSaver.from_conn_string(str(path)) as saver:
        return counter_graph(saver).invoke({"n": 1}, {"configurable": {"thread_id": thread}})


def test_a_path_in_a_missing_directory_names_the_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "x.db"
    with pytest.raises(BackendUnavailable, match=r"directory .*nope.* does not exist"):
        SqliteSaver.from_conn_string(str(missing)).__enter__()
    assert not missing.parent.exists()


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with (
        pytest.raises(BackendUnavailable, match=r"notes\.txt.* is not a SQLite database"),
        SqliteSaver.from_conn_string(str(path)) as saver,
    ):
        saver.setup()
    assert path.read_bytes() == before


def test_a_file_written_by_a_newer_tether_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    run_one(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tether_meta SET value = '99' WHERE key = 'schema_version'")
    with (
        pytest.raises(SchemaVersionError, match=r"future\.db.* schema v99.* upgrade tether"),
        SqliteSaver.from_conn_string(str(path)) as saver,
    ):
        saver.setup()


def test_a_file_of_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE checkpoints (thread_id TEXT, checkpoint BLOB)")
    with (
        pytest.raises(SchemaVersionError, match=r"tables tether did not create \(checkpoints\)"),
        SqliteSaver.from_conn_string(str(path)) as saver,
    ):
        saver.setup()


def test_a_corrupt_blob_names_thread_checkpoint_and_channel_and_the_rest_stays_readable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "corrupt.db"
    run_one(path, "broken")
    run_one(path, "healthy")
    assert corrupt_inline_value(path, "broken", "n") == 3  # 'n' is small: inline in the row
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = counter_graph(saver)
        with pytest.raises(
            CorruptDataError, match=r"thread 'broken'.*checkpoint '.*'.*channel 'n'"
        ):
            graph.get_state({"configurable": {"thread_id": "broken"}})
        healthy = graph.get_state({"configurable": {"thread_id": "healthy"}})
        assert healthy.values == {"n": 3}


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_file_reads_but_refuses_writes_clearly(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    run_one(path)
    path.chmod(stat.S_IRUSR)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = counter_graph(saver)
        assert graph.get_state({"configurable": {"thread_id": "t1"}}).values == {"n": 3}
        with pytest.raises(StorageError, match=r"ro\.db.* read-only"):
            graph.invoke({"n": 5}, {"configurable": {"thread_id": "t2"}})


def test_a_read_only_connection_reads_but_refuses_writes_clearly(tmp_path: Path) -> None:
    """The same as a read-only file, for machines where tests run as root."""
    path = tmp_path / "ro.db"
    run_one(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    saver = SqliteSaver(conn)
    graph = counter_graph(saver)
    assert graph.get_state({"configurable": {"thread_id": "t1"}}).values == {"n": 3}
    with pytest.raises(StorageError, match=r"ro\.db.* read-only"):
        graph.invoke({"n": 5}, {"configurable": {"thread_id": "t2"}})
    conn.close()


def test_metadata_filter_keys_are_parameters_not_sql(tmp_path: Path) -> None:
    path = tmp_path / "inject.db"
    run_one(path)
    nasty = {
        "source') OR 1=1 --": "loop",
        '") OR 1=1 --': "x",
        "a' UNION SELECT * FROM checkpoints --": 1,
        "$.step": 0,
    }
    with SqliteSaver.from_conn_string(str(path)) as saver:
        for key, value in nasty.items():
            assert list(saver.list(None, filter={key: value})) == []
        assert len(list(saver.list(None, filter={"source": "loop"}))) == 3
    assert schema.SCHEMA_VERSION >= 1
