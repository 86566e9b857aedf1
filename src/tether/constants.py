"""Reserved names: graph endpoints, config keys and special write channels."""

from __future__ import annotations

import sys
from typing import Final

START: Final = sys.intern("__start__")
"""The virtual first node; ``add_edge(START, "a")`` makes ``a`` an entry point."""
END: Final = sys.intern("__end__")
"""The virtual last node; an edge to END finishes that branch."""

# Config keys under config["configurable"].
CONF: Final = "configurable"
THREAD_ID: Final = "thread_id"
CHECKPOINT_NS: Final = "checkpoint_ns"
CHECKPOINT_ID: Final = "checkpoint_id"
CHECKPOINT_MAP: Final = "checkpoint_map"

# Special write channels (stored as pending writes, never as state).
INPUT: Final = "__input__"
INTERRUPT: Final = "__interrupt__"
RESUME: Final = "__resume__"
ERROR: Final = "__error__"
NO_WRITES: Final = "__no_writes__"
TASKS: Final = "__pregel_tasks"
SCHEDULED: Final = "__scheduled__"
RETURN: Final = "__return__"
COPY: Final = "__copy__"

SPECIAL_CHANNELS: Final = frozenset({INTERRUPT, RESUME, ERROR, SCHEDULED})
"""Channels whose writes are upserted (last wins) when a call writes only these."""

WRITES_IDX_MAP: Final = {ERROR: -1, SCHEDULED: -2, INTERRUPT: -3, RESUME: -4}
"""Fixed ``idx`` of special writes, so a retry replaces them instead of adding rows."""

NULL_TASK_ID: Final = "00000000-0000-0000-0000-000000000000"
"""The task id of writes that come from a ``Command`` input rather than a node."""

NS_SEP: Final = "|"
NS_END: Final = ":"

RESERVED_NODE_NAMES: Final = frozenset({START, END, INPUT, INTERRUPT, RESUME, ERROR, COPY, TASKS})

# Keys never copied from config into checkpoint metadata.
EXCLUDED_METADATA_KEYS: Final = frozenset(
    {
        THREAD_ID,
        CHECKPOINT_ID,
        CHECKPOINT_NS,
        CHECKPOINT_MAP,
        "checkpoint_ts",
        "checkpoint_during",
        "durability",
        "recursion_limit",
        "callbacks",
        "tags",
        "run_name",
        "max_concurrency",
        "run_id",
        "metadata",
        "configurable",
    }
)
