"""``create_react_agent`` on SQLite as LangChain sees it, compared with LangGraph 1.2.22's runs.

``tests/fixtures/record_langchain_runs.py`` recorded, from the bench environment, the
``astream_events(version="v2")`` sequence and the ``stream_mode="messages"`` chunks of the agents
in ``tests/fixtures/react_agents.py`` (two tools, one returning a ``Command``; v1 and v2 agents).
When the model calls one tool per step the sequences must be equal; when it calls both tools in
one step they run in parallel in both libraries, so that step's events are compared as a
multiset.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from fixtures import react_agents  # noqa: E402
from tether.checkpoint.sqlite import SqliteSaver  # noqa: E402

TESTS = Path(__file__).parents[1]
RECORDED = json.loads((TESTS / "fixtures" / "langgraph_runs.json").read_text())["react_agents"]
SCENARIOS = [pytest.param(s, v, id=f"{s}-{v}") for s, v in react_agents.scenarios()]


@pytest.fixture
def saver(tmp_path: Path) -> Iterator[SqliteSaver]:
    with SqliteSaver.from_conn_string(str(tmp_path / "agent.db")) as saver:
        yield saver


def _same(script: str, got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    if script == "parallel":
        assert react_agents.per_step(got) == react_agents.per_step(expected)
    else:
        assert got == expected


@pytest.mark.parametrize(("script", "version"), SCENARIOS)
def test_react_agent_astream_events_match_langgraph(
    script: str, version: str, saver: SqliteSaver
) -> None:
    got = react_agents.events("tether", script, version, saver)
    names = {e["name"] for e in got}
    assert {"call_model", "should_continue", "get_weather", "book_trip"} <= names
    _same(script, got, RECORDED[f"{script}-{version}"]["events"])


@pytest.mark.parametrize(("script", "version"), SCENARIOS)
def test_react_agent_messages_stream_matches_langgraph(
    script: str, version: str, saver: SqliteSaver
) -> None:
    got = react_agents.messages("tether", script, version, saver)
    assert any(c["type"] == "AIMessageChunk" and c["content"] == "booked." for c in got)
    _same(script, got, RECORDED[f"{script}-{version}"]["messages"])


@pytest.mark.parametrize("version", react_agents.VERSIONS)
def test_react_agent_run_tree_in_a_sync_invoke_matches_langgraph(
    version: str, saver: SqliteSaver
) -> None:
    got = react_agents.run_tree("tether", version, saver)
    call_model = [r for r in got if r["name"] == "call_model"]
    assert len(call_model) == 3
    assert {r["parent"] for r in call_model} == {"agent"}
    assert got == RECORDED[f"sequential-{version}"]["callbacks"]


def test_structured_response_agent_events_match_langgraph(saver: SqliteSaver) -> None:
    got, answer = react_agents.structured("tether", saver)
    assert answer == react_agents.Trip(city="Lisbon", booked=True)
    assert any(e["name"] == "generate_structured_response" for e in got)
    assert got == RECORDED["structured-v2"]["events"]


def test_agent_with_model_hooks_events_match_langgraph(saver: SqliteSaver) -> None:
    """With a post-model hook the agent node has a static edge, so its route runs at
    ``seq:step:4``."""
    got = react_agents.hooked("tether", saver)
    assert {"pre_model_hook", "post_model_hook", "post_model_hook_router"} <= {
        e["name"] for e in got
    }
    assert got == RECORDED["hooks-v2"]["events"]


def test_parallel_step_comparison_still_sees_a_missing_event() -> None:
    recorded = RECORDED["parallel-v2"]["events"]
    dropped = [e for e in recorded if (e["name"], e["event"]) != ("book_trip", "on_tool_end")]
    assert len(dropped) == len(recorded) - 1
    assert react_agents.per_step(dropped) != react_agents.per_step(recorded)


@pytest.mark.parametrize("version", react_agents.VERSIONS)
def test_review_pause_and_resume_events_match_langgraph(version: str, saver: SqliteSaver) -> None:
    runs = react_agents.reviewed("tether", version, saver)
    assert runs == RECORDED[f"reviewed-{version}"]["runs"]


def test_review_resumes_in_other_processes_with_langgraphs_events(tmp_path: Path) -> None:
    """The agent pauses before its tools here; each resume runs in a new process on the same
    SQLite file and streams the events LangGraph streams for that resume."""
    db = tmp_path / "agent.db"
    with SqliteSaver.from_conn_string(str(db)) as saver:
        first = react_agents.reviewed("tether", "v2", saver, resumes=0)
    expected = RECORDED["reviewed-v2"]["runs"]
    assert first == expected[:1]
    for index in range(1, len(expected)):
        child = subprocess.run(
            [sys.executable, "-m", "fixtures.react_agents", str(db)],
            cwd=TESTS,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert child.returncode == 0, child.stderr
        assert json.loads(child.stdout) == expected[index]
