"""Invoke one thread of a PostgreSQL saver many times, as one of several processes.

    python pg_hammer.py --url URL --namespace NS --thread T --workdir D --role R --runs N
        --policy reject|wait [--go MARKER]

Each run appends ``in:<role>:<i>`` (input) and ``work:<role>:<i>`` (its one node) to the
thread's log. Prints ``RESULT {"done": runs that finished, "busy": runs refused}``.
"""

from __future__ import annotations

import argparse
import operator
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from _proc import emit
from graphs import Files, wait_for

from tether.checkpoint.postgres import PostgresSaver
from tether.errors import ThreadBusy
from tether.graph import END, START, StateGraph


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def build() -> Any:
    def work(state: Log) -> dict[str, Any]:
        time.sleep(0.002)  # long enough for other processes to try the thread meanwhile
        return {"log": ["work:" + state["log"][-1].split(":", 1)[1]]}

    builder = StateGraph(Log)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    return builder


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("--url", "--namespace", "--thread", "--role", "--policy"):
        p.add_argument(name, required=True)
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--runs", type=int, default=25)
    p.add_argument("--go", default=None)
    args = p.parse_args()
    if args.go and not wait_for(Files(args.workdir).marker(args.go)):
        raise SystemExit("the go marker never appeared")
    done = busy = 0
    with PostgresSaver.from_conn_string(args.url, namespace=args.namespace) as saver:
        graph = build().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": args.thread}}
        for i in range(args.runs):
            try:
                graph.invoke(
                    {"log": [f"in:{args.role}:{i}"]},
                    config,
                    busy_policy=args.policy,
                    busy_timeout=120,
                )
                done += 1
            except ThreadBusy:
                busy += 1
    emit("RESULT", {"done": done, "busy": busy})


if __name__ == "__main__":
    main()
