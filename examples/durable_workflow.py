"""The functional API on SQLite: an ``@entrypoint`` workflow of ``@task`` calls that pauses for
a human, is picked up again by a "new process" (a fresh saver on the same file), and never
re-runs a task that had finished.

Two drafts are written in parallel, the better one is picked, and a human approves it with
``interrupt()``. The resume re-runs the entrypoint from its start, but each finished task
returns its stored result: the side-effect counter shows every task ran exactly once.

Run: python examples/durable_workflow.py
"""

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from tether.checkpoint.sqlite import SqliteSaver
from tether.func import entrypoint, task
from tether.types import Command, interrupt

RUNS: Counter[str] = Counter()


@task
def write_draft(topic: str, style: str) -> str:
    RUNS[f"write_draft:{style}"] += 1
    return f"A {style} essay about {topic}"


@task
def pick_best(drafts: list[str]) -> str:
    RUNS["pick_best"] += 1
    return max(drafts, key=len)


def build(saver: SqliteSaver) -> Any:
    @entrypoint(checkpointer=saver)
    def essay_workflow(topic: str) -> dict[str, Any]:
        drafts = [write_draft(topic, style) for style in ("short", "thorough")]
        best = pick_best([d.result() for d in drafts]).result()
        approved = interrupt({"essay": best, "question": "publish this essay?"})
        return {"essay": best, "published": bool(approved)}

    return essay_workflow


def main() -> None:
    db = str(Path(tempfile.mkdtemp()) / "workflow.db")
    config = {"configurable": {"thread_id": "essay-1"}}

    with SqliteSaver.from_conn_string(db) as saver:
        paused = build(saver).invoke("cats", config)
        question = paused["__interrupt__"][0].value
        print("paused for review:", question)

    with SqliteSaver.from_conn_string(db) as saver:  # a new process would do the same
        workflow = build(saver)
        result = workflow.invoke(Command(resume=True), config)
        print("result:", result)
        print("task runs:", dict(RUNS))
        assert result == {"essay": "A thorough essay about cats", "published": True}
        assert set(RUNS.values()) == {1}, RUNS
    print("OK: the workflow resumed without re-running finished tasks")


if __name__ == "__main__":
    main()
