"""Seeds: "Persistence Backends", "Checkpoints & Persistence" — PostgreSQL checkpoints.

Needs a reachable PostgreSQL; the URL comes from ``TETHER_POSTGRES_URL`` (or ``DATABASE_URL``).

Mappings from the seeds to the real API:
- ``PostgresSaver.from_conn_string(url)`` is a context manager (or keep the saver it returns and
  ``close()`` it); ``setup()`` creates the tables, and also happens on first use.
- ``from_conn_string(url, namespace="app")`` keeps an app's rows in a schema of its own.
- The async saver is ``tether.checkpoint.postgres.aio.AsyncPostgresSaver`` (the seeds import it
  from ``...postgres``), used with ``async with``.

Run: TETHER_POSTGRES_URL=postgresql://user:password@localhost:5432/mydb python examples/postgres_backend.py
"""

import asyncio
import os
import uuid
from typing import Any

from tether.checkpoint.postgres import PostgresSaver
from tether.checkpoint.postgres.aio import AsyncPostgresSaver
from tether.graph import END, START, MessagesState, StateGraph

DB_URI = os.environ.get("TETHER_POSTGRES_URL") or os.environ.get(
    "DATABASE_URL", "postgresql://user:password@localhost:5432/mydb"
)


def chatbot(state: MessagesState) -> dict[str, Any]:
    return {"messages": [("assistant", f"message #{len(state['messages'])} received")]}


def build() -> StateGraph:
    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    builder.add_edge("chatbot", END)
    return builder


async def async_run(thread_id: str) -> int:
    async with AsyncPostgresSaver.from_conn_string(DB_URI) as checkpointer:
        await checkpointer.setup()
        graph = build().compile(checkpointer=checkpointer)
        config = {"configurable": {"thread_id": thread_id}}
        result = await graph.ainvoke({"messages": [("user", "async hello")]}, config)
        return len(result["messages"])


def main() -> None:
    thread_id = f"user-123-{uuid.uuid4()}"
    config = {"configurable": {"thread_id": thread_id}}
    with PostgresSaver.from_conn_string(DB_URI) as checkpointer:
        checkpointer.setup()
        graph = build().compile(checkpointer=checkpointer)
        graph.invoke({"messages": [("user", "Hi")]}, config)
        result = graph.invoke({"messages": [("user", "Remember me?")]}, config)
        print(f"{len(result['messages'])} messages in thread {thread_id}")

    print(f"Async saver continued the thread: {asyncio.run(async_run(thread_id))} messages")
    print("OK: PostgreSQL checkpoints work")


if __name__ == "__main__":
    main()
