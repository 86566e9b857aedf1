"""Run (or resume) the write-heavy loop graph on a SQLite file.

    python loop_run.py --db F --thread T --workdir D --steps N --width W
        [--resume] [--pause-at-step K] [--go MARKER] [--lease-ttl S] [--policy wait ...]

``--pause-at-step K`` holds the write transaction of step K's checkpoint open (just before its
COMMIT): the saver touches ``in-commit`` and waits for the ``release`` marker.
"""

from __future__ import annotations

from typing import Any

from _proc import SeamSaver, config, invoke, main, open_saver, parser, summary
from graphs import Files, loop_graph


def run() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--pause-at-step", type=int, default=None)
    args = p.parse_args()
    files = Files(args.workdir)

    def body() -> dict[str, Any]:
        builder = loop_graph(files, args.steps, args.width)
        with open_saver(args, SeamSaver) as saver:
            saver.arm_step, saver.action, saver.files = args.pause_at_step, "pause", files
            graph = builder.compile(checkpointer=saver)
            start = None if args.resume else {"i": 0}
            out = invoke(graph, start, config(args), args)
        return {"values": summary(out)}

    main(args, body)


if __name__ == "__main__":
    run()
