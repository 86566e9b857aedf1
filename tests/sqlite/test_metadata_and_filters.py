"""Metadata that JSON cannot hold, and list() filters and limits of any content."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tether.checkpoint.memory import InMemorySaver
from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import ConfigurationError, SerializationError

from .graphs import counter_graph

ODD_KEYS: dict[str, Any] = {
    "line\nbreak": "x",
    "tab\there": 1,
    "ctrl\x01": True,
    'quote"key': "q",
    "back\\slash": 2.5,
    "dot.key": None,
    "big": 2**70,
    "negbig": -(2**64),
}


def run(saver: Any, thread: str, metadata: dict[str, Any]) -> None:
    config = {"configurable": {"thread_id": thread}, "metadata": metadata}
    counter_graph(saver).invoke({"n": 1}, config)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_metadata_is_refused_at_write_naming_the_key(
    tmp_path: Path, value: float
) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "nan.db")) as saver:
        run(saver, "good", {"user": "ann", "score": 0.5})
        with pytest.raises(SerializationError, match=r"metadata key 'score' .*not finite"):
            run(saver, "bad", {"user": "bob", "score": value})
        run(saver, "good2", {"user": "cid", "score": 1.5})
        # Filtered listing across threads keeps working afterwards.
        assert len(list(saver.list(None, filter={"source": "loop"}))) == 6
        assert {c.config["configurable"]["thread_id"] for c in saver.list(None)} == {
            "good",
            "good2",
        }
        assert len(list(saver.list(None, filter={"score": 1.5}))) == 4


def test_a_row_sqlite_cannot_parse_does_not_break_filtered_lists(tmp_path: Path) -> None:
    """A row written before non-finite floats were refused (or damaged) fails no query."""
    path = tmp_path / "legacy.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        run(saver, "old", {"user": "ann"})
        run(saver, "fine", {"user": "bob"})
    with sqlite3.connect(path) as conn:
        conn.execute(
            'UPDATE checkpoints SET metadata = \'{"user":"ann","score":NaN}\' '
            "WHERE thread_id = 'old'"
        )
        conn.execute(
            "UPDATE checkpoints SET metadata = '{not json' WHERE thread_id = 'fine' AND step = 0"
        )
    with SqliteSaver.from_conn_string(str(path)) as saver:
        found = list(saver.list(None, filter={"user": "bob"}))
        assert len(found) == 3  # the damaged row of 'fine' cannot match, the rest do
        assert list(saver.list(None, filter={"score": 1})) == []


@pytest.mark.parametrize("key", list(ODD_KEYS), ids=repr)
def test_filters_on_odd_keys_find_what_the_memory_saver_finds(tmp_path: Path, key: str) -> None:
    found = []
    with SqliteSaver.from_conn_string(str(tmp_path / "odd.db")) as sqlite_saver:
        for saver in (InMemorySaver(), sqlite_saver):
            run(saver, "odd", ODD_KEYS)
            run(saver, "plain", {"user": "ann"})
            found.append(
                sorted(
                    c.checkpoint["id"][-6:] for c in saver.list(None, filter={key: ODD_KEYS[key]})
                )
            )
            assert len(found[-1]) == 4, type(saver).__name__
    # and a value that differs (an int one past the stored big one) finds nothing
    with SqliteSaver.from_conn_string(str(tmp_path / "odd.db")) as saver:
        assert list(saver.list(None, filter={"big": 2**70 + 1})) == []
        assert list(saver.list(None, filter={"line\nbreak": "y"})) == []


@pytest.mark.parametrize("limit", ["5", 2.0, True, -1, [1]], ids=repr)
def test_a_limit_that_is_not_a_count_is_a_clear_error(tmp_path: Path, limit: Any) -> None:
    for saver in (InMemorySaver(), SqliteSaver.from_conn_string(str(tmp_path / "l.db"))):
        run(saver, "t", {})
        with pytest.raises(ConfigurationError, match=r"limit must be an int >= 0 or None"):
            list(saver.list(None, limit=limit))
        assert len(list(saver.list(None, limit=2))) == 2
