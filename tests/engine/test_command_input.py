"""A Command given as the input of a run: update and goto, on a new and on an existing thread."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import pytest

from tether.graph import START, StateGraph
from tether.types import Command


class Trail(TypedDict, total=False):
    v: str


def two_nodes(saver):
    builder = StateGraph(Trail)
    builder.add_node("a", lambda s: {"v": s.get("v", "") + "a"})
    builder.add_node("b", lambda s: {"v": s.get("v", "") + "b"})
    builder.add_edge(START, "a")
    return builder.compile(checkpointer=saver)


def test_command_goto_on_a_finished_thread_runs_that_node(saver, thread):
    graph = two_nodes(saver)
    assert graph.invoke({"v": "1"}, thread) == {"v": "1a"}
    assert graph.invoke(Command(goto="b", update={"v": "y"}), thread) == {"v": "yb"}
    assert graph.get_state(thread).next == ()


@pytest.mark.tether_only
def test_command_goto_on_a_new_thread_starts_there(saver, thread):
    """LangGraph also runs START's edge here, so 'a' and 'b' both write 'v' in one step and the
    run fails; tether takes the Command as the thread's input and starts at 'b' only."""
    graph = two_nodes(saver)
    assert graph.invoke(Command(goto="b", update={"v": "x"}), thread) == {"v": "xb"}


def test_async_command_goto_matches_sync(saver, thread):
    graph = two_nodes(saver)

    async def run() -> dict:
        await graph.ainvoke({"v": "1"}, thread)
        return await graph.ainvoke(Command(goto="b", update={"v": "z"}), thread)

    assert asyncio.run(run()) == {"v": "zb"}
