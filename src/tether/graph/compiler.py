"""Turning a ``StateGraph`` into the engine's ``GraphSpec``: channels, triggers, node writers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tether.constants import END, START, TASKS
from tether.engine.caching import cache_namespace
from tether.engine.channels import Barrier, Channel, EphemeralValue, LastValue, Topic
from tether.engine.spec import GraphSpec, NodeSpec, Writes
from tether.engine.task import Task
from tether.errors import InvalidUpdateError, ParentCommand
from tether.graph.branch import Branch
from tether.graph.node import adapt, is_async_callable
from tether.graph.schema import (
    SchemaAdapter,
    channel_for,
    managed_keys,
    schema_hints,
    update_items,
)
from tether.types import Command, Send

if TYPE_CHECKING:
    from tether.graph.state import NodeDef, StateGraph


def trigger_channel(node: str) -> str:
    return f"branch:to:{node}"


def join_channel(starts: tuple[str, ...], end: str) -> str:
    return f"join:{'+'.join(starts)}:{end}"


def compile_spec(graph: StateGraph) -> GraphSpec:
    channels: dict[str, Channel] = {}
    managed = managed_keys(graph.hints)
    for node in graph.nodes.values():
        managed.update(managed_keys(schema_hints(node.input_schema)))
    for key, hint in graph.hints.items():
        if key not in managed:
            channels[key] = channel_for(key, hint)
    input_keys = _unmanaged(schema_hints(graph.input_schema) or graph.hints, managed)
    output_keys = _unmanaged(schema_hints(graph.output_schema) or graph.hints, managed)
    for key in (*input_keys, *output_keys):
        channels.setdefault(key, LastValue(key))
    for node in graph.nodes.values():  # private channels: keys only a node's input declares
        for key, hint in schema_hints(node.input_schema).items():
            if key not in managed:
                channels.setdefault(key, channel_for(key, hint))
    state_keys = tuple(channels)
    channels[START] = EphemeralValue(START)
    channels[TASKS] = Topic(TASKS)
    for name in graph.nodes:
        channels[trigger_channel(name)] = EphemeralValue(trigger_channel(name))
    for starts, end in graph.join_edges:
        key = join_channel(starts, end)
        channels[key] = Barrier(key, frozenset(starts))
    writer = _Writers(graph, set(state_keys))
    nodes: dict[str, NodeSpec] = {START: _start_node(writer, input_keys)}
    for name, node in graph.nodes.items():
        nodes[name] = _user_node(graph, node, writer, state_keys)
    trigger_to_nodes: dict[str, list[str]] = {}
    for name, spec in nodes.items():
        for chan in spec.triggers:
            trigger_to_nodes.setdefault(chan, []).append(name)
    output_set = set(output_keys)
    return GraphSpec(
        channels=channels,
        nodes=nodes,
        state_keys=state_keys,
        input_channel=START,
        output_keys=output_keys,
        build_output=lambda values: {k: v for k, v in values.items() if k in output_set},
        build_values=dict,
        input_writes=lambda value: [(START, value)],
        command_writes=lambda cmd: writer.command(cmd, "__input__"),
        update_view=writer.update_view,
        trigger_to_nodes={k: tuple(v) for k, v in trigger_to_nodes.items()},
        managed={key: _managed_reader(manager) for key, manager in managed.items()},
    )


def _unmanaged(hints: dict[str, Any], managed: dict[str, Any]) -> tuple[str, ...]:
    return tuple(key for key in hints if key not in managed)


def _managed_reader(manager: Any) -> Callable[[int, int], Any]:
    from tether.managed import StepInfo

    return lambda step, stop: manager.get(StepInfo(step, stop))


class _Writers:
    """Turns node results into writes: state updates, commands and outgoing edges."""

    def __init__(self, graph: StateGraph, state_keys: set[str]) -> None:
        self.graph = graph
        self.state_keys = state_keys
        self.static: dict[str, list[str]] = {}
        for start, end in graph.edges:
            if end != END:
                self.static.setdefault(start, []).append(trigger_channel(end))
        for starts, end in graph.join_edges:
            for start in starts:
                self.static.setdefault(start, []).append(join_channel(starts, end))
        for key in self.static:
            self.static[key].sort()

    def state_writes(self, update: Any, node: str) -> Writes:
        if update is None:
            return []
        return [(k, v) for k, v in update_items(update, node) if k in self.state_keys]

    def command(self, cmd: Command[Any], node: str) -> Writes:
        writes: Writes = []
        if cmd.update is not None:
            if isinstance(cmd.update, list | tuple) and all(
                isinstance(u, tuple) and len(u) == 2 for u in cmd.update
            ):
                writes.extend((k, v) for k, v in cmd.update if k in self.state_keys)
            else:
                writes.extend(self.state_writes(cmd.update, node))
        goto = cmd.goto
        targets = goto if isinstance(goto, list | tuple) else [goto]
        for target in targets:
            if isinstance(target, Send):
                writes.append((TASKS, target))
            elif isinstance(target, str):
                if target != END:
                    if target not in self.graph.nodes:
                        raise InvalidUpdateError(
                            f"node {node!r} returned Command(goto={target!r}), an unknown node"
                        )
                    writes.append((trigger_channel(target), None))
            elif target:
                raise InvalidUpdateError(
                    f"node {node!r}: Command(goto=...) takes node names or Send, not {target!r}"
                )
        return writes

    def node_command(self, cmd: Command[Any], name: str) -> Writes:
        """A Command a node returned: a jump to the parent graph leaves this graph's run."""
        if cmd.graph == Command.PARENT:
            raise ParentCommand(cmd)
        return self.command(cmd, name)

    def node_writes(self, result: Any, task: Task, name: str) -> Writes:
        if isinstance(result, Command):
            writes = self.node_command(result, name)
        elif isinstance(result, list | tuple) and any(isinstance(r, Command) for r in result):
            # Commands, possibly mixed with plain updates (a ToolNode's answers), in order
            writes = [
                w
                for item in result
                for w in (
                    self.node_command(item, name)
                    if isinstance(item, Command)
                    else self.state_writes(item, name)
                )
            ]
        else:
            writes = self.state_writes(result, name)
        return self.edges(writes, task, name)

    def edges(self, writes: Writes, task: Task, name: str) -> Writes:
        out = list(writes)
        out.extend(
            (chan, name if chan.startswith("join:") else None) for chan in self.static.get(name, ())
        )
        branches: list[Branch] = self.graph.branches.get(name, [])
        if branches:
            state = task.fresh(writes) if task.fresh is not None else {}
            adapter = SchemaAdapter(self.graph.state_schema, tuple(self.graph.hints))
            view = adapter.build(state)
            # LangGraph's node sequence: function, state write, a write per static edge, branches
            first = 3 + len(self.static.get(name, ()))
            for index, branch in enumerate(branches):
                out.extend(branch.writes(view, task.config, name, first + index))
        return out

    def update_view(self, writes: Writes) -> Any:
        """A task's update as streamed: one dict, or a list of one-key dicts when the task
        wrote a key more than once (a ToolNode's Commands), as LangGraph shows it."""
        pairs = [(k, v) for k, v in writes if k in self.state_keys]
        if len({k for k, _ in pairs}) < len(pairs):
            return [{k: v} for k, v in pairs]
        return dict(pairs) or None


