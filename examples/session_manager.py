"""Seed: "Checkpoints & Persistence" — session management and one saver for several graphs.

Mapping: the seed's ``PostgresSaver.from_conn_string(conn, namespace="user_graph")`` never
existed. A saver stores any number of graphs' threads side by side, keyed by thread id, so two
graphs share one saver by giving their threads distinct prefixes ("user_graph:...",
"admin_graph:..."). (``checkpoint_ns`` is a different thing: it addresses subgraphs.)

Run: python examples/session_manager.py
"""

from typing import Any, TypedDict
from uuid import uuid4

from tether.checkpoint.memory import InMemorySaver
from tether.graph import START, StateGraph


class TurnState(TypedDict, total=False):
    input: str
    turns: int
    last_reply: str


def build_graph(checkpointer: Any, persona: str) -> Any:
    def reply(state: TurnState) -> dict[str, Any]:
        turns = state.get("turns", 0) + 1
        return {"turns": turns, "last_reply": f"[{persona} turn {turns}] {state['input']}"}

    builder = StateGraph(TurnState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=checkpointer)


class SessionManager:
    """One graph, one saver, a thread per user session; thread ids carry the graph's name."""

    def __init__(self, checkpointer: Any, graph_name: str) -> None:
        self.graph_name = graph_name
        self.graph = build_graph(checkpointer, graph_name)

    def create_session(self, user_id: str) -> str:
        return f"{self.graph_name}:user-{user_id}-{uuid4()}"

    def invoke(self, thread_id: str, input_data: dict[str, Any]) -> dict[str, Any]:
        return self.graph.invoke(input_data, config={"configurable": {"thread_id": thread_id}})


def main() -> None:
    checkpointer = InMemorySaver()  # or one SqliteSaver / PostgresSaver shared by both graphs
    users = SessionManager(checkpointer, "user_graph")
    admins = SessionManager(checkpointer, "admin_graph")

    alice = users.create_session("alice-123")
    users.invoke(alice, {"input": "Hello"})
    print(users.invoke(alice, {"input": "How are you?"})["last_reply"])

    bob = users.create_session("bob-7")
    print(users.invoke(bob, {"input": "Hi there"})["last_reply"])

    ops = admins.create_session("root")
    print(admins.invoke(ops, {"input": "status"})["last_reply"])

    threads = {t.config["configurable"]["thread_id"] for t in checkpointer.list(None)}
    for prefix in ("user_graph:", "admin_graph:"):
        print(f"{prefix} {sum(t.startswith(prefix) for t in threads)} thread(s)")
    assert users.invoke(alice, {"input": "again"})["turns"] == 3
    print("OK: sessions are isolated and share one saver")


if __name__ == "__main__":
    main()
