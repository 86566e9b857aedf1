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


def test_sync_waiters_on_a_shared_connection_do_not_hold_it(tmp_path: Path) -> None:
    """The same through the sync API, on one caller's connection shared under a lock."""
    import sqlite3
    import threading

    conn = sqlite3.connect(str(tmp_path / "shared.db"), check_same_thread=False)
    saver = SqliteSaver(conn)
    entered, gate = threading.Event(), threading.Event()

    def work(state: Log) -> dict[str, Any]:
        if not gate.is_set():
            entered.set()
            assert gate.wait(60)
        return {"log": ["done"]}

    builder = StateGraph(Log)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "shared"}}
    results: list[Any] = []

    def run(tag: str, **options: Any) -> None:
        results.append(graph.invoke({"log": [tag]}, config, **options))

    holder = threading.Thread(target=run, args=("holder",))
    holder.start()
    assert entered.wait(30)
    waiters = [
        threading.Thread(
            target=run, args=(f"w{i}",), kwargs={"busy_policy": "wait", "busy_timeout": 120}
        )
        for i in range(20)
    ]
    for w in waiters:
        w.start()
    other = threading.Thread(
        target=lambda: results.append(
            counter_graph(saver).invoke({"n": 0}, {"configurable": {"thread_id": "other"}})
        )
    )
    other.start()
    other.join(20)
    assert not other.is_alive() and {"n": 2} in results
    assert holder.is_alive()
    gate.set()
    for t in [holder, *waiters]:
        t.join(100)
    assert len(results) == 22
    assert len(graph.get_state(config).values["log"]) == 42
    saver.close()
    conn.close()
