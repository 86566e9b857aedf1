"""Per-run settings and the per-task runtime a node can reach (config, store, writer, context)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tether.checkpoint.lease import LEASE_KEY, Lease
from tether.constants import (
    CHECKPOINT_ID,
    CHECKPOINT_MAP,
    CHECKPOINT_NS,
    CONF,
    EXCLUDED_METADATA_KEYS,
    THREAD_ID,
)
from tether.engine.task import ResumeInput, Scratchpad, Task

if TYPE_CHECKING:
    from tether.engine.loop import RunLoop

ContextT = TypeVar("ContextT")

PARENT_KEY = "__tether_parent__"
"""Config key carrying a ``ParentLink`` from a task to a subgraph it runs."""


@dataclasses.dataclass(slots=True)
class ParentLink:
    """What a subgraph run inherits from the task that started it."""

    saver: Any
    store: Any
    resume_input: ResumeInput
    resuming: bool
    checkpoint_map: dict[str, str]
    durability: str
    stream_modes: frozenset[str]
    stream_ns: tuple[str, ...]
    sink: Callable[[Any], None] | None
    lease: Lease | None = None
    cache: Any = None
    run_id: str | None = None


@dataclasses.dataclass(slots=True)
class Runtime(Generic[ContextT]):
    """What a node may take as a keyword-only ``runtime`` argument; ``Runtime[Context]`` types
    ``context`` as the graph's context schema."""

    context: ContextT = None  # type: ignore[assignment]
    store: Any = None
    stream_writer: Callable[[Any], None] = lambda _chunk: None
    previous: Any = None


@dataclasses.dataclass(slots=True)
class RunContext:
    """Settings of one run, fixed before the loop starts."""

    saver: Any
    store: Any
    config: dict[str, Any]
    thread_id: str | None
    ns: str
    checkpoint_id: str | None
    recursion_limit: int
    interrupt_before: Sequence[str] | str | None
    interrupt_after: Sequence[str] | str | None
    stream_modes: frozenset[str]
    durability: str
    run_id: str | None
    user_metadata: dict[str, Any]
    checkpoint_map: dict[str, str]
    context: Any = None
    resume_input: ResumeInput | None = None
    parent_resuming: bool = False
    stream_ns: tuple[str, ...] = ()
    new_id: Callable[[str | None], str] = lambda _previous: str(uuid.uuid4())
    version_fn: Callable[[Any], Any] | None = None
    sink: Callable[[Any], None] | None = None
    stream_subgraphs: bool = False
    lease: Lease | None = None
    """The writer lease of the thread: taken by a root run, inherited by its subgraphs."""
    busy_wait: float | None = None
    """Seconds to wait for another run's lease (None: refuse at once with ThreadBusy)."""
    is_root: bool = True
    cache: Any = None
    """The graph's ``BaseCache`` (node and task results), if any."""
    observer: Any = None
    """A ``tether.engine.observe.RunObserver`` watching the run (LangChain callbacks), if any."""
    live: Any = None
    """``LiveChunks`` of a root run streaming LLM tokens (``stream_mode="messages"``)."""

    def wants_lease(self) -> bool:
        return (
            self.is_root
            and self.lease is None
            and self.thread_id is not None
            and bool(getattr(self.saver, "supports_leases", False))
        )

    def fenced(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` carrying the lease token, so the saver can refuse a writer that lost it."""
        if self.lease is None:
            return config
        return {**config, CONF: {**config[CONF], LEASE_KEY: self.lease.token}}

    def base_config(self) -> dict[str, Any]:
        conf: dict[str, Any] = {THREAD_ID: self.thread_id, CHECKPOINT_NS: self.ns}
        return {CONF: conf}

    def load_config(self) -> dict[str, Any]:
        config = self.base_config()
        if self.checkpoint_id is not None:
            config[CONF][CHECKPOINT_ID] = self.checkpoint_id
        return config

    def checkpoint_config(self, checkpoint_id: str) -> dict[str, Any]:
        return {
            CONF: {THREAD_ID: self.thread_id, CHECKPOINT_NS: self.ns, CHECKPOINT_ID: checkpoint_id}
        }

    def new_checkpoint_id(self, previous: str | None) -> str:
        """A new id that sorts after ``previous`` (the parent)."""
        return self.new_id(previous)

    def next_version(self, current: Any) -> Any:
        if self.version_fn is not None:
            return self.version_fn(current)
        return 1 if current is None else current + 1

    def metadata(self, source: str, step: int) -> dict[str, Any]:
        md = dict(self.user_metadata)
        md["source"] = source
        md["step"] = step
        md["parents"] = dict(self.checkpoint_map)
        if self.run_id is not None:
            md["run_id"] = self.run_id
        return md

    def task_config(self, task: Task, loop: RunLoop) -> dict[str, Any]:
        """The config a node sees; it carries the link a subgraph run needs."""
        conf = dict(self.config.get(CONF, {}))
        conf[CHECKPOINT_NS] = task.ns
        conf.pop(CHECKPOINT_ID, None)
        child_map = dict(self.checkpoint_map)
        child_map[self.ns] = loop.checkpoint["id"]
        conf[CHECKPOINT_MAP] = child_map
        conf[PARENT_KEY] = ParentLink(
            saver=self.saver,
            store=self.store,
            resume_input=loop.resume_input,
            resuming=loop.resuming,
            checkpoint_map=child_map,
            durability=self.durability,
            stream_modes=self.stream_modes,
            stream_ns=(*self.stream_ns, task.ns.rsplit("|", 1)[-1]),
            sink=task.sub_chunks.append if self.stream_subgraphs else None,
            lease=self.lease,
            cache=self.cache,
            run_id=self.run_id,
        )
        config = dict(self.config)
        config[CONF] = conf
        return config

    def scratchpad(self, task: Task, loop: RunLoop) -> Scratchpad:
        return Scratchpad(task.ns, task.resume, loop.resume_input, self.saver is not None)


def metadata_from_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """User metadata for checkpoints: ``config["metadata"]`` plus scalar configurable keys
    (not the ``langgraph_*`` keys a node's config carries for LangChain tracing)."""
    md: dict[str, Any] = {}
    for source in (config.get(CONF, {}), config.get("metadata", {})):
        for key, value in source.items():
            if key.startswith(("__", "langgraph_")) or key in EXCLUDED_METADATA_KEYS:
                continue
            if isinstance(value, str | int | float | bool) or value is None:
                md[key] = value.replace("\u0000", "") if isinstance(value, str) else value
    return md
