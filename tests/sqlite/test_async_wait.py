"""busy_policy="wait" in asyncio code: waiters queue without holding the saver's worker threads."""

from __future__ import annotations

import asyncio
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from tether.checkpoint.sqlite import SqliteSaver
from tether.graph import END, START, StateGraph

from .graphs import counter_graph


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def gated_graph(saver: Any, entered: asyncio.Event, gate: asyncio.Event) -> Any:
    """One node that appends "done"; the first run blocks in it until ``gate`` is set."""

    async def work(state: Log) -> dict[str, Any]:
        if not gate.is_set():
            entered.set()
            await gate.wait()
        return {"log": ["done"]}

    builder = StateGraph(Log)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    return builder.compile(checkpointer=saver)


@pytest.mark.parametrize("waiters", [5, 20])
def test_async_waiters_all_run_and_other_threads_are_not_held_up(
    tmp_path: Path, waiters: int
) -> None:
    async def main() -> tuple[list[Any], dict[str, Any], list[str]]:
        entered, gate = asyncio.Event(), asyncio.Event()
        with SqliteSaver.from_conn_string(str(tmp_path / "wait.db")) as saver:
            graph = gated_graph(saver, entered, gate)
            config = {"configurable": {"thread_id": "shared"}}
            holder = asyncio.create_task(graph.ainvoke({"log": ["holder"]}, config))
            await asyncio.wait_for(entered.wait(), 30)
            queued = [
                asyncio.create_task(
                    graph.ainvoke({"log": [f"w{i}"]}, config, busy_policy="wait", busy_timeout=120)
                )
                for i in range(waiters)
            ]
            await asyncio.sleep(0.3)  # let every waiter start polling for the lease
            # The holder is still inside its node: an unrelated thread must run to the end now,
            # not after the waiters give up (they wait up to 120 s).
            other = await asyncio.wait_for(
                counter_graph(saver).ainvoke({"n": 0}, {"configurable": {"thread_id": "other"}}),
                20,
            )
            assert not holder.done()
            gate.set()
            results = await asyncio.wait_for(asyncio.gather(holder, *queued), 100)
            final = (await graph.aget_state(config)).values["log"]
        return results, other, final

    results, other, final = asyncio.run(main())
    assert other == {"n": 2}
    assert len(results) == waiters + 1
    assert all(r["log"][-1] == "done" for r in results)
    assert len(final) == 2 * (waiters + 1)
    assert sorted(x for x in final if x != "done") == sorted(
        ["holder", *(f"w{i}" for i in range(waiters))]
    )
