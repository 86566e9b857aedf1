"""Seed: "Persistence Backends" — the saver API: list, get_tuple, time travel, fork, copy.

Mappings from the seed to the real API:
- ``checkpointer.list(config)`` yields ``CheckpointTuple``s, not dicts: the id is
  ``tup.checkpoint["id"]`` (or ``tup.config["configurable"]["checkpoint_id"]``), the step is
  ``tup.metadata["step"]`` and the time is ``tup.checkpoint["ts"]`` (there is no
  ``metadata["created_at"]``).
- ``fork_point["checkpoint"]["state"]``: state values are read with
  ``graph.get_state(fork_point.config).values``.
- Copying between savers: ``put(config, checkpoint, metadata, new_versions)`` takes the parent's
  config and the channel versions; pending writes are copied with ``put_writes``.

Run: python examples/checkpointer_api.py
"""

from typing import Any, TypedDict

from tether.checkpoint.memory import InMemorySaver
from tether.graph import START, StateGraph


class Counter(TypedDict):
    count: int


def build(checkpointer: Any) -> Any:
    builder = StateGraph(Counter)
    builder.add_node("increment", lambda s: {"count": s["count"] + 1})
    builder.add_node("double", lambda s: {"count": s["count"] * 2})
    builder.add_edge(START, "increment")
    builder.add_edge("increment", "double")
    return builder.compile(checkpointer=checkpointer)


def copy_thread(source: Any, target: Any, thread_id: str) -> int:
    """Copy every checkpoint of a thread (oldest first) and its pending writes."""
    copied = 0
    for tup in reversed(list(source.list({"configurable": {"thread_id": thread_id}}))):
        parent = tup.parent_config or {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": tup.config["configurable"]["checkpoint_ns"],
            }
        }
        stored = target.put(
            parent, tup.checkpoint, tup.metadata, tup.checkpoint["channel_versions"]
        )
        by_task: dict[str, list[tuple[str, Any]]] = {}
        for task_id, channel, value in tup.pending_writes or []:
            by_task.setdefault(task_id, []).append((channel, value))
        for task_id, writes in by_task.items():
            target.put_writes(stored, writes, task_id)
        copied += 1
    return copied


def main() -> None:
    checkpointer = InMemorySaver()
    app = build(checkpointer)
    config = {"configurable": {"thread_id": "user-123"}}
    app.invoke({"count": 1}, config)

    checkpoints = list(checkpointer.list(config))
    for tup in checkpoints:
        print(
            f"Checkpoint ID: {tup.checkpoint['id']}  step: {tup.metadata['step']:>2}  ts: {tup.checkpoint['ts']}"
        )
    latest = checkpointer.get_tuple(config)
    print(f"Latest checkpoint: {latest.checkpoint['id']} (source={latest.metadata['source']})")

    # Time travel: re-run from the second newest checkpoint (after "increment" ran).
    specific = checkpoints[1]
    time_travel_config = {
        "configurable": {"thread_id": "user-123", "checkpoint_id": specific.checkpoint["id"]}
    }
    print(f"Replay from step {specific.metadata['step']}: {app.invoke(None, time_travel_config)}")

    # Fork: start a new thread from the state at an older checkpoint.
    fork_point = checkpoints[2]
    values = app.get_state(fork_point.config).values
    forked = app.invoke(values, {"configurable": {"thread_id": "user-123-fork"}})
    print(f"Forked thread from step {fork_point.metadata['step']} values {values}: {forked}")

    # Copy the thread into another saver and read it back there.
    other = InMemorySaver()
    copied = copy_thread(checkpointer, other, "user-123")
    copy_state = build(other).get_state(config)
    print(f"Copied {copied} checkpoints; state in the copy: {copy_state.values}")
    assert copy_state.values == app.get_state(config).values == {"count": 4}
    print("OK: listed, replayed, forked and copied the thread")


if __name__ == "__main__":
    main()
