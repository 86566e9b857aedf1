"""docs/porting.md's table of deliberate differences stays true (issue 6, item 14).

The LangGraph column was checked by running each situation on LangGraph 1.2.22 (quoted in the
docstrings below). These tests pin the tether column: the error names and built-in bases it
states, and the behaviour of each row not pinned elsewhere in this suite (the emptied
namespace row: test_store_search_order.py; resumes: test_config_and_resume_errors.py).
"""

import re
from pathlib import Path
from typing import Any

import pytest

import tether.errors
from tether.errors import CheckpointNotFound, ConfigurationError, InvalidGraphError
from tether.errors import InvalidUpdateError as UpdateError
from tether.graph import START, StateGraph
from tether.types import Command

from ._support import LogState, chain

PORTING = Path(__file__).resolve().parents[2] / "docs" / "porting.md"
BUILTINS = {
    "ValueError": ValueError,
    "KeyError": KeyError,
    "RuntimeError": RuntimeError,
    "TypeError": TypeError,
}


def table_rows() -> list[list[str]]:
    text = PORTING.read_text()
    section = text.split("## Where tether deliberately differs", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[1:]]


def test_every_row_has_a_situation_both_behaviours_and_a_reason():
    rows = table_rows()
    assert len(rows) >= 15
    for row in rows:
        assert len(row) == 4 and all(row), row


def test_tether_column_names_real_errors_with_the_bases_it_claims():
    """A row saying "`MissingConfigKey`, a `ValueError` and a `KeyError`" must be true."""
    for situation, _langgraph, ours, _why in table_rows():
        names = re.findall(r"`([A-Z][A-Za-z]+)`", ours)
        errors = [n for n in names if n not in BUILTINS]
        for name in errors:
            assert hasattr(tether.errors, name), f"{situation}: tether.errors has no {name}"
        if errors:
            first = getattr(tether.errors, errors[0])
            for base in (n for n in names if n in BUILTINS):
                assert issubclass(first, BUILTINS[base]), f"{situation}: {first} / {base}"


@pytest.mark.tether_only
def test_unknown_checkpoint_id_is_refused_for_reads_and_runs(saver, thread):
    """LangGraph 1.2.22: ``get_state`` shows empty values, ``invoke(None)`` raises
    ``EmptyInputError`` and ``invoke(input)`` runs from an empty state. tether names the id."""
    graph = chain("a").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    unknown = "1f0aaaaa-0000-6000-8000-000000000000"
    cfg = {"configurable": {**thread["configurable"], "checkpoint_id": unknown}}
    for call in (
        lambda: graph.get_state(cfg),
        lambda: graph.invoke(None, cfg),
        lambda: graph.invoke({"log": ["x"]}, cfg),
    ):
        with pytest.raises(CheckpointNotFound, match=unknown):
            call()


@pytest.mark.tether_only
@pytest.mark.parametrize(
    "situation",
    ["stream-mode-typo", "durability-typo", "add-node-after-compile", "state-graph-none"],
)
def test_setup_typos_are_refused(situation: str):
    """LangGraph 1.2.22: an unknown stream mode yields nothing, an unknown durability is
    accepted, ``add_node`` after ``compile()`` and ``StateGraph(None)`` only warn."""
    builder = chain("a")
    graph = builder.compile()
    calls: dict[str, Any] = {
        "stream-mode-typo": lambda: list(graph.stream({"log": []}, stream_mode="valeus")),
        "durability-typo": lambda: graph.invoke({"log": []}, durability="snyc"),
        "add-node-after-compile": lambda: builder.add_node("late", lambda s: {}),
        "state-graph-none": lambda: StateGraph(None),  # type: ignore[arg-type]
    }
    expected = (
        InvalidGraphError
        if situation in ("add-node-after-compile", "state-graph-none")
        else ConfigurationError
    )
    with pytest.raises(expected):
        calls[situation]()


@pytest.mark.tether_only
def test_goto_an_unknown_node_is_refused():
    """LangGraph 1.2.22 logs "wrote to unknown channel branch:to:zz, ignoring it" and ends."""
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: Command(goto="zz"))
    builder.add_edge(START, "a")
    with pytest.raises(UpdateError, match="zz"):
        builder.compile().invoke({"log": []})
