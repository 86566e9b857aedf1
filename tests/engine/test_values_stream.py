"""``stream_mode="values"`` chunks, and the ``updates`` chunks around an interrupt, as LangGraph
1.2.22 yields them (issue 6, item 8).

Each docstring quotes what LangGraph printed for the same graph.
"""

import asyncio
import operator
from typing import Annotated, Any, TypedDict

from tether.graph import START, StateGraph
from tether.types import Command, interrupt

from ._support import LogState, asking_chain, chain, history, with_checkpoint


def quiet_middle() -> StateGraph:
    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": ["a"]})
    builder.add_node("quiet", lambda s: None)
    builder.add_node("empty", lambda s: {})
    builder.add_node("c", lambda s: {"log": ["c"]})
    builder.add_edge(START, "a")
    builder.add_edge("a", "quiet")
    builder.add_edge("quiet", "empty")
    builder.add_edge("empty", "c")
    return builder


def test_no_values_chunk_after_a_step_that_wrote_no_state(saver, thread):
    """LangGraph: a node returning None or {} adds no chunk; the stream is
    ``{'log': []}``, ``{'log': ['a']}``, ``{'log': ['a', 'c']}``."""
    graph = quiet_middle().compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, thread, stream_mode="values"))
    assert chunks == [{"log": []}, {"log": ["a"]}, {"log": ["a", "c"]}]


def test_no_values_chunk_for_an_input_that_writes_nothing_without_a_saver():
    """LangGraph, no checkpointer: input ``{}`` gives no input chunk, only the node's:
    ``[{'log': [], 'n': 1}]``; a node writing the same value again still gives a chunk (a
    write is a write): input ``{'n': 1}`` yields two."""
    builder = StateGraph(LogState)
    builder.add_node("same", lambda s: {"n": 1})
    builder.add_edge(START, "same")
    graph = builder.compile()
    assert list(graph.stream({}, stream_mode="values")) == [{"log": [], "n": 1}]
    twice = [{"log": [], "n": 1}] * 2
    assert list(graph.stream({"n": 1}, stream_mode="values")) == twice


def test_interrupt_chunk_is_the_state_plus_the_interrupt(saver, thread):
    """LangGraph: the last values chunk is ``{'log': ['a'], '__interrupt__': (Interrupt(...),)}``;
    the resume stream starts with the saved state, ``{'log': ['a']}``."""
    graph = asking_chain("c").compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, thread, stream_mode="values"))
    assert chunks[:2] == [{"log": []}, {"log": ["a"]}]
    last = chunks[2]
    assert set(last) == {"log", "__interrupt__"} and last["log"] == ["a"]
    assert isinstance(last["__interrupt__"], tuple)
    assert [i.value for i in last["__interrupt__"]] == ["q?"]
    resumed = list(graph.stream(Command(resume="R"), thread, stream_mode="values"))
    assert resumed == [{"log": ["a"]}, {"log": ["a", "R"]}, {"log": ["a", "R", "c"]}]


def test_interrupt_updates_chunk_comes_before_its_values_chunk(saver, thread):
    """LangGraph, ``stream_mode=["updates", "values"]``: ``('updates', {'__interrupt__': ...})``
    then ``('values', {'log': ['a'], '__interrupt__': ...})``; the resume yields
    ``('values', {'log': ['a']})`` first."""
    graph = asking_chain("c").compile(checkpointer=saver)
    chunks = list(graph.stream({"log": []}, thread, stream_mode=["updates", "values"]))
    modes = [mode for mode, _ in chunks]
    assert modes == ["values", "updates", "values", "updates", "values"]
    (_, upd), (_, val) = chunks[3], chunks[4]
    assert set(upd) == {"__interrupt__"}
    assert val["log"] == ["a"] and val["__interrupt__"] == upd["__interrupt__"]
    resumed = list(graph.stream(Command(resume="R"), thread, stream_mode=["updates", "values"]))
    assert resumed == [
        ("values", {"log": ["a"]}),
        ("updates", {"ask": {"log": ["R"]}}),
        ("values", {"log": ["a", "R"]}),
        ("updates", {"c": {"log": ["c"]}}),
        ("values", {"log": ["a", "R", "c"]}),
    ]


