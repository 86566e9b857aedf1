"""tether.prebuilt gives what LangGraph 1.2.22 gives for the scenarios in ``scenarios.py``
(the agents, tool-calling and human-in-the-loop pages), as recorded in
``langgraph_outputs.json`` by ``record_langgraph.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import scenarios

RECORDED = json.loads((Path(__file__).parent / "langgraph_outputs.json").read_text())


def test_the_recording_is_from_langgraph_1_2_22() -> None:
    assert RECORDED["langgraph"] == "1.2.22"
    assert set(RECORDED["outputs"]) == set(scenarios.SCENARIOS)


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_scenario_matches_langgraph(name: str) -> None:
    got = json.loads(json.dumps(scenarios.SCENARIOS[name](scenarios.load("tether"))))
    assert got == RECORDED["outputs"][name]
