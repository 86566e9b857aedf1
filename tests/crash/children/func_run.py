"""Run (or resume) the ``@entrypoint`` crash workflow on a SQLite file; it SIGKILLs itself once.

python func_run.py --db F --thread T --workdir D [--resume] [--use-async] [--async-entrypoint]
"""

from __future__ import annotations

from typing import Any

from _proc import config, invoke, main, open_saver, parser
from func_graphs import workflow
from graphs import Files


def run() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--async-entrypoint", action="store_true")
    args = p.parse_args()
    files = Files(args.workdir)

    def body() -> dict[str, Any]:
        with open_saver(args) as saver:
            graph = workflow(files, saver, use_async=args.async_entrypoint)
            out = invoke(graph, None if args.resume else "topic", config(args), args)
        return {"output": out}

    main(args, body)


if __name__ == "__main__":
    run()
