"""A graph run through ``tether.connect("sqlite:///...")`` dies mid-run (``os._exit``) and a
fresh process reopens the same URL, async, and finishes it without re-running the first node."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GRAPH = """
import os, sys
from typing_extensions import TypedDict
import tether
from tether.graph import END, START, StateGraph

url, runs = sys.argv[1], sys.argv[2]
config = {"configurable": {"thread_id": "job-1"}}

class Job(TypedDict, total=False):
    topic: str
    data: str
    report: str

def fetch(job):
    with open(runs, "a") as f:
        f.write("fetch\\n")
    return {"data": job["topic"] + " numbers"}

def report(job):
    if not os.path.exists(runs + ".resumed"):
        os._exit(3)  # the process dies here on its first run
    return {"report": "report on " + job["data"]}

graph = StateGraph(Job)
graph.add_node("fetch", fetch)
graph.add_node("report", report)
graph.add_edge(START, "fetch")
graph.add_edge("fetch", "report")
graph.add_edge("report", END)
"""

FIRST = (
    GRAPH
    + """
with tether.connect(url) as saver:
    graph.compile(checkpointer=saver).invoke({"topic": "sales"}, config)
"""
)

SECOND = (
    GRAPH
    + """
import asyncio
open(runs + ".resumed", "w").close()

async def main():
    async with tether.connect(url) as saver:
        app = graph.compile(checkpointer=saver)
        print((await app.aget_state(config)).next)
        print((await app.ainvoke(None, config))["report"])

asyncio.run(main())
"""
)


def run(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_a_run_killed_mid_graph_resumes_in_a_fresh_process_from_the_same_url(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/jobs.db"
    runs = str(tmp_path / "runs.txt")

    first = run(FIRST, url, runs, cwd=tmp_path)
    assert first.returncode == 3, first.stderr
    assert (tmp_path / "jobs.db").is_file()

    second = run(SECOND, url, runs, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == ["('report',)", "report on sales numbers"]
    assert Path(runs).read_text().splitlines() == ["fetch"]
