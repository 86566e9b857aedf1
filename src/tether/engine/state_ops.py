"""Reading and editing a thread's state: get_state, history, update_state (sans-I/O generators)."""

from __future__ import annotations

import datetime
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from tether.checkpoint.lease import LEASE_KEY
from tether.constants import (
    CHECKPOINT_ID,
    CHECKPOINT_MAP,
    CHECKPOINT_NS,
    CONF,
    COPY,
    END,
    ERROR,
    INPUT,
    INTERRUPT,
    NS_END,
    NS_SEP,
    NULL_TASK_ID,
    RESUME,
    THREAD_ID,
)
from tether.engine.channels import MISSING
from tether.engine.effects import Effect, Load, Put
from tether.engine.loop import (
    error_text,
    fresh_state,
    read_state,
    restore_channels,
    task_result,
    working_copy,
)
from tether.engine.spec import GraphSpec
from tether.engine.task import (
    Task,
    apply_writes,
    is_success_write,
    pending_write_groups,
    prepare_next_tasks,
    task_id,
    task_succeeded,
)
from tether.errors import CheckpointNotFound, InvalidUpdateError
from tether.types import Interrupt, PregelTask, StateSnapshot, StateUpdate


class Loaded:
    """A checkpoint tuple turned back into live channels."""

    def __init__(self, graph: GraphSpec, saved: Any) -> None:
        cp = saved.checkpoint
        self.saved = saved
        self.checkpoint = working_copy(cp)
        self.metadata = dict(saved.metadata or {})
        self.channels = restore_channels(graph, cp.get("channel_values", {}))
        self.step = int(self.metadata.get("step", -1)) + 1
        self.pending = list(saved.pending_writes or [])
        self.ns = saved.config[CONF].get(CHECKPOINT_NS, "")

    def apply(self, tasks: list[Task], version_fn: Any) -> set[str]:
        versions = self.checkpoint["channel_versions"]
        current = max(versions.values()) if versions else None
        return apply_writes(self.checkpoint, self.channels, tasks, version_fn(current))


def _pseudo_task(name: str, writes: list[tuple[str, Any]], tid: str = NULL_TASK_ID) -> Task:
    from tether.engine.loop import _INPUT_NODE

    task = Task(tid, name, (INPUT, 0), _INPUT_NODE, (), None, "")
    task.writes = writes
    return task


def get_state(
    graph: GraphSpec, config: Mapping[str, Any], *, subgraphs: bool = False
) -> Generator[Effect, Any, StateSnapshot]:
    saved = yield Load(dict(config))
    conf = config.get(CONF, {})
    if saved is None:
        if conf.get(CHECKPOINT_ID):
            raise _not_found(conf)
        return StateSnapshot({}, (), dict(config), None, None, None, (), ())
    apply_pending = not conf.get(CHECKPOINT_ID)
    return (yield from snapshot(graph, saved, apply_pending=apply_pending, subgraphs=subgraphs))


def spec_for_namespace(graph: GraphSpec, ns: str) -> GraphSpec | None:
    """The spec of the subgraph that checkpoint namespace ``ns`` belongs to, or None.

    Task ids in the namespace are ignored (``outer:<id>|inner:<id>`` names node ``outer``'s
    subgraph's node ``inner``'s subgraph), so any snapshot config of a subgraph finds it.
    """
    spec = graph
    for segment in ns.split(NS_SEP):
        node = spec.nodes.get(segment.split(NS_END, 1)[0])
        if node is None or node.subgraph is None:
            return None
        spec = node.subgraph.spec
    return spec


def with_checkpoint_map(config: Any, metadata: Mapping[str, Any] | None) -> Any:
    """A subgraph checkpoint's config with ``checkpoint_map`` (ns -> checkpoint id), as LangGraph.

    The map holds the parents' checkpoints plus this one; root configs are returned unchanged.
    """
    parents = (metadata or {}).get("parents")
    if not config or not parents:
        return config
    conf = config[CONF]
    return {
        **config,
        CONF: {**conf, CHECKPOINT_MAP: {**parents, conf[CHECKPOINT_NS]: conf[CHECKPOINT_ID]}},
    }


