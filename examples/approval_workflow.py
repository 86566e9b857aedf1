"""Seed: "Checkpoints & Persistence" — interrupts, state updates while paused, time travel.

The graph pauses before ``approval_node`` (``interrupt_before``); a human inspects the
state, records the decision with ``update_state``, and ``invoke(None, config)`` resumes.
Then the thread is replayed from an older checkpoint.

The seed compiled with ``SqliteSaver.from_conn_string(...)``; this version uses the in-memory
saver (see sqlite_backend.py for the file-backed one).

Run: python examples/approval_workflow.py
"""

from typing import Any, TypedDict

from tether.checkpoint.memory import MemorySaver
from tether.graph import END, START, StateGraph


class RequestState(TypedDict, total=False):
    input: str
    data: str
    approved: bool
    notes: str
    result: str


def fetch(state: RequestState) -> dict[str, Any]:
    return {"data": f"records for {state['input']!r}"}


def approval_node(state: RequestState) -> dict[str, Any]:
    verdict = "released" if state.get("approved") else "withheld"
    return {"result": f"{state['data']} {verdict} ({state.get('notes', 'no notes')})"}


def build() -> Any:
    builder = StateGraph(RequestState)
    builder.add_node("fetch", fetch)
    builder.add_node("approval_node", approval_node)
    builder.add_edge(START, "fetch")
    builder.add_edge("fetch", "approval_node")
    builder.add_edge("approval_node", END)
    return builder.compile(checkpointer=MemorySaver(), interrupt_before=["approval_node"])


def main() -> None:
    graph = build()
    config = {"configurable": {"thread_id": "user-123"}}

    graph.invoke({"input": "Request data"}, config=config)
    state = graph.get_state(config)
    print(f"Next node: {list(state.next)}")
    print(f"Waiting for approval of: {state.values['data']}")

    graph.update_state(config, {"approved": True, "notes": "Approved by manager"})
    result = graph.invoke(None, config=config)
    print(f"Result: {result['result']}")

    print("Checkpoint history:")
    checkpoints = list(graph.get_state_history(config))
    for checkpoint in checkpoints:
        print(f"  Step: {checkpoint.metadata['step']:>2}  Next: {checkpoint.next}")

    # Time travel: replay from the checkpoint that waited for approval, before the update.
    # invoke(None, ...) counts as "continue from here", so the static interrupt does not fire
    # again: approval_node runs on the state of that moment, which holds no approval.
    paused = next(
        c for c in checkpoints if c.next == ("approval_node",) and c.metadata["source"] == "loop"
    )
    replayed = graph.invoke(None, paused.config)
    print(f"Replayed from step {paused.metadata['step']}: {replayed['result']}")
    assert result["result"].endswith("released (Approved by manager)")
    assert replayed["result"].endswith("withheld (no notes)")
    print("OK: approval resumed the paused run")


if __name__ == "__main__":
    main()
