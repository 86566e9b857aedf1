"""Run (or resume) one crash scenario's graph on a SQLite file; the graph may kill this process.

    python crash_run.py --scenario chain|fanout|fanout-killer-first|big --db F --thread T
        --workdir D [--resume] [--crash-at-step N] [--lease-ttl S] [--policy wait ...]

``--crash-at-step N`` makes the saver ``os._exit(137)`` inside the COMMIT of step N's checkpoint.
"""

from __future__ import annotations

from typing import Any

from _proc import SeamSaver, config, invoke, main, open_saver, parser, summary
from graphs import Files, big_graph, chain_graph, fanout_graph

from tether.graph import StateGraph


def build(scenario: str, files: Files, db: str, thread_id: str) -> StateGraph:
    if scenario == "chain":
        return chain_graph(files)
    if scenario == "fanout":
        return fanout_graph(files, db, thread_id, killer_first=False)
    if scenario == "fanout-killer-first":
        return fanout_graph(files, db, thread_id, killer_first=True)
    if scenario == "big":
        return big_graph(files)
    raise SystemExit(f"unknown scenario {scenario!r}")


def run() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--scenario", required=True)
    p.add_argument("--crash-at-step", type=int, default=None)
    args = p.parse_args()
    files = Files(args.workdir)

    def body() -> dict[str, Any]:
        builder = build(args.scenario, files, args.db, args.thread)
        with open_saver(args, SeamSaver) as saver:
            saver.arm_step = args.crash_at_step
            graph = builder.compile(checkpointer=saver)
            start = None if args.resume else {"log": ["start"]}
            out = invoke(graph, start, config(args), args)
        return {"values": summary(out)}

    main(args, body)


if __name__ == "__main__":
    run()
