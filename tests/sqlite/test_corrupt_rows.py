"""A corrupt row fails only the operations that need it."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import CorruptDataError

from .graphs import corrupt_inline_value, counter_graph


def two_threads_one_broken(path: Path) -> None:
    with SqliteSaver.from_conn_string(str(path)) as saver:
        for thread in ("broken", "healthy", "also-healthy"):
            counter_graph(saver).invoke({"n": 1}, {"configurable": {"thread_id": thread}})
    corrupt_inline_value(path, "broken", "n")  # 'n' is small: it sits inline in the row


def broken_ones(listed: list) -> list:
    return [c for c in listed if c.config["configurable"]["thread_id"] == "broken"]


def test_listing_across_threads_skips_and_logs_a_corrupt_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "corrupt.db"
    two_threads_one_broken(path)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        with caplog.at_level(logging.WARNING, logger="tether.checkpoint.sqlite"):
            listed = list(saver.list(None))
        threads = [c.config["configurable"]["thread_id"] for c in listed]
        assert threads.count("healthy") == threads.count("also-healthy") == 4
        # of 'broken', only the input checkpoint (no value of 'n' yet) can be read
        assert [c.metadata["step"] for c in listed if c in broken_ones(listed)] == [-1]
        skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
        assert len(skipped) == 3
        assert all("thread 'broken'" in m and "channel 'n'" in m for m in skipped)
        # with a limit and a filter too
        assert len(list(saver.list(None, filter={"source": "loop"}, limit=5))) == 5
        # the broken thread's own history names the problem instead of hiding it
        with pytest.raises(CorruptDataError, match=r"thread 'broken'.*channel 'n'"):
            list(saver.list({"configurable": {"thread_id": "broken"}}))
        assert len(list(saver.list({"configurable": {"thread_id": "healthy"}}))) == 4


def test_prune_refuses_a_thread_whose_kept_checkpoint_is_damaged_and_prunes_the_others(
    tmp_path: Path,
) -> None:
    path = tmp_path / "prune.db"
    two_threads_one_broken(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE checkpoints SET body = x'c1' WHERE thread_id = 'broken' AND checkpoint_id = "
            "(SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = 'broken')"
        )
    with SqliteSaver.from_conn_string(str(path)) as saver:
        with pytest.raises(CorruptDataError, match=r"prune thread 'broken': checkpoint"):
            saver.prune(["broken"], keep_last=1)
        saver.prune(["healthy"], keep_last=1)
        assert len(list(saver.list({"configurable": {"thread_id": "healthy"}}))) == 1
        # the refused prune changed nothing
        with sqlite3.connect(path) as conn:
            count = conn.execute(
                "SELECT count(*) FROM checkpoints WHERE thread_id = 'broken'"
            ).fetchone()[0]
        assert count == 4