def _start_node(writer: _Writers, input_keys: tuple[str, ...]) -> NodeSpec:
    allowed = set(input_keys)

    def to_writes(value: Any, task: Task) -> Writes:
        if isinstance(value, Command):
            return writer.edges(writer.command(value, START), task, START)
        items = update_items(value, START) if value is not None else []
        return writer.edges([(k, v) for k, v in items if k in allowed], task, START)

    return NodeSpec(
        name=START,
        triggers=(START,),
        read=lambda values: values.get(START),
        call=lambda value, config: value,
        to_writes=to_writes,
        pure=not writer.graph.branches.get(START),
    )


def _user_node(
    graph: StateGraph, node: NodeDef, writer: _Writers, state_keys: tuple[str, ...]
) -> NodeSpec:
    triggers = [trigger_channel(node.name)]
    triggers += [join_channel(s, e) for s, e in graph.join_edges if e == node.name]
    schema = node.input_schema or graph.state_schema
    keys = tuple(schema_hints(schema))
    adapter = SchemaAdapter(schema, keys)
    action = node.action
    name = node.name
    subgraph = action if hasattr(action, "spec") and hasattr(action, "invoke") else None
    call: Callable[[Any, dict[str, Any]], Any]
    acall = None
    if subgraph is not None:
        call = subgraph.invoke
        acall = subgraph.ainvoke
        is_async = False
    else:
        call = adapt(action)
        is_async = is_async_callable(action)
        acall = getattr(action, "tether_acall", None)  # sync nodes with an async twin (ToolNode)
    return NodeSpec(
        name=name,
        triggers=tuple(triggers),
        read=adapter.build,
        call=call,
        to_writes=lambda result, task: writer.node_writes(result, task, name),
        is_async=is_async,
        acall=acall,
        retry_policy=node.retry_policy,
        subgraph=subgraph,
        metadata=node.metadata,
        cache_policy=node.cache_policy,
        cache_ns=cache_namespace(action, name) if node.cache_policy is not None else (),
    )
