"""A failed task's error as ``get_state`` reads it back: LangGraph's string repr (issue 6,
item 11)."""

import operator
from typing import Annotated, Any, TypedDict

import pytest

from tether.graph import START, StateGraph

from ._support import history


class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


class QuotaExceeded(Exception):
    pass


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (ValueError("boom", 42), "ValueError('boom', 42)"),
        (QuotaExceeded("custom"), "QuotaExceeded('custom')"),
        (KeyError("k"), "KeyError('k')"),
    ],
    ids=["two-args", "user-class", "key-error"],
)
def test_task_error_reads_back_as_its_repr_string(saver, thread, error, shown):
    """LangGraph 1.2.22 (memory and SQLite savers): after a node raises
    ``ValueError('boom', 42)`` beside a node that finished, ``get_state(cfg).tasks`` shows
    the failed task's ``error`` as the str ``"ValueError('boom', 42)"`` and the finished one's
    as None; the newest history snapshot shows the same."""

    def fail(state: S) -> dict[str, Any]:
        raise error

    builder = StateGraph(S)
    builder.add_node("ok", lambda s: {"log": ["ok"]})
    builder.add_node("bad", fail)
    builder.add_edge(START, "ok")
    builder.add_edge(START, "bad")
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(type(error)):
        graph.invoke({"log": []}, thread)
    for snapshot in (graph.get_state(thread), history(graph, thread)[0]):
        tasks = {t.name: t for t in snapshot.tasks}
        assert tasks["ok"].error is None
        assert type(tasks["bad"].error) is str
        assert tasks["bad"].error == shown
