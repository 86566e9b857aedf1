"""Seed: "Persistence and Checkpoints" — resume a three-node workflow after a failure in C.

Nodes A and B finish and are checkpointed; C fails (a stand-in for a crash). Invoking the
thread again with ``None`` resumes at C with the state exactly as B left it: A and B do not
run again, which the side-effect counters show.

Run: python examples/crash_resume.py
"""

from collections import Counter
from typing import Any, TypedDict

from tether.checkpoint.memory import InMemorySaver
from tether.graph import END, START, StateGraph

RUNS: Counter[str] = Counter()
C_SHOULD_FAIL = {"value": True}


class ReportState(TypedDict, total=False):
    topic: str
    data: str
    analysis: str
    report: str


def fetch_data(state: ReportState) -> dict[str, Any]:
    RUNS["fetch_data"] += 1
    return {"data": f"raw numbers about {state['topic']}"}


def analyse(state: ReportState) -> dict[str, Any]:
    RUNS["analyse"] += 1
    return {"analysis": f"trend found in {state['data']}"}


def format_report(state: ReportState) -> dict[str, Any]:
    RUNS["format_report"] += 1
    if C_SHOULD_FAIL["value"]:
        raise ConnectionError("report service unreachable")
    return {"report": f"REPORT: {state['analysis']}"}


def build() -> Any:
    builder = StateGraph(ReportState)
    builder.add_node("fetch_data", fetch_data)
    builder.add_node("analyse", analyse)
    builder.add_node("format_report", format_report)
    builder.add_edge(START, "fetch_data")
    builder.add_edge("fetch_data", "analyse")
    builder.add_edge("analyse", "format_report")
    builder.add_edge("format_report", END)
    return builder.compile(checkpointer=InMemorySaver())


def main() -> None:
    graph = build()
    config = {"configurable": {"thread_id": "report-2024-q1"}}

    try:
        graph.invoke({"topic": "sales"}, config)
    except ConnectionError as exc:
        print(f"Run stopped in format_report: {exc}")

    saved = graph.get_state(config)
    print(f"Saved state: next={saved.next}, analysis={saved.values['analysis']!r}")
    print(f"Checkpoints so far: {len(list(graph.get_state_history(config)))}")

    C_SHOULD_FAIL["value"] = False
    result = graph.invoke(None, config)
    print(result["report"])
    print(f"Runs per node: {dict(RUNS)}")
    assert Counter({"fetch_data": 1, "analyse": 1, "format_report": 2}) == RUNS
    print("OK: resumed at format_report without re-running fetch_data and analyse")


if __name__ == "__main__":
    main()
