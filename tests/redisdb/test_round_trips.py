"""Round trips of a run on Redis: the lease and the head in one script run, one per step, and
the run's last commit gives the lease back (W1 of issue 10). Counted on the saver's own client."""

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
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    """A saver, and the name of every command any connection of its client sends (counted at
    the socket: the saver packs some frames itself)."""
    with redis_service.fresh_saver() as saver:
        saver.setup()
        sent: list[str] = []
        real = redis.connection.Connection.send_packed_command
        pool = saver.client.connection_pool

        def send_packed_command(conn: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            if conn in pool._in_use_connections:
                frame = b"".join([command] if isinstance(command, bytes) else command)
                sent.append(frame.split(b"\r\n")[2].decode())
            return real(conn, command, *args, **kwargs)

        monkeypatch.setattr(redis.connection.Connection, "send_packed_command", send_packed_command)
        yield saver, sent


def _released(saver: Any, thread_id: str) -> bool:
    keys = ThreadKeys(saver.prefix, thread_id)
    return (
        not saver.client.exists(keys.lease) and saver.client.hget(keys.thread, "status") == b"idle"
    )


def test_invoke_is_one_round_trip_per_checkpoint_plus_one(counted: tuple[Any, list[str]]) -> None:
    saver, sent = counted
    graph = _linear(saver)
    config = {"configurable": {"thread_id": "rt-sync"}}
    assert graph.invoke({"count": 0, "log": []}, config)["count"] == NODES
    # the lease with the head, then a checkpoint per step (input, start, each node), the last
    # one giving the lease back: no separate read or release
    assert sent == ["EVALSHA"] * (NODES + 3)
    assert _released(saver, "rt-sync")
    sent.clear()
    assert graph.invoke({"count": 10, "log": []}, config)["count"] == 10 + NODES
    assert sent == ["EVALSHA"] * (NODES + 3)
    assert len(saver.get_tuple(config).checkpoint["channel_values"]["log"]) == 2 * NODES


def test_ainvoke_is_one_round_trip_per_checkpoint_plus_one(counted: tuple[Any, list[str]]) -> None:
    saver, sent = counted
    graph = _linear(saver)
    config = {"configurable": {"thread_id": "rt-async"}}
    assert asyncio.run(graph.ainvoke({"count": 0, "log": []}, config))["count"] == NODES
    assert sent == ["EVALSHA"] * (NODES + 3)
    assert _released(saver, "rt-async")


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
