"""Record what LangGraph 1.2.22 gives for every scenario in ``scenarios.py``.

Run from the repository root with the bench environment (which has LangGraph):
    /work/main/.venv-bench/bin/python tests/prebuilt/record_langgraph.py
It rewrites ``tests/prebuilt/langgraph_outputs.json``; commit the result.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scenarios  # noqa: E402


def main() -> None:
    import langgraph.version as version

    warnings.simplefilter("ignore")
    lib = scenarios.load("langgraph")
    outputs = {name: fn(lib) for name, fn in scenarios.SCENARIOS.items()}
    payload = {"langgraph": version.__version__, "outputs": outputs}
    path = HERE / "langgraph_outputs.json"
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(outputs)} scenarios to {path}")


if __name__ == "__main__":
    main()