def test_sibling_finished_beside_an_interrupt_streams_and_resumes_as_cached(saver, thread):
    """LangGraph, one node finishing beside one that interrupts:
    ``('updates', {'a': {'log': ['a'], 'n': 1}})``, the interrupt's updates and values chunks
    (the values chunk holds the state before the step, ``{'log': ['in'], ...}``), then
    ``('values', {'log': ['in', 'a'], 'n': 1})``. The resume yields ``('values', {'log':
    ['in']})``, ``('updates', {'a': {...}, '__metadata__': {'cached': True}})``, then the
    re-run node's update and the final values."""

    def ask(state: LogState) -> dict[str, Any]:
        return {"log": [interrupt("q?")]}

    builder = StateGraph(LogState)
    builder.add_node("a", lambda s: {"log": ["a"], "n": 1})
    builder.add_node("ask", ask)
    builder.add_edge(START, "a")
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=saver)
    chunks = list(graph.stream({"log": ["in"]}, thread, stream_mode=["updates", "values"]))
    assert chunks[:2] == [("values", {"log": ["in"]}), ("updates", {"a": {"log": ["a"], "n": 1}})]
    assert chunks[2][0] == "updates" and set(chunks[2][1]) == {"__interrupt__"}
    assert chunks[3][0] == "values" and chunks[3][1]["log"] == ["in"]
    assert chunks[4] == ("values", {"log": ["in", "a"], "n": 1})
    assert len(chunks) == 5
    resumed = list(graph.stream(Command(resume="R"), thread, stream_mode=["updates", "values"]))
    assert resumed == [
        ("values", {"log": ["in"]}),
        ("updates", {"a": {"log": ["a"], "n": 1}, "__metadata__": {"cached": True}}),
        ("updates", {"ask": {"log": ["R"]}}),
        ("values", {"log": ["in", "a", "R"], "n": 1}),
    ]


def test_breakpoint_gives_no_values_chunk_and_continuing_starts_with_the_state(saver, thread):
    """LangGraph, ``interrupt_before=["b"]``: ``('updates', {'__interrupt__': ()})`` and no
    values chunk for the pause; ``stream(None, cfg)`` then yields ``('values', {'log':
    ['a']})`` first."""
    graph = chain("a", "b").compile(checkpointer=saver, interrupt_before=["b"])
    chunks = list(graph.stream({"log": []}, thread, stream_mode=["values", "updates"]))
    assert chunks[-1] == ("updates", {"__interrupt__": ()})
    assert chunks[-2] == ("values", {"log": ["a"]})
    resumed = list(graph.stream(None, thread, stream_mode=["values", "updates"]))
    assert resumed == [
        ("values", {"log": ["a"]}),
        ("updates", {"b": {"log": ["b"]}}),
        ("values", {"log": ["a", "b"]}),
    ]


def test_replay_and_stream_none_start_with_the_saved_values(saver, thread):
    """LangGraph: replaying from the checkpoint before ``b`` yields ``{'log': ['a']}``, then
    ``{'log': ['a', 'b']}``; from the input checkpoint ``{'log': []}`` twice (the saved
    state, then the input applied); ``stream(None)`` on a finished thread yields its state."""
    graph = chain("a", "b").compile(checkpointer=saver)
    graph.invoke({"log": []}, thread)
    snapshots = history(graph, thread)
    before_b = next(s for s in snapshots if s.next == ("b",))
    replayed = list(graph.stream(None, before_b.config, stream_mode="values"))
    assert replayed == [{"log": ["a"]}, {"log": ["a", "b"]}]
    first = next(s for s in snapshots if s.metadata["step"] == -1)
    cfg = with_checkpoint(thread, first.config["configurable"]["checkpoint_id"])
    assert list(graph.stream(None, cfg, stream_mode="values")) == [
        {"log": []},
        {"log": []},
        {"log": ["a"]},
        {"log": ["a", "b"]},
    ]
    done = graph.get_state(thread).values
    assert list(graph.stream(None, thread, stream_mode="values")) == [done]