def history_query(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``list()`` config that selects a thread's checkpoints in one namespace."""
    conf = dict(config.get(CONF, {}))
    conf.setdefault(CHECKPOINT_NS, "")
    return {CONF: conf}


def snapshot(
    graph: GraphSpec, saved: Any, *, apply_pending: bool, subgraphs: bool = False
) -> Generator[Effect, Any, StateSnapshot]:
    """Build the ``StateSnapshot`` of one checkpoint tuple."""
    loaded = Loaded(graph, saved)
    null_writes = [(c, v) for t, c, v in loaded.pending if t == NULL_TASK_ID and c != RESUME]
    if null_writes:
        loaded.apply([_pseudo_task(INPUT, null_writes)], _int_or_str_next)
        loaded.checkpoint["updated_channels"] = None
    tasks = prepare_next_tasks(
        graph, loaded.checkpoint, loaded.channels, loaded.step, loaded.ns, None
    )
    groups = pending_write_groups(loaded.pending)
    shown: list[PregelTask] = []
    finished: list[Task] = []
    all_interrupts: list[Interrupt] = []
    for task in tasks:
        writes = groups.get(task.id, [])
        result = None
        error = None
        interrupts: tuple[Interrupt, ...] = ()
        succeeded = task_succeeded(writes)
        if succeeded:
            task.writes = [
                (c, v) for c, v in writes if is_success_write(c) and c in loaded.channels
            ]
            finished.append(task)
            result = graph.update_view(task.writes) or {}
            if isinstance(result, list):  # a key written twice: folded as LangGraph does
                result = task_result(task.writes, graph.state_keys)
        else:
            error = next((v for c, v in writes if c == ERROR), None)
        if not (apply_pending and succeeded):
            # The head shows the questions still waiting; history keeps those the step asked.
            interrupts = tuple(
                i for c, v in writes if c == INTERRUPT for i in v if isinstance(i, Interrupt)
            )
            all_interrupts.extend(interrupts)
        state = yield from _task_state(graph, saved, task, subgraphs)
        shown.append(
            PregelTask(task.id, task.name, task.path, error_text(error), interrupts, state, result)
        )
    if apply_pending and finished:
        loaded.apply(finished, _int_or_str_next)
    values = graph.build_values(read_state(graph, loaded.channels))
    next_names = tuple(t.name for t in shown if not (apply_pending and t.result is not None))
    return StateSnapshot(
        values=values,
        next=next_names,
        config=with_checkpoint_map(saved.config, saved.metadata),
        metadata=saved.metadata,
        created_at=loaded.checkpoint["ts"],
        parent_config=with_checkpoint_map(saved.parent_config, saved.metadata),
        tasks=tuple(shown),
        interrupts=tuple(all_interrupts),
    )


def _task_state(
    graph: GraphSpec, saved: Any, task: Task, subgraphs: bool
) -> Generator[Effect, Any, Any]:
    if task.node.subgraph is None:
        return None
    conf = saved.config[CONF]
    child_config = {CONF: {THREAD_ID: conf.get(THREAD_ID), CHECKPOINT_NS: task.ns}}
    if not subgraphs:
        return child_config
    child = yield Load(child_config)
    if child is None:
        return None
    sub = task.node.subgraph
    return (yield from snapshot(sub.spec, child, apply_pending=True, subgraphs=True))


def _int_or_str_next(current: Any) -> Any:
    """A version above ``current`` for in-memory previews (never stored)."""
    if current is None:
        return 1
    if isinstance(current, int | float):
        return current + 1
    return f"{current}~"


def bulk_update_state(
    graph: GraphSpec,
    config: Mapping[str, Any],
    supersteps: Sequence[Sequence[StateUpdate]],
    *,
    version_fn: Any,
    new_id: Any,
    user_metadata: dict[str, Any],
    lease_token: tuple[str, int] | None = None,
) -> Generator[Effect, Any, dict[str, Any]]:
    """Apply updates as if nodes had run; each superstep becomes one checkpoint."""
    if not supersteps:
        raise InvalidUpdateError("bulk_update_state needs at least one superstep of updates")
    current = dict(config)
    for updates in supersteps:
        if not updates:
            raise InvalidUpdateError("a superstep of bulk_update_state has no updates")
        current = yield from _update_once(
            graph, current, list(updates), version_fn, new_id, user_metadata, lease_token
        )
    return current


def _update_once(
    graph: GraphSpec,
    config: dict[str, Any],
    updates: list[StateUpdate],
    version_fn: Any,
    new_id: Any,
    user_metadata: dict[str, Any],
    lease_token: tuple[str, int] | None,
) -> Generator[Effect, Any, dict[str, Any]]:
    conf = config.get(CONF, {})
    saved = yield Load(config)
    if saved is None and conf.get(CHECKPOINT_ID):
        raise _not_found(conf)
    if saved is None:
        saved = _empty_tuple(conf)
    loaded = Loaded(graph, saved)
    source = "update"
    if len(updates) == 1 and updates[0].as_node == COPY:
        return (
            yield from _put(loaded, saved, "fork", new_id, user_metadata, lease_token, copy=True)
        )
    tasks = prepare_next_tasks(
        graph, loaded.checkpoint, loaded.channels, loaded.step, loaded.ns, None
    )
    applied: list[Task] = []
    for update in updates:
        as_node = update.as_node or _infer_as_node(graph, loaded)
        if as_node == END and update.values is None:
            applied.extend(tasks)
            continue
        if as_node == INPUT:
            source = "input"
            applied.append(_pseudo_task(INPUT, graph.input_writes(update.values)))
            continue
        if not isinstance(as_node, str):
            raise InvalidUpdateError(
                f"update_state's third argument is as_node, a node name; got {as_node!r}. "
                f"To store metadata with the update, pass it in the config: "
                f"update_state({{**config, 'metadata': {{...}}}}, values)"
            )
        if as_node not in graph.nodes:
            raise InvalidUpdateError(
                f"update_state(as_node={as_node!r}): the graph has no node {as_node!r}; "
                f"nodes: {sorted(n for n in graph.nodes if not n.startswith('__'))}"
            )
        task = next((t for t in tasks if t.name == as_node), None)
        if task is None:
            tid = update.task_id or task_id(loaded.checkpoint["id"], "update", as_node)
            task = Task(tid, as_node, (INPUT, as_node), graph.nodes[as_node], (), None, loaded.ns)
        task.fresh = lambda writes: fresh_state(graph, loaded.channels, writes)
        task.writes = graph.nodes[as_node].to_writes(update.values, task)
        applied.append(task)
    updated = loaded.apply(applied, version_fn)
    loaded.checkpoint["updated_channels"] = sorted(updated)
    return (yield from _put(loaded, saved, source, new_id, user_metadata, lease_token, copy=False))


def _put(
    loaded: Loaded,
    saved: Any,
    source: str,
    new_id: Any,
    user_metadata: dict[str, Any],
    lease_token: tuple[str, int] | None,
    *,
    copy: bool,
) -> Generator[Effect, Any, dict[str, Any]]:
    checkpoint = loaded.checkpoint
    values: dict[str, Any] = {}
    for key, channel in loaded.channels.items():
        stored = channel.checkpoint()
        if stored is not MISSING:
            values[key] = stored
    new_checkpoint = {
        **checkpoint,
        "id": new_id(checkpoint["id"]),
        "ts": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "channel_values": values,
    }
    step = int(loaded.metadata.get("step", -1)) + 1
    metadata = {
        **user_metadata,
        "source": source,
        "step": step,
        "parents": loaded.metadata.get("parents", {}),
    }
    old_versions = saved.checkpoint.get("channel_versions", {})
    if copy:
        new_versions = dict(checkpoint["channel_versions"])
        parent = saved.parent_config or _config_without_id(saved.config)
    else:
        new_versions = {
            c: v for c, v in checkpoint["channel_versions"].items() if old_versions.get(c) != v
        }
        parent = (
            saved.config
            if saved.checkpoint.get("id") != _EMPTY_ID
            else _config_without_id(saved.config)
        )
    if lease_token is not None:
        parent = {**parent, CONF: {**parent[CONF], LEASE_KEY: lease_token}}
    yield Put(parent, new_checkpoint, metadata, new_versions)
    conf = dict(saved.config[CONF])
    conf[CHECKPOINT_ID] = new_checkpoint["id"]
    return with_checkpoint_map({CONF: conf}, metadata)


_EMPTY_ID = "00000000-0000-0000-0000-000000000000"


def _config_without_id(config: Mapping[str, Any]) -> dict[str, Any]:
    conf = {k: v for k, v in config[CONF].items() if k != CHECKPOINT_ID}
    return {CONF: conf}


def _empty_tuple(conf: Mapping[str, Any]) -> Any:
    from tether.checkpoint.base import CheckpointTuple
    from tether.engine.loop import empty_checkpoint

    config = {CONF: {THREAD_ID: conf.get(THREAD_ID), CHECKPOINT_NS: conf.get(CHECKPOINT_NS, "")}}
    empty: Any = empty_checkpoint()
    # Step -1, so an update on a new thread is step 0 (LangGraph numbers it so).
    return CheckpointTuple(config, empty, {"step": -1}, None, [])


def _infer_as_node(graph: GraphSpec, loaded: Loaded) -> str:
    if len(graph.nodes) == 1:
        return next(iter(graph.nodes))
    seen = loaded.checkpoint["versions_seen"]
    if not any(v for name, vs in seen.items() if name in graph.nodes for v in vs.values()):
        return "__start__"
    last = sorted(
        (version, name)
        for name, vs in seen.items()
        if name in graph.nodes
        for version in vs.values()
    )
    if len(last) == 1 or last[-1][0] != last[-2][0]:
        return last[-1][1]
    raise InvalidUpdateError(
        "update_state cannot tell which node the update comes from; pass as_node=<node name>"
    )


def _not_found(conf: Mapping[str, Any]) -> CheckpointNotFound:
    return CheckpointNotFound(
        f"checkpoint {conf.get(CHECKPOINT_ID)!r} does not exist in thread {conf.get(THREAD_ID)!r}"
        f" (namespace {conf.get(CHECKPOINT_NS, '')!r}); list the thread's checkpoints with "
        f"get_state_history(config)"
    )
