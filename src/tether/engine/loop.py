"""The super-step loop, written once as a generator of effects (sans-I/O).

``RunLoop.run()`` yields ``Load``/``Put``/``PutWrites``/``RunTasks``/``Emit`` requests; the sync
and async drivers in ``tether.engine.drivers`` carry them out. Everything here is pure logic:
which checkpoint to load, how input and resume values enter, which tasks run, when to pause.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from tether.checkpoint.appends import HintedCheckpoint
from tether.constants import (
    CHECKPOINT_ID,
    CHECKPOINT_MAP,
    CHECKPOINT_NS,
    CONF,
    ERROR,
    INPUT,
    INTERRUPT,
    NO_WRITES,
    NULL_TASK_ID,
    RESUME,
    START,
    THREAD_ID,
)
from tether.engine.channels import MISSING, Channel
from tether.engine.effects import AcquireLease, Effect, Emit, Load, Put, PutWrites, RunTasks
from tether.engine.reuse import Basis, append_channels
from tether.engine.runtime import RunContext
from tether.engine.spec import GraphSpec, NodeSpec
from tether.engine.task import (
    ResumeInput,
    Task,
    apply_writes,
    is_success_write,
    pending_interrupts,
    pending_write_groups,
    prepare_next_tasks,
    task_succeeded,
)
from tether.errors import (
    CheckpointNotFound,
    EmptyInputError,
    GraphInterrupt,
    GraphRecursionError,
    InvalidResumeError,
)
from tether.types import Command, Interrupt

LATEST_VERSION = 1
"""Format version of the checkpoints this engine writes."""

_INPUT_NODE = NodeSpec(
    name=INPUT, triggers=(), read=lambda v: None, call=lambda i, c: None, to_writes=lambda r, t: []
)


class RunLoop:
    """One run of a graph on one thread (or one subgraph namespace)."""

    def __init__(self, graph: GraphSpec, ctx: RunContext, input: Any) -> None:
        self.graph = graph
        self.ctx = ctx
        self.input = input
        self.status = "pending"
        self.interrupts: list[Interrupt] = []
        self.output: Any = None
        self.step = 0
        self.stop = 0
        self.checkpoint: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.channels: dict[str, Channel] = {}
        self.pending_writes: list[tuple[str, str, Any]] = []
        self.checkpoint_config: dict[str, Any] = {}
        self.parent_config: dict[str, Any] | None = None
        """The config of the checkpoint before ``checkpoint_config`` (None for a thread's first)."""
        self.parent_noted = False
        self._fenced: tuple[dict[str, Any], dict[str, Any]] | None = None
        self.saved_versions: dict[str, Any] = {}
        self.basis = Basis(
            append_channels(graph.channels) if ctx.saver is not None else frozenset()
        )
        """The list values last stored, so a checkpoint can say which ones it only extends."""
        self.resume_input = ctx.resume_input or ResumeInput()
        self.replaying = False
        self.resuming = False
        self.addressed_head = False
        self.cached: set[str] = set()
        """Ids of this step's tasks whose writes were saved before: streamed as cached."""

    # -- lifecycle -------------------------------------------------------------------------

    def run(self) -> Generator[Effect, Any, None]:
        """Drive the run to its end; ``self.status`` ends as done, interrupted or error.

        A root run on a saver with leases first takes the thread's lease; the driver gives it
        back when the run ends, however it ends.
        """
        ctx = self.ctx
        if ctx.wants_lease():
            assert ctx.thread_id is not None
            ctx.lease, saved = yield AcquireLease(ctx.thread_id, ctx.busy_wait, ctx.load_config())
            yield from self._load(saved)
        else:
            yield from self._load()
        yield from self._first()
        while True:
            tasks = self._next_tasks(for_execution=True)
            if not tasks:
                self.status = "done"
                break
            if self.step > self.stop:
                raise GraphRecursionError(
                    f"the run reached recursion_limit={self.ctx.recursion_limit} super-steps "
                    f"without finishing; raise it with config={{'recursion_limit': N}} or check "
                    f"the graph for a loop that never ends"
                )
            self._reapply_pending_writes(tasks)
            self.cached = {t.id for t in tasks if t.done}
            if self._should_interrupt(self.ctx.interrupt_before, tasks):
                yield from self._pause([], [])
                return
            to_run = [t for t in tasks if not t.done]
            yield from self._emit_tasks(tasks, start=True)  # cached ones too, as LangGraph
            if to_run:
                yield RunTasks(to_run)
                yield from self._emit_tasks(to_run, start=False)
            yield from self._after_tasks(tasks)
            if self.status == "interrupted":
                return
            if self._should_interrupt(self.ctx.interrupt_after, tasks):
                yield from self._pause([], [])
                return
        self.output = self.graph.build_output(self.values())

    def _load(self, *preloaded: Any) -> Generator[Effect, Any, None]:
        """Restore the run's checkpoint: ``preloaded`` (read with the lease) or read now."""
        ctx = self.ctx
        saved = preloaded[0] if preloaded else None
        if ctx.saver is not None:
            if not preloaded:
                saved = yield Load(ctx.load_config())
            if saved is None and ctx.checkpoint_id is not None:
                raise CheckpointNotFound(
                    f"checkpoint {ctx.checkpoint_id!r} does not exist in thread "
                    f"{ctx.thread_id!r} (namespace {ctx.ns!r}); list the thread's checkpoints "
                    f"with get_state_history(config)"
                )
        if saved is not None and ctx.checkpoint_id is not None:
            head = yield Load(ctx.base_config())
            self.addressed_head = (
                head is not None and head.checkpoint["id"] == saved.checkpoint["id"]
            )
        if saved is not None:
            cp = saved.checkpoint
            self.checkpoint = working_copy(cp)
            self.metadata = dict(saved.metadata or {})
            self.pending_writes = list(saved.pending_writes or [])
            self.checkpoint_config = saved.config
            self.channels = restore_channels(self.graph, cp.get("channel_values", {}))
            self.saved_versions = dict(cp["channel_versions"])
            if ctx.saver is not None:
                self.basis.loaded(self.channels, self.saved_versions)
        else:
            self.checkpoint = empty_checkpoint()
            self.metadata = {"step": -2}
            self.checkpoint_config = ctx.base_config()
            self.channels = restore_channels(self.graph, {})
        self.step = int(self.metadata.get("step", -2)) + 1
        self.stop = self.step + ctx.recursion_limit + 1

    def _first(self) -> Generator[Effect, Any, None]:
        inp = self.input
        has_state = bool(self.checkpoint["channel_versions"])
        if isinstance(inp, Command) and not has_state and inp.resume is None:
            # A Command on a new thread starts it: its update and goto are the input.
            yield from self._start(self.graph.command_writes(inp))
            return
        if isinstance(inp, Command):
            yield from self._take_command(inp, has_state)
            self.resuming = True
        elif inp is None or (self.ctx.parent_resuming and has_state):
            if not has_state:
                raise EmptyInputError(
                    f"no input was given and thread {self.ctx.thread_id!r} has nothing to "
                    f"resume; pass an input dict to start a run"
                )
            self.resuming = True
        if self.resuming:
            self.replaying = (
                self.ctx.checkpoint_id is not None
                and not isinstance(inp, Command)
                and not self.addressed_head
            )
            self.checkpoint["versions_seen"][INTERRUPT] = dict(self.checkpoint["channel_versions"])
            self._apply_null_writes()
            if self.replaying:
                self.pending_writes = []
                yield from self._put_checkpoint("fork", after_nodes=False)
            else:
                self._load_resume_writes()
            yield from self._emit_values()
            return
        yield from self._start(self.graph.input_writes(inp))

    def _start(self, writes: list[tuple[str, Any]]) -> Generator[Effect, Any, None]:
        """New input: drop what the previous run left pending, then apply the input writes."""
        stale = self._next_tasks(for_execution=False)
        input_task = Task(NULL_TASK_ID, INPUT, (INPUT, 0), _INPUT_NODE, (), None, "")
        input_task.writes = writes
        self._apply([*stale, input_task])
        self.pending_writes = []
        yield from self._put_checkpoint("input", after_nodes=False)
        if self._writes_state([input_task]):  # a Command's update, written straight to state
            yield from self._emit_values()

    def _take_command(self, cmd: Command, has_state: bool) -> Generator[Effect, Any, None]:
        """Record a Command input: resume values, then update/goto as input writes."""
        writes: list[tuple[str, Any]] = []
        if cmd.resume is not None:
            self._check_resume(cmd.resume, has_state, bool(cmd.goto))
            writes.append((RESUME, cmd.resume))
        if cmd.update is not None or cmd.goto:
            writes.extend(self.graph.command_writes(cmd))
        for chan, value in writes:
            self.pending_writes.append((NULL_TASK_ID, chan, value))
        if writes and self.ctx.saver is not None:
            yield PutWrites(self.fenced_config(), writes, NULL_TASK_ID, "")

    def _check_resume(self, resume: Any, has_state: bool, goto: bool) -> None:
        """Refuse a resume no interrupt can take; record the values of one that some can.

        With no interrupt pending, a scalar resume still goes through when the run has tasks to
        run (state edited while a node waited in ``interrupt()``): as in LangGraph, the first
        ``interrupt()`` the run reaches returns it.
        """
        pending = self._pending_interrupts()
        thread = self.ctx.thread_id
        by_id = (
            isinstance(resume, Mapping)
            and resume
            and all(isinstance(k, str) and len(k) == 32 for k in resume)
        )
        runnable = bool(goto or self._next_tasks(for_execution=False))
        if not pending and not by_id and runnable:
            self.resume_input.has_scalar = True
            self.resume_input.scalar = resume
            return
        if not pending and not by_id:
            raise InvalidResumeError(
                f"thread {thread!r} has no pending interrupt to resume"
                + ("" if has_state else " (the thread has no checkpoint)")
                + "; start a run with an input instead of Command(resume=...)"
            )
        if by_id:
            known = {i.id for i in pending}
            unknown = [k for k in resume if k not in known]
            if unknown:
                hint = (
                    f"pending interrupt ids: {sorted(known)}"
                    if known
                    else "it has none"
                    + (
                        " (a state edit replaced the step: answer the re-run interrupt() "
                        "with Command(resume=value))"
                        if runnable
                        else ""
                    )
                )
                raise InvalidResumeError(
                    f"resume keys {unknown} match no pending interrupt of thread {thread!r}; "
                    + hint
                )
            self.resume_input.by_id.update(resume)
            return
        if len({i.id for i in pending}) > 1:
            raise InvalidResumeError(
                f"thread {thread!r} has {len(pending)} pending interrupts; resume each by its "
                f"interrupt id: Command(resume={{interrupt_id: value, ...}}) "
                f"(ids: {[i.id for i in pending]})"
            )
        self.resume_input.has_scalar = True
        self.resume_input.scalar = resume

    def _pending_interrupts(self) -> list[Interrupt]:
        return [i for i in pending_interrupts(self.pending_writes) if isinstance(i, Interrupt)]

    def _apply_null_writes(self) -> None:
        null_writes = [
            (c, v) for t, c, v in self.pending_writes if t == NULL_TASK_ID and c != RESUME
        ]
        if null_writes:
            task = Task(NULL_TASK_ID, INPUT, (INPUT, 0), _INPUT_NODE, (), None, "")
            task.writes = null_writes
            self._apply([task])
            self.checkpoint["updated_channels"] = None  # look at every node for the next step

    def _load_resume_writes(self) -> None:
        for tid, chan, value in self.pending_writes:
            if tid == NULL_TASK_ID and chan == RESUME and not self.resume_input.has_scalar:
                if isinstance(value, Mapping) and value and all(len(str(k)) == 32 for k in value):
                    for key, val in value.items():
                        self.resume_input.by_id.setdefault(key, val)
                else:
                    self.resume_input.has_scalar = True
                    self.resume_input.scalar = value

    # -- steps -----------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The current state: every state key that has a value."""
        values: dict[str, Any] = {}
        for key in self.graph.state_keys:
            channel = self.channels[key]
            if channel.is_available():
                values[key] = channel.value
        return values

    def _next_tasks(self, *, for_execution: bool) -> list[Task]:
        values = None
        if for_execution:
            values = self.values()
            entry = self.channels.get(self.graph.input_channel)
            if entry is not None and entry.is_available():
                values[self.graph.input_channel] = entry.value
            values.update(self._managed_values())
        tasks = prepare_next_tasks(
            self.graph, self.checkpoint, self.channels, self.step, self.ctx.ns, values
        )
        if for_execution:
            fresh = self.fresh_view
            for task in tasks:
                task.config = self.ctx.task_config(task, self)
                task.fresh = fresh
        return tasks

    def fresh_view(self, writes: list[tuple[str, Any]]) -> dict[str, Any]:
        """The state as it would be with only these writes applied (what a branch reads)."""
        values = fresh_state(self.graph, self.channels, writes)
        if self.graph.managed:
            values.update(self._managed_values())
        return values

    def _managed_values(self) -> dict[str, Any]:
        """Managed values (``RemainingSteps``, ...) for tasks of this step; never stored."""
        return {key: read(self.step, self.stop) for key, read in self.graph.managed.items()}

    def _reapply_pending_writes(self, tasks: list[Task]) -> None:
        if not self.pending_writes:
            return
        groups = pending_write_groups(self.pending_writes)
        for task in tasks:
            writes = groups.get(task.id)
            if not writes:
                continue
            for chan, value in writes:
                if chan == RESUME:
                    task.resume = list(value)
            if task_succeeded(writes):
                task.writes = [(c, v) for c, v in writes if is_success_write(c) and c != NO_WRITES]
                task.done = True

    def finish_task(self, task: Task, outcome: BaseException | Any) -> PutWrites | None:
        """Record a task's outcome; return the write to persist (None without a saver)."""
        task.done = True
        if isinstance(outcome, GraphInterrupt):
            task.interrupts = outcome.interrupts
            task.paused = True
            record: list[tuple[str, Any]] = [(INTERRUPT, outcome.interrupts)]
            if task.resume:
                record.append((RESUME, list(task.resume)))
        elif isinstance(outcome, BaseException):
            task.error = outcome
            record = [(ERROR, error_text(outcome))]
        else:
            record = task.writes if task.writes else [(NO_WRITES, None)]
        for chan, value in record:
            self.pending_writes.append((task.id, chan, value))
        if self.ctx.saver is None:
            return None
        return PutWrites(self.fenced_config(), list(record), task.id, task.path_key)

    def _after_tasks(self, tasks: list[Task]) -> Generator[Effect, Any, None]:
        failed = [t for t in tasks if t.error is not None]
        if failed:
            self.status = "error"
            failed.sort(key=lambda t: t.path_key)
            error = failed[0].error
            assert error is not None
            raise error
        interrupts = [i for t in tasks for i in t.interrupts]
        if any(t.paused for t in tasks):
            yield from self._pause(interrupts, tasks)
            return
        updated = self._apply(tasks)
        self.pending_writes = []
        # Store first, then stream: the step's last writes and its checkpoint can share a commit.
        nodes_ran = any(t.name != START for t in tasks)  # not only the input's mapping
        yield from self._put_checkpoint(
            "loop", updated=updated, announce=False, after_nodes=nodes_ran
        )
        yield from self._emit_step(tasks)
        yield from self._announce_checkpoint()

    def _apply(self, tasks: list[Task]) -> set[str]:
        versions = self.checkpoint["channel_versions"]
        current = max(versions.values()) if versions else None
        next_version = self.ctx.next_version(current)
        if self.basis.keys:
            self.basis.wrote(w for task in tasks for w in task.writes)
        return apply_writes(self.checkpoint, self.channels, tasks, next_version)

    def _should_interrupt(self, nodes: Sequence[str] | str | None, tasks: list[Task]) -> bool:
        if not nodes:
            return False
        seen = self.checkpoint["versions_seen"].get(INTERRUPT, {})
        changed = any(
            seen.get(chan) is None or version > seen[chan]
            for chan, version in self.checkpoint["channel_versions"].items()
        )
        if not changed:
            return False
        hit = any((t.name != "__start__" if nodes == "*" else t.name in nodes) for t in tasks)
        if hit:
            self.checkpoint["versions_seen"][INTERRUPT] = dict(self.checkpoint["channel_versions"])
        return hit

    def _pause(
        self, interrupts: list[Interrupt], tasks: list[Task]
    ) -> Generator[Effect, Any, None]:
        """Stop the run; the output shows the writes of tasks that finished in this step."""
        self.status = "interrupted"
        self.interrupts = list(interrupts)
        finished = [t for t in tasks if t.error is None and not t.paused]
        writes = [w for t in finished for w in t.writes]
        values = fresh_state(self.graph, self.channels, writes) if writes else self.values()
        self.output = self.graph.build_output(values)
        yield from self._emit_pause(tasks, finished, values)

    def _emit_pause(
        self, tasks: list[Task], finished: list[Task], values: dict[str, Any]
    ) -> Generator[Effect, Any, None]:
        """Chunks of a pause, in LangGraph's order: the finished tasks' updates, then per
        interrupted task an ``updates`` and a ``values`` chunk (the state before the step plus
        ``__interrupt__``), then the state with the finished tasks' writes, if they wrote any.
        A breakpoint (no interrupted task) gives only ``{'__interrupt__': ()}`` as an update."""
        modes, ns = self.ctx.stream_modes, self.ctx.stream_ns
        if "updates" in modes:
            yield from self._emit_updates(finished)
        stopped = sorted((t for t in tasks if t.interrupts), key=lambda t: t.path_key)
        if not stopped and "updates" in modes and self.ctx.is_root:
            yield Emit("updates", {INTERRUPT: ()}, ns)  # a subgraph's breakpoint: root only
        before = self.graph.build_values(self.values())
        if not isinstance(before, Mapping):  # an entrypoint's non-dict state shows no values
            before = {}
        for task in stopped:
            if "updates" in modes:
                yield Emit("updates", {INTERRUPT: tuple(task.interrupts)}, ns)
            if "values" in modes:
                yield Emit("values", {**before, INTERRUPT: tuple(task.interrupts)}, ns)
        if stopped and "values" in modes and self._writes_state(finished):
            yield Emit("values", self.graph.build_values(values), ns)

    def _emit_tasks(self, tasks: list[Task], *, start: bool) -> Generator[Effect, Any, None]:
        modes = self.ctx.stream_modes
        if "debug" not in modes and "tasks" not in modes:
            return
        for task in tasks:
            if task.name == "__start__":
                continue
            payload: dict[str, Any] = {"id": task.id, "name": task.name}
            if start:
                payload["input"] = task.input
                payload["triggers"] = tuple(task.triggers)
            elif task.cached:
                continue  # LangGraph reports no result for a task replayed from the cache
            else:
                payload["error"] = task.error
                payload["result"] = task_result(task.writes, self.graph.state_keys)
                payload["interrupts"] = [dataclasses.asdict(i) for i in task.interrupts]
            yield Emit(
                "tasks", {"step": self.step, "start": start, "payload": payload}, self.ctx.stream_ns
            )

    def _emit_step(self, tasks: list[Task]) -> Generator[Effect, Any, None]:
        """A finished step's chunks: each task's update, then the state if any task wrote it."""
        if "updates" in self.ctx.stream_modes:
            yield from self._emit_updates(tasks)
        if self._writes_state(tasks):
            yield from self._emit_values()

    def _emit_updates(self, tasks: list[Task]) -> Generator[Effect, Any, None]:
        """One ``updates`` chunk per task; tasks whose writes were saved by an earlier run come
        first, marked ``'__metadata__': {'cached': True}`` as LangGraph marks them."""
        ordered = sorted(tasks, key=lambda t: (t.id not in self.cached, t.path_key))
        for task in ordered:
            if task.name == "__start__":
                continue
            chunk = {task.name: self.graph.update_view(task.writes)}
            if task.cached or task.id in self.cached:
                chunk["__metadata__"] = {"cached": True}
            yield Emit("updates", chunk, self.ctx.stream_ns)

    def _emit_values(self) -> Generator[Effect, Any, None]:
        """The whole state as a ``values`` chunk (an output schema filters only ``invoke``)."""
        if "values" in self.ctx.stream_modes:
            yield Emit("values", self.graph.build_values(self.values()), self.ctx.stream_ns)

    def _writes_state(self, tasks: list[Task]) -> bool:
        keys = self.graph.state_keys
        return any(chan in keys for task in tasks for chan, _ in task.writes)

    # -- checkpoints -----------------------------------------------------------------------

    def _put_checkpoint(
        self,
        source: str,
        *,
        updated: set[str] | None = None,
        advance: bool = True,
        announce: bool = True,
        after_nodes: bool = True,
    ) -> Generator[Effect, Any, None]:
        """Store the checkpoint; ``after_nodes``: whether node code ran since the last one
        (``tether.engine.reuse`` vouches for fewer elements then)."""
        step = self.step if advance else int(self.metadata.get("step", self.step))
        checkpoint = self.checkpoint
        new_id = self.ctx.new_checkpoint_id(checkpoint["id"])
        channel_values: dict[str, Any] = {}
        for key, channel in self.channels.items():
            stored = channel.checkpoint()
            if stored is not MISSING:
                channel_values[key] = stored
        versions = checkpoint["channel_versions"]
        checkpoint = {
            "v": LATEST_VERSION,
            "id": new_id,
            "ts": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "channel_values": channel_values,
            "channel_versions": versions,
            "versions_seen": checkpoint["versions_seen"],
            "updated_channels": sorted(updated) if updated is not None else None,
        }
        self.checkpoint = checkpoint
        self.metadata = self.ctx.metadata(source, step)
        self._note_parent()
        if self.ctx.saver is not None:
            saved = self.saved_versions
            new_versions = {c: v for c, v in versions.items() if saved.get(c) != v}
            parent_config = self.fenced_config()
            snapshot = _freeze(checkpoint)
            if self.basis.keys:
                hints = self.basis.extends(
                    self.channels, versions, new_versions, after_nodes=after_nodes
                )
                if hints:
                    snapshot = HintedCheckpoint(snapshot, hints)
            self.saved_versions = snapshot["channel_versions"]  # a copy no one changes
            config = self.checkpoint_config = self.ctx.checkpoint_config(new_id)
            self._fenced = (config, config if self.ctx.lease is None else self.ctx.fenced(config))
            yield Put(parent_config, snapshot, self.metadata, new_versions)
        else:
            self.checkpoint_config = self.ctx.checkpoint_config(new_id)
        if announce:
            yield from self._announce_checkpoint()
        if advance:
            self.step += 1

    def fenced_config(self) -> dict[str, Any]:
        """``checkpoint_config`` carrying the lease token (``RunContext.fenced``): what the
        saver calls of this checkpoint's tasks and of the next checkpoint get, built once."""
        config = self.checkpoint_config
        memo = self._fenced
        if memo is None or memo[0] is not config:
            memo = self._fenced = (config, self.ctx.fenced(config))
        return memo[1]

    def _note_parent(self) -> None:
        """Remember the new checkpoint's parent for its event: the previous checkpoint, or with
        durability "exit" the one the run started from (the only one the saver will have)."""
        if self.ctx.durability == "exit" and self.parent_noted:
            return
        previous = self.checkpoint_config
        self.parent_config = previous if CHECKPOINT_ID in previous.get(CONF, {}) else None
        self.parent_noted = True

    def _announce_checkpoint(self) -> Generator[Effect, Any, None]:
        """A stored checkpoint as a ``checkpoints`` chunk (none without a checkpointer)."""
        modes = self.ctx.stream_modes
        if self.ctx.saver is not None and ("debug" in modes or "checkpoints" in modes):
            yield Emit("checkpoints", self._checkpoint_event(), self.ctx.stream_ns)

    def _checkpoint_event(self) -> dict[str, Any]:
        """LangGraph's checkpoint payload. Announced right after the checkpoint is stored, its
        tasks have no writes yet: no result, error or interrupts."""
        tasks = self._next_tasks(for_execution=False)
        parents = self.metadata.get("parents")
        return {
            "config": with_checkpoint_map(self.checkpoint_config, parents),
            "parent_config": with_checkpoint_map(self.parent_config, parents),
            "values": self.graph.build_values(self.values()),
            "metadata": self.metadata,
            "next": [t.name for t in tasks],
            "tasks": [
                {"id": t.id, "name": t.name, "interrupts": (), "state": self._task_state(t)}
                for t in tasks
            ],
        }

    def _task_state(self, task: Task) -> dict[str, Any] | None:
        """A subgraph task's state as a config to pass to ``get_state``; None for a node."""
        if task.node.subgraph is None:
            return None
        return {CONF: {THREAD_ID: self.ctx.thread_id, CHECKPOINT_NS: task.ns}}


def with_checkpoint_map(
    config: dict[str, Any] | None, parents: Mapping[str, str] | None
) -> dict[str, Any] | None:
    """A subgraph checkpoint's config as LangGraph shows it: with ``checkpoint_map``, the
    checkpoint id of each enclosing graph plus this one, keyed by namespace."""
    if config is None or not parents:
        return config
    conf = config[CONF]
    own = {conf[CHECKPOINT_NS]: conf[CHECKPOINT_ID]}
    return {**config, CONF: {**conf, CHECKPOINT_MAP: {**parents, **own}}}


def error_text(error: Any) -> str | None:
    """A task's error as it is stored and shown: its repr, as LangGraph stores it
    (``"ValueError('x')"``). A string (or None) passes through; older rows hold exceptions."""
    if error is None or isinstance(error, str):
        return error
    try:
        return repr(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"


def task_result(writes: list[tuple[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """A task's state writes as LangGraph's ``task_result`` shows them: ``{key: value}``, or
    ``{key: {"$writes": [v1, v2]}}`` for a key written more than once."""
    result: dict[str, Any] = {}
    repeated: set[str] = set()
    for chan, value in writes:
        if chan not in keys:
            continue
        if chan not in result:
            result[chan] = value
        elif chan in repeated:
            result[chan]["$writes"].append(value)
        else:
            result[chan] = {"$writes": [result[chan], value]}
            repeated.add(chan)
    return result


def _freeze(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A copy of the checkpoint the engine will not mutate while a saver may still read it.
    The maps in ``versions_seen`` are shared: the engine replaces a node's map, never changes
    it (``apply_writes``)."""
    return {
        **checkpoint,
        "channel_versions": dict(checkpoint["channel_versions"]),
        "versions_seen": dict(checkpoint["versions_seen"]),
    }


def working_copy(cp: Mapping[str, Any]) -> dict[str, Any]:
    """A stored checkpoint's bookkeeping, copied so the loop can change it (values left out)."""
    return {
        "v": cp.get("v", LATEST_VERSION),
        "id": cp["id"],
        "ts": cp["ts"],
        "channel_values": {},
        "channel_versions": dict(cp["channel_versions"]),
        "versions_seen": {k: dict(v) for k, v in cp["versions_seen"].items()},
        "updated_channels": cp.get("updated_channels"),
    }


def empty_checkpoint() -> dict[str, Any]:
    return {
        "v": LATEST_VERSION,
        "id": str(uuid.UUID(int=0)),
        "ts": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "channel_values": {},
        "channel_versions": {},
        "versions_seen": {},
        "updated_channels": None,
    }


def restore_channels(graph: GraphSpec, stored: Mapping[str, Any]) -> dict[str, Channel]:
    return {key: spec.restore(stored.get(key, MISSING)) for key, spec in graph.channels.items()}


def fresh_state(
    graph: GraphSpec, channels: Mapping[str, Channel], writes: list[tuple[str, Any]]
) -> dict[str, Any]:
    """Current state values with ``writes`` folded in through each key's channel."""
    touched: dict[str, list[Any]] = {}
    for chan, value in writes:
        if chan in graph.state_keys:
            touched.setdefault(chan, []).append(value)
    values = read_state(graph, channels)
    for key, updates in touched.items():
        scratch = channels[key].copy()
        scratch.update(updates)
        if scratch.is_available():
            values[key] = scratch.value
    return values


def read_state(graph: GraphSpec, channels: Mapping[str, Channel]) -> dict[str, Any]:
    return {key: channels[key].value for key in graph.state_keys if channels[key].is_available()}


__all__ = [
    "LATEST_VERSION",
    "RunLoop",
    "empty_checkpoint",
    "error_text",
    "restore_channels",
    "with_checkpoint_map",
]
