"""Tasks of a super-step: which nodes run next, with deterministic ids, and their scratchpads."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from tether.constants import (
    CHECKPOINT_NS,
    CONF,
    ERROR,
    INTERRUPT,
    NS_END,
    NS_SEP,
    RESUME,
    TASKS,
)
from tether.engine.channels import Channel
from tether.engine.spec import GraphSpec, NodeSpec, Writes
from tether.types import Send

PUSH = "__pregel_push"
PULL = "__pregel_pull"


def task_id(*parts: str | int) -> str:
    """A UUID-formatted id, the same for the same parts, so a resumed step finds its writes."""
    digest = hashlib.blake2b("\x00".join(map(str, parts)).encode(), digest_size=16).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"


def interrupt_id(task_ns: str, answered: int = 0) -> str:
    """The id of the interrupt a task in ``task_ns`` raises after ``answered`` answers.

    Each ``interrupt()`` call of a task has its own id (LangGraph's rule); the first one is the
    hash of the namespace alone, the id every interrupt of a task had before.
    """
    key = f"{task_ns}{NS_SEP}{answered}" if answered else task_ns
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


class ResumeInput:
    """Resume values of a run: one scalar (consumed once) and/or a map by interrupt id."""

    __slots__ = ("by_id", "has_scalar", "scalar")

    def __init__(self) -> None:
        self.has_scalar = False
        self.scalar: Any = None
        self.by_id: dict[str, Any] = {}

    def take_scalar(self) -> tuple[bool, Any]:
        if not self.has_scalar:
            return False, None
        self.has_scalar = False
        return True, self.scalar


class Scratchpad:
    """Per-task interrupt bookkeeping: resume values already given to this task, in order."""

    __slots__ = ("counter", "durable", "ns", "resume", "resume_input")

    def __init__(
        self, ns: str, resume: list[Any], resume_input: ResumeInput, durable: bool = True
    ) -> None:
        self.durable = durable
        self.ns = ns
        self.resume = resume
        self.resume_input = resume_input
        self.counter = 0

    @property
    def interrupt_id(self) -> str:
        """The id of this task's next unanswered interrupt."""
        return interrupt_id(self.ns, len(self.resume))

    def next_resume_value(self) -> tuple[bool, Any]:
        idx = self.counter
        self.counter += 1
        if idx < len(self.resume):
            return True, self.resume[idx]
        by_id = self.resume_input.by_id
        # An interrupt stored before ids were per call carries the task's first id.
        for key in (self.interrupt_id, interrupt_id(self.ns)):
            if key in by_id:
                value = by_id.pop(key)
                self.resume.append(value)
                return True, value
        found, value = self.resume_input.take_scalar()
        if found:
            self.resume.append(value)
        return found, value


class Task:
    """One node execution within a super-step."""

    __slots__ = (
        "_path_key",
        "cached",
        "config",
        "done",
        "error",
        "fresh",
        "id",
        "input",
        "interrupts",
        "name",
        "node",
        "ns",
        "path",
        "paused",
        "resume",
        "sub_chunks",
        "triggers",
        "writes",
    )

    def __init__(
        self,
        id: str,
        name: str,
        path: tuple[Any, ...],
        node: NodeSpec,
        triggers: tuple[str, ...],
        input: Any,
        ns: str,
    ) -> None:
        self.id = id
        self.name = name
        self.path = path
        self.node = node
        self.triggers = triggers
        self.input = input
        self.ns = ns
        self.writes: Writes = []
        self.done = False
        self.error: BaseException | None = None
        self.interrupts: tuple[Any, ...] = ()
        self.paused = False
        """Whether the task stopped at an interrupt (a subgraph's static one has no values)."""
        self.resume: list[Any] = []
        self.config: dict[str, Any] = {}
        self.fresh: Any = None
        """Callable(writes) -> state with this task's own writes applied (for conditional edges)."""
        self.sub_chunks: list[Any] = []
        self.cached = False
        """Whether the writes came from the cache instead of running the node."""
        self._path_key: str | None = None

    @property
    def path_key(self) -> str:
        """The key writes are ordered by: the order live execution applies them (made once)."""
        key = self._path_key
        if key is None:
            path = self.path
            key = self._path_key = (
                f"{path[0]}~{path[1]:09d}" if path[0] == PUSH else f"{path[0]}~{path[1]}"
            )
        return key

    def __repr__(self) -> str:
        return f"Task({self.name!r}, id={self.id!r})"


def task_namespace(parent_ns: str, name: str, tid: str) -> str:
    """The checkpoint namespace a subgraph run by this task uses."""
    segment = f"{name}{NS_END}{tid}"
    return f"{parent_ns}{NS_SEP}{segment}" if parent_ns else segment


def prepare_next_tasks(
    graph: GraphSpec,
    checkpoint: Mapping[str, Any],
    channels: Mapping[str, Channel],
    step: int,
    ns: str,
    values: Mapping[str, Any] | None,
) -> list[Task]:
    """The tasks of the next super-step: Sends first (PUSH), then triggered nodes (PULL).

    ``values`` (the current state) builds each task's input; pass ``None`` to skip inputs
    (listing what would run, as ``get_state`` does).
    """
    checkpoint_id = checkpoint["id"]
    tasks: list[Task] = []
    sends = channels.get(TASKS)
    if sends is not None and sends.is_available():
        for idx, packet in enumerate(sends.get()):
            if not isinstance(packet, Send) or packet.node not in graph.nodes:
                continue
            node = graph.nodes[packet.node]
            tid = task_id(checkpoint_id, ns, step, packet.node, PUSH, idx)
            tasks.append(
                Task(
                    tid,
                    packet.node,
                    (PUSH, idx),
                    node,
                    (TASKS,),
                    packet.arg,
                    _child_ns(ns, packet.node, tid),
                )
            )
    versions = checkpoint["channel_versions"]
    seen_by_node = checkpoint["versions_seen"]
    for name in _candidate_nodes(graph, checkpoint):
        node = graph.nodes[name]
        seen = seen_by_node.get(name, {})
        triggered = False
        for chan in node.triggers:
            version = versions.get(chan)
            if version is None or not channels[chan].is_available():
                continue
            last = seen.get(chan)
            if last is None or version > last:
                triggered = True
                break
        if not triggered:
            continue
        tid = task_id(checkpoint_id, ns, step, name, PULL, *node.triggers)
        node_input = node.read(values) if values is not None else None
        tasks.append(
            Task(tid, name, (PULL, name), node, node.triggers, node_input, _child_ns(ns, name, tid))
        )
    return tasks


def _child_ns(ns: str, name: str, tid: str) -> str:
    return task_namespace(ns, name, tid)


def _candidate_nodes(graph: GraphSpec, checkpoint: Mapping[str, Any]) -> Any:
    updated = checkpoint.get("updated_channels")
    if updated is None or not graph.trigger_to_nodes:
        return graph.nodes
    names: set[str] = set()
    for chan in updated:
        names.update(graph.trigger_to_nodes.get(chan, ()))
    return [name for name in graph.nodes if name in names]


def apply_writes(
    checkpoint: dict[str, Any],
    channels: Mapping[str, Channel],
    tasks: list[Task],
    next_version: Any,
) -> set[str]:
    """Apply the writes of a finished super-step to the channels, in task-path order.

    Marks each task's triggers as seen, consumes them, folds the writes into their channels
    and gives every changed channel ``next_version``. Returns the changed channels. Channels
    that clear when unwritten clear only when some task consumed a trigger (a real step): writes
    with no trigger (a resume's ``Command.update``) keep the pending nodes' triggers.
    """
    versions = checkpoint["channel_versions"]
    seen_by_node = checkpoint["versions_seen"]
    ordered = sorted(tasks, key=lambda t: t.path_key) if len(tasks) > 1 else tasks
    for task in ordered:
        # A new map, never a change to the old one: a checkpoint handed to the saver shares the
        # maps of the nodes that did not run (``loop._freeze`` copies only the outer dict).
        seen = dict(seen_by_node.get(task.name, ()))
        for chan in task.triggers:
            if chan in versions:
                seen[chan] = versions[chan]
        seen_by_node[task.name] = seen
    updated: set[str] = set()
    for chan in {chan for task in ordered for chan in task.triggers}:
        channel = channels.get(chan)
        if channel is not None and channel.consume():
            versions[chan] = next_version
            updated.add(chan)
    pending: dict[str, list[Any]] = {}
    writers: dict[str, list[str]] = {}
    for task in ordered:
        for chan, value in task.writes:
            if chan in channels:
                pending.setdefault(chan, []).append(value)
                writers.setdefault(chan, []).append(task.name)
    for chan, values in pending.items():
        try:
            changed = channels[chan].update(values)
        except Exception as exc:
            _explain_update_error(exc, chan, writers[chan])
            raise
        if changed:
            versions[chan] = next_version
            updated.add(chan)
    bump_step = any(task.triggers for task in ordered)
    for chan, channel in channels.items():
        if not bump_step:
            break
        if channel.clears_when_unwritten and chan not in pending and channel.update([]):
            versions[chan] = next_version
            updated.add(chan)
    return updated


def _explain_update_error(exc: Exception, chan: str, writers: list[str]) -> None:
    if exc.args and isinstance(exc.args[0], str) and "nodes" not in exc.args[0]:
        names = ", ".join(repr(n) for n in writers)
        exc.args = (f"{exc.args[0]} (written by nodes {names})", *exc.args[1:])


def pending_write_groups(
    pending_writes: list[tuple[str, str, Any]],
) -> dict[str, list[tuple[str, Any]]]:
    """Group a checkpoint's pending writes by task id, keeping their order."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for tid, chan, value in pending_writes:
        groups.setdefault(tid, []).append((chan, value))
    return groups


def task_succeeded(writes: list[tuple[str, Any]]) -> bool:
    """Whether a task's pending writes include a result: it finished, whatever it raised before."""
    return any(is_success_write(chan) for chan, _ in writes)


def pending_interrupts(pending_writes: list[tuple[str, str, Any]]) -> list[Any]:
    """Interrupts of tasks that have not finished since they raised them."""
    found: list[Any] = []
    for writes in pending_write_groups(pending_writes).values():
        if not task_succeeded(writes):
            found.extend(i for chan, value in writes if chan == INTERRUPT for i in value)
    return found


def is_success_write(chan: str) -> bool:
    """Whether a pending write records a result (not an error, interrupt or resume marker)."""
    return chan not in (ERROR, INTERRUPT, RESUME)


def task_config(parent: Mapping[str, Any], task: Task) -> dict[str, Any]:
    """The config a node sees: the run's config with the task's namespace."""
    conf = dict(parent.get(CONF, {}))
    conf[CHECKPOINT_NS] = task.ns
    config = dict(parent)
    config[CONF] = conf
    return config
