"""Run the two-node work graph on a thread as one named run (A, B, C, ...).

    python lease_run.py --db F --thread T --workdir D --role A [--wait-for MARKER ...]
        [--sleep S] [--lease-ttl S] [--policy reject|wait] [--busy-timeout S] [--resume]

Input is ``{"log": ["in:<role>"]}`` and the run's metadata is ``{"run": role}``. Touches
``<role>-launched`` before invoking and ``<role>-done`` after the run returns.
"""

from __future__ import annotations

from typing import Any

from _proc import config, invoke, main, open_saver, parser
from graphs import Files, touch, work_graph


def run() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--role", required=True)
    p.add_argument("--wait-for", action="append", default=[])
    p.add_argument("--sleep", type=float, default=0.0)
    args = p.parse_args()
    files = Files(args.workdir)

    def body() -> dict[str, Any]:
        builder = work_graph(files, args.role, args.wait_for, args.sleep)
        with open_saver(args) as saver:
            graph = builder.compile(checkpointer=saver)
            start = None if args.resume else {"log": [f"in:{args.role}"]}
            touch(files.marker(f"{args.role}-launched"))
            out = invoke(graph, start, config(args, run=args.role), args)
            touch(files.marker(f"{args.role}-done"))
        return {"values": out}

    main(args, body)


if __name__ == "__main__":
    run()