def test_command_input_starts_the_values_stream_with_its_update(saver, thread):
    """LangGraph: ``Command(update={'n': 3}, goto='a')`` on a new thread yields
    ``{'log': [], 'n': 3}``, then ``{'log': ['a'], 'n': 3}``. On an existing thread the stream
    starts with the saved state with the update applied."""
    graph = chain("a").compile(checkpointer=saver)
    chunks = list(graph.stream(Command(update={"n": 3}, goto="a"), thread, stream_mode="values"))
    assert chunks == [{"log": [], "n": 3}, {"log": ["a"], "n": 3}]
    again = list(graph.stream(Command(update={"n": 4}, goto="a"), thread, stream_mode="values"))
    assert again == [{"log": ["a"], "n": 4}, {"log": ["a", "a"], "n": 4}]


class Full(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    x: int


class Out(TypedDict):
    x: int


def test_output_schema_filters_invoke_but_not_the_values_stream(saver, thread):
    """LangGraph, ``StateGraph(S, output_schema=Out)``: the values stream shows the whole state
    (``{'log': ['in'], ...}`` then ``{'log': ['in', 'a'], 'x': 1}``), while ``invoke``
    returns ``{'x': 1}``."""
    builder = StateGraph(Full, output_schema=Out)
    builder.add_node("a", lambda s: {"log": ["a"], "x": 1})
    builder.add_edge(START, "a")
    graph = builder.compile(checkpointer=saver)
    chunks = list(graph.stream({"log": ["in"]}, thread, stream_mode="values"))
    assert chunks == [{"log": ["in"]}, {"log": ["in", "a"], "x": 1}]
    other = {"configurable": {"thread_id": thread["configurable"]["thread_id"] + "-invoke"}}
    assert graph.invoke({"log": ["in"]}, other) == {"x": 1}


def test_astream_yields_the_same_chunks_as_stream(saver, thread):
    """The async driver runs the same loop: LangGraph's ``astream`` yields what ``stream`` does."""
    graph = asking_chain("c").compile(checkpointer=saver)
    other = {"configurable": {"thread_id": thread["configurable"]["thread_id"] + "-sync"}}
    modes = ["updates", "values"]

    async def collect(inp: Any) -> list[Any]:
        return [c async for c in graph.astream(inp, thread, stream_mode=modes)]

    def strip(chunks: list[Any]) -> list[Any]:
        return [(m, {k: v for k, v in d.items() if k != "__interrupt__"}) for m, d in chunks]

    for inp in ({"log": []}, Command(resume="R")):
        got = asyncio.run(collect(inp))
        assert strip(got) == strip(list(graph.stream(inp, other, stream_mode=modes)))


def test_invoke_with_updates_mode_lists_the_interrupt_chunk(saver, thread):
    """LangGraph: ``invoke(..., stream_mode="updates")`` returns ``[{'a': {'log': ['a']}},
    {'__interrupt__': (Interrupt(...),)}]``, then ``[{'ask': {'log': ['x']}}]`` on resume."""
    graph = asking_chain().compile(checkpointer=saver)
    first = graph.invoke({"log": []}, thread, stream_mode="updates")
    assert first[0] == {"a": {"log": ["a"]}}
    assert [i.value for i in first[1]["__interrupt__"]] == ["q?"] and len(first) == 2
    assert graph.invoke(Command(resume="x"), thread, stream_mode="updates") == [
        {"ask": {"log": ["x"]}}
    ]
