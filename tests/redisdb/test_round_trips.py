"""Round trips of a run on Redis: the lease and the head in one script run, one per step (the
input checkpoint goes with the start step's when START runs no user code), and the run's last
commit gives the lease back (W1 of issue 10). Counted at the connections of the saver's client."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest
import redis

import redis_service
from tether.checkpoint.redis.keys import ThreadKeys
from tether.graph import END, START, StateGraph

pytestmark = pytest.mark.services

NODES = 4


class State(TypedDict):
    count: int
    log: Annotated[list[str], operator.add]


def _linear(saver: Any) -> Any:
    builder = StateGraph(State)
    for i in range(NODES):
        builder.add_node(f"n{i}", lambda s, i=i: {"count": s["count"] + 1, "log": [f"n{i}"]})
        builder.add_edge(START if i == 0 else f"n{i - 1}", f"n{i}")
    builder.add_edge(f"n{NODES - 1}", END)
    return builder.compile(checkpointer=saver)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[list[str]]]]:
    """A saver, and per round trip on a connection of its client the names of the commands
    sent (counted at the socket: the saver packs some frames itself)."""
    with redis_service.fresh_saver() as saver:
        saver.setup()
        sent: list[list[str]] = []
        real = redis.connection.Connection.send_packed_command
        pool = saver.client.connection_pool

        def send_packed_command(conn: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            if conn in pool._in_use_connections:
                sent.append(_names(b"".join([command] if isinstance(command, bytes) else command)))
            return real(conn, command, *args, **kwargs)

        monkeypatch.setattr(redis.connection.Connection, "send_packed_command", send_packed_command)
        yield saver, sent


def _names(frame: bytes) -> list[str]:
    """The command names of the RESP commands in ``frame``."""
    names, at = [], 0
    while at < len(frame):
        end = frame.index(b"\r\n", at)
        count, at = int(frame[at + 1 : end]), end + 2
        for i in range(count):
            end = frame.index(b"\r\n", at)
            size = int(frame[at + 1 : end])
            if i == 0:
                names.append(frame[end + 2 : end + 2 + size].decode())
            at = end + 2 + size + 2
    return names


def _released(saver: Any, thread_id: str) -> bool:
    keys = ThreadKeys(saver.prefix, thread_id)
    return (
        not saver.client.exists(keys.lease) and saver.client.hget(keys.thread, "status") == b"idle"
    )


RUN = [["EVALSHA"], ["EVALSHA", "EVALSHA"]] + [["EVALSHA"]] * NODES
"""The lease with the head; the input and start checkpoints together; a commit per node, the
last giving the lease back: no separate read or release."""


def test_invoke_is_one_round_trip_per_checkpoint(counted: tuple[Any, list[list[str]]]) -> None:
    saver, sent = counted
    graph = _linear(saver)
    config = {"configurable": {"thread_id": "rt-sync"}}
    assert graph.invoke({"count": 0, "log": []}, config)["count"] == NODES
    assert sent == RUN
    assert _released(saver, "rt-sync")
    sent.clear()
    assert graph.invoke({"count": 10, "log": []}, config)["count"] == 10 + NODES
    assert sent == RUN
    assert len(saver.get_tuple(config).checkpoint["channel_values"]["log"]) == 2 * NODES
    history = list(graph.get_state_history(config))
    steps = [s.metadata["step"] for s in history]
    assert steps == [2 * NODES + 2 - i for i in range(2 * NODES + 3)] + [-1]
    assert [s.metadata["source"] for s in history[-2:]] == ["loop", "input"]
    assert all(s.parent_config == p.config for s, p in zip(history, history[1:], strict=False))


def test_ainvoke_is_one_round_trip_per_checkpoint(counted: tuple[Any, list[list[str]]]) -> None:
    saver, sent = counted
    graph = _linear(saver)
    config = {"configurable": {"thread_id": "rt-async"}}
    assert asyncio.run(graph.ainvoke({"count": 0, "log": []}, config))["count"] == NODES
    assert sent == RUN
    assert _released(saver, "rt-async")


def test_a_routed_start_stores_the_input_before_the_router_runs(
    counted: tuple[Any, list[list[str]]],
) -> None:
    saver, sent = counted
    builder = StateGraph(State)
    builder.add_node("n0", lambda s: {"count": s["count"] + 1, "log": ["n0"]})
    stored_before_routing = []

    def route(state: State) -> str:
        head = saver.get_tuple({"configurable": {"thread_id": "rt-routed"}})
        stored_before_routing.append(head.metadata["source"] if head else None)
        return "n0"

    builder.add_conditional_edges(START, route, ["n0"])
    builder.add_edge("n0", END)
    sent.clear()
    graph = builder.compile(checkpointer=saver)
    assert graph.invoke({"count": 0, "log": []}, {"configurable": {"thread_id": "rt-routed"}})
    assert stored_before_routing == ["input"]
    assert ["EVALSHA", "EVALSHA"] not in sent


def test_stream_stores_each_checkpoint_before_its_chunk(counted: tuple[Any, list[str]]) -> None:
    saver, _ = counted
    graph = _linear(saver)
    config = {"configurable": {"thread_id": "rt-stream"}}
    seen = []
    for chunk in graph.stream({"count": 0, "log": []}, config, stream_mode="values"):
        head = saver.get_tuple(config)
        assert head is not None
        seen.append((chunk["count"], head.checkpoint["channel_values"].get("count")))
    assert seen == [(i, i) for i in range(NODES + 1)]
    assert _released(saver, "rt-stream")
