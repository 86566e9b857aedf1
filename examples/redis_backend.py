"""Seed: "Persistence Backends" — Redis checkpoints.

Needs a reachable Redis or Valkey (plain: no modules); the URL comes from ``TETHER_REDIS_URL``
(default redis://localhost:6379). ``RedisSaver.from_conn_string(url)`` is a context manager;
``setup()`` checks the server and loads the scripts. ``ttl={"default_ttl": minutes}`` expires
a whole thread that long after its last write. The example deletes its thread at the end.

Run: TETHER_REDIS_URL=redis://localhost:6379 python examples/redis_backend.py
"""

import os
import uuid
from typing import Any, TypedDict

from tether.checkpoint.redis import RedisSaver
from tether.graph import START, StateGraph

DB_URI = os.environ.get("TETHER_REDIS_URL", "redis://localhost:6379")


class Visits(TypedDict):
    visits: int


def visit(state: Visits) -> dict[str, Any]:
    return {"visits": state["visits"] + 1}


def main() -> None:
    builder = StateGraph(Visits)
    builder.add_node("visit", visit)
    builder.add_edge(START, "visit")
    config = {"configurable": {"thread_id": f"session-{uuid.uuid4()}"}}

    with RedisSaver.from_conn_string(DB_URI, ttl={"default_ttl": 60}) as checkpointer:
        checkpointer.setup()
        app = builder.compile(checkpointer=checkpointer)
        app.invoke({"visits": 0}, config)
        state = app.invoke({"visits": app.get_state(config).values["visits"]}, config)
        print(f"visits={state['visits']}; checkpoints={len(list(app.get_state_history(config)))}")
        checkpointer.delete_thread(config["configurable"]["thread_id"])
    print("OK: Redis checkpoints work")


if __name__ == "__main__":
    main()
