"""Seed: "Chapter 7" — checkpoint metadata, restoring and rolling back, error recovery.

Mappings from the seed to the real API:
- ``save_checkpoint_with_metadata(graph, config, state, metadata)`` called
  ``graph.update_state(config, state, metadata)``, but the third argument of ``update_state`` is
  ``as_node``. Custom metadata goes in ``config["metadata"]``; it is stored on the checkpoint.
- ``checkpoint.metadata.get("checkpoint_id")``: the id lives in
  ``snapshot.config["configurable"]["checkpoint_id"]``.
- "Restore to a checkpoint" is ``invoke(None, <config with that checkpoint_id>)`` (replay), or
  ``update_state`` on that config to branch from it with edits; history is never rewritten.

Run: python examples/recovery_and_rollback.py
"""

from typing import Any, TypedDict

from tether.checkpoint.memory import MemorySaver
from tether.graph import END, START, StateGraph


class JobState(TypedDict, total=False):
    payload: str
    status: str
    error: str
    recovery_attempts: int


FAIL = {"enabled": True}


def validate(state: JobState) -> dict[str, Any]:
    return {"status": "success" if state["payload"] else "invalid"}


def transform(state: JobState) -> dict[str, Any]:
    if FAIL["enabled"]:
        raise RuntimeError("upstream API timed out")
    return {"payload": state["payload"].upper(), "status": "transformed"}


def build() -> Any:
    builder = StateGraph(JobState)
    builder.add_node("validate", validate)
    builder.add_node("transform", transform)
    builder.add_edge(START, "validate")
    builder.add_edge("validate", "transform")
    builder.add_edge("transform", END)
    return builder.compile(checkpointer=MemorySaver())


def save_checkpoint_with_metadata(
    graph: Any, config: dict[str, Any], values: dict[str, Any], metadata: dict[str, Any]
) -> dict[str, Any]:
    """Write ``values`` as a new checkpoint whose metadata carries ``metadata``."""
    return graph.update_state({**config, "metadata": metadata}, values)


def find_checkpoint(graph: Any, config: dict[str, Any], checkpoint_id: str) -> Any:
    for snapshot in graph.get_state_history(config):
        if snapshot.config["configurable"]["checkpoint_id"] == checkpoint_id:
            return snapshot
    raise ValueError(f"Checkpoint {checkpoint_id} not found in thread {config}")


def last_good_checkpoint(graph: Any, config: dict[str, Any]) -> Any:
    """The newest checkpoint whose state says ``status == "success"``."""
    for snapshot in graph.get_state_history(config):
        if snapshot.values.get("status") == "success":
            return snapshot
    return None


def main() -> None:
    graph = build()
    config = {"configurable": {"thread_id": "job-42"}}

    try:
        graph.invoke({"payload": "report"}, config)
    except RuntimeError as exc:
        print(f"Run failed: {exc}")
    snapshot = graph.get_state(config)
    print(f"Paused before: {snapshot.next}; task error: {snapshot.tasks[0].error}")

    # Record the failure in the thread, with metadata saying who and why.
    save_checkpoint_with_metadata(
        graph,
        config,
        {"status": "failed", "error": "upstream API timed out", "recovery_attempts": 1},
        {"step_name": "transform", "session_type": "batch"},
    )
    meta = graph.get_state(config).metadata
    print(f"Metadata of the update: source={meta['source']} step_name={meta['step_name']}")

    good = last_good_checkpoint(graph, config)
    good_id = good.config["configurable"]["checkpoint_id"]
    print(f"Last good checkpoint: {good_id} (step {good.metadata['step']}, next={good.next})")
    assert find_checkpoint(graph, config, good_id).values == good.values

    FAIL["enabled"] = False
    result = graph.invoke(None, good.config)  # roll back: replay from the good checkpoint
    print(f"Replayed from the good checkpoint: {result}")
    assert result["status"] == "transformed" and "error" not in result
    print("OK: rolled back to the last good checkpoint and finished")


if __name__ == "__main__":
    main()
