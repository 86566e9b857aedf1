"""What the engine hands the saver per step: a checkpoint that later steps leave as it was (the
saver may still read it, e.g. in a background thread), and the run's lease on every call."""

from __future__ import annotations

import copy
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

from tether.checkpoint.lease import LEASE_KEY
from tether.checkpoint.memory import InMemorySaver
from tether.checkpoint.sqlite import SqliteSaver
from tether.engine.channels import LastValue, Reducer
from tether.engine.reuse import append_channels
from tether.graph import END, START, StateGraph
from tether.graph.message import add_messages


class _Keeping(InMemorySaver):
    """An in-memory saver that keeps each checkpoint object it got, with a deep copy taken
    when it got it."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self.kept.append((checkpoint, copy.deepcopy(dict(checkpoint))))
        return super().put(config, checkpoint, metadata, new_versions)


class _Loop(TypedDict):
    n: int


def _looping(saver: Any) -> Any:
    """``a -> b -> a -> ...`` until ``n`` reaches 6: each node runs several times in one run."""
    builder = StateGraph(_Loop)
    builder.add_node("a", lambda s: {"n": s["n"] + 1})
    builder.add_node("b", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda s: END if s["n"] >= 6 else "a")
    return builder.compile(checkpointer=saver)


def test_a_checkpoint_handed_to_the_saver_is_not_changed_by_later_steps() -> None:
    saver = _Keeping()
    graph = _looping(saver)
    assert graph.invoke({"n": 0}, {"configurable": {"thread_id": "t"}}) == {"n": 6}
    assert len(saver.kept) > 6
    for handed, as_handed in saver.kept:
        assert dict(handed) == as_handed


def test_a_runs_task_writes_and_checkpoints_carry_its_lease(tmp_path: Path) -> None:
    seen: list[Any] = []

    class Watching(SqliteSaver):
        def put_step(self, writes: Any, config: Any, *rest: Any) -> Any:
            seen.extend([config, *(call[0] for call in writes)])
            return super().put_step(writes, config, *rest)

    with Watching(path=str(tmp_path / "lease.db")) as saver:
        graph = _looping(saver)
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "t"}})
    assert len(seen) > 6
    assert all(config["configurable"].get(LEASE_KEY) for config in seen)


class _Mixed(TypedDict):
    log: Annotated[list[str], operator.add]
    messages: Annotated[list[Any], add_messages]
    last: str


def test_only_channels_of_append_reducers_can_hold_appended_lists() -> None:
    graph = StateGraph(_Mixed).add_node("n", lambda s: {}).add_edge(START, "n").compile()
    channels = graph.spec.channels
    assert isinstance(channels["last"], LastValue)
    assert isinstance(channels["log"], Reducer)
    assert append_channels(channels) == {"log", "messages"}
