"""tether's runs as LangChain sees them, compared with LangGraph 1.2.22's recording.

``tests/fixtures/record_langchain_runs.py`` recorded, from the bench environment, LangGraph's
``astream_events(version="v2")`` sequence, ``messages`` stream and callback run tree for the
graphs in ``tests/fixtures/lc_graphs.py``; tether runs the same graphs here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_core")

import tether.graph as lib  # noqa: E402
from fixtures.lc_graphs import (  # noqa: E402
    BUILDERS,
    RunTreeRecorder,
    event_record,
    graph_input,
    message_record,
    paused_subgraph_lifecycle,
    surface_record,
)
from tether.checkpoint.memory import InMemorySaver  # noqa: E402

RECORDING = json.loads((Path(__file__).parents[1] / "fixtures" / "langgraph_runs.json").read_text())
RECORDED = RECORDING["graphs"]


def _graph(name: str) -> Any:
    if name == "react":
        return BUILDERS[name](lib, InMemorySaver())
    return BUILDERS[name](lib)


def _config(thread: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, **extra}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_astream_events_v2_sequence_matches_langgraph(name: str) -> None:
    async def collect() -> list[dict[str, Any]]:
        graph = _graph(name)
        return [
            e async for e in graph.astream_events(graph_input(name), _config("e"), version="v2")
        ]

    expected = RECORDED[name]["events"]
    got = event_record(asyncio.run(collect()))
    if name == "workflow":  # tether streams a node's @task updates when the node ends
        got, expected = _without_root_chunks(got), _without_root_chunks(expected)
    assert got == expected


def _without_root_chunks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if not (e["event"] == "on_chain_stream" and not e["parents"])]


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("driver", ["sync", "async"])
def test_messages_stream_matches_langgraph(name: str, driver: str) -> None:
    graph = _graph(name)
    kwargs: dict[str, Any] = {"stream_mode": "messages", "subgraphs": True}
    if driver == "sync":
        chunks = list(graph.stream(graph_input(name), _config("m"), **kwargs))
    else:

        async def collect() -> list[Any]:
            return [c async for c in graph.astream(graph_input(name), _config("m"), **kwargs)]

        chunks = asyncio.run(collect())
    assert message_record(chunks) == RECORDED[name]["messages"]


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("driver", ["sync", "async"])
def test_callback_handler_run_tree_matches_langgraph(name: str, driver: str) -> None:
    recorder = RunTreeRecorder()
    config = _config("c", callbacks=[recorder])
    graph = _graph(name)
    if driver == "sync":
        graph.invoke(graph_input(name), config)
    else:
        asyncio.run(graph.ainvoke(graph_input(name), config))
    assert recorder.runs == RECORDED[name]["callbacks"]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_drawing_and_schemas_match_langgraph(name: str) -> None:
    assert surface_record(_graph(name)) == RECORDED[name]["surface"]


def test_a_paused_subgraph_ends_its_runs_in_graph_interrupt_as_langgraph_does() -> None:
    assert paused_subgraph_lifecycle(lib) == RECORDING["paused_subgraph"]
