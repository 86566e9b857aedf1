"""An ``@entrypoint``/``@task`` workflow for the crash scenarios (shared like ``graphs``).

``first`` runs alone, ``left`` and ``right`` in parallel, then ``killer`` SIGKILLs the process the
first time it runs (after the three earlier calls have returned, so their results are stored),
and ``last`` runs once ``killer`` passes. Every call appends its name to the counter file.
"""

from __future__ import annotations

from typing import Any

from graphs import Files, die, record, touch

from tether.func import entrypoint, task


def workflow(files: Files, saver: Any, *, use_async: bool = False) -> Any:
    """The crash workflow compiled on ``saver``; ``use_async`` makes it an async entrypoint."""

    @task
    def step(name: str) -> str:
        record(files, name)
        return name.upper()

    @task
    def killer() -> str:
        record(files, "killer")
        first = files.marker("killer-killed")
        if not first.exists():
            touch(first)
            die()
        return "K"

    if use_async:

        @entrypoint(checkpointer=saver)
        async def run_async(topic: str) -> list[str]:
            first = await step("first")
            pair = [step("left"), step("right")]
            results = [await f for f in pair]
            return [topic, first, *results, await killer(), await step("last")]

        return run_async

    @entrypoint(checkpointer=saver)
    def run(topic: str) -> list[str]:
        first = step("first").result()
        pair = [step("left"), step("right")]
        results = [f.result() for f in pair]
        return [topic, first, *results, killer().result(), step("last").result()]

    return run
