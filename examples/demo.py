"""tether in five minutes: a durable 4-node workflow, its history, a time-travel fork with edited
state, and a human approval that pauses the run until someone answers.

Everything runs in memory; swap ``InMemorySaver()`` for a SQLite or Postgres saver and the same
code survives restarts.

Run: python examples/demo.py   (or: make demo)
"""

from typing import Any, TypedDict

from tether.checkpoint.memory import InMemorySaver
from tether.graph import END, START, StateGraph
from tether.types import Command, interrupt

APPROVAL_LIMIT = 1000


class Claim(TypedDict, total=False):
    employee: str
    amount: float
    risk: str
    decision: dict[str, Any]
    status: str


def intake(state: Claim) -> dict[str, Any]:
    return {"employee": state["employee"].strip().title(), "status": "received"}


def assess(state: Claim) -> dict[str, Any]:
    return {"risk": "high" if state["amount"] > APPROVAL_LIMIT else "low", "status": "assessed"}


def review(state: Claim) -> dict[str, Any]:
    if state["risk"] == "low":
        return {"decision": {"approved": True, "by": "auto"}, "status": "reviewed"}
    # Pause the run; the thread waits (durably) until someone resumes it with an answer.
    answer = interrupt({"question": "Approve this claim?", "amount": state["amount"]})
    return {"decision": answer, "status": "reviewed"}


def pay(state: Claim) -> dict[str, Any]:
    return {"status": "paid" if state["decision"]["approved"] else "rejected"}


def build() -> Any:
    builder = StateGraph(Claim)
    for name, node in [("intake", intake), ("assess", assess), ("review", review), ("pay", pay)]:
        builder.add_node(name, node)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "assess")
    builder.add_edge("assess", "review")
    builder.add_edge("review", "pay")
    builder.add_edge("pay", END)
    return builder.compile(checkpointer=InMemorySaver())


def short(checkpoint_config: dict[str, Any]) -> str:
    return str(checkpoint_config["configurable"]["checkpoint_id"])[-8:]


def title(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 66 - len(text)))


def main() -> None:
    graph = build()
    thread = {"configurable": {"thread_id": "claim-42"}}

    title("1. Run the workflow (a checkpoint is saved after every step)")
    claim = {"employee": "  ada lovelace ", "amount": 250.0}
    for update in graph.stream(claim, thread, stream_mode="updates"):
        for node, values in update.items():
            print(f"  ran {node:<7} -> {values}")
    final = graph.get_state(thread).values
    print(f"  final status: {final['status']} (approved by {final['decision']['by']})")

    title("2. Read the thread's history (newest first)")
    history = list(graph.get_state_history(thread))
    for snap in history:
        meta = snap.metadata
        print(
            f"  {short(snap.config)}  step {meta['step']:>2}  {meta['source']:<5}"
            f"  next={list(snap.next)!s:<12} status={snap.values.get('status', '-')}"
        )

    title("3. Time travel: fork from before 'assess' with an edited amount")
    before_assess = next(s for s in history if s.next == ("assess",))
    fork = graph.update_state(before_assess.config, {"amount": 5000.0})
    print(f"  forked {short(fork)} from {short(before_assess.config)}: amount 250 -> 5000")
    paused = graph.invoke(None, fork)

    title("4. Human approval: the fork pauses at 'review'")
    (question,) = paused["__interrupt__"]
    print(f"  run paused; waiting on: {question.value}")
    print(f"  thread state: next={graph.get_state(thread).next}, status={paused['status']}")
    print("  ... a manager answers (this could be hours later, in another process) ...")
    resumed = graph.invoke(Command(resume={"approved": True, "by": "manager dana"}), thread)
    print(f"  resumed -> status: {resumed['status']} (approved by {resumed['decision']['by']})")

    title("5. Both branches are kept")
    original = graph.get_state(history[0].config).values
    print(f"  original branch: amount={original['amount']}, status={original['status']}")
    print(f"  forked branch:   amount={resumed['amount']}, status={resumed['status']}")
    print(f"  checkpoints in thread: {len(list(graph.get_state_history(thread)))}")
    assert original["amount"] == 250.0 and resumed["amount"] == 5000.0
    assert resumed["status"] == "paid"
    print("\nDemo complete: run, history, fork and approval all worked.")


if __name__ == "__main__":
    main()
