"""``StateGraph``: the builder users write graphs with, and its compilation to an engine spec."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from tether.constants import END, RESERVED_NODE_NAMES, START
from tether.errors import InvalidGraphError
from tether.graph.branch import Branch, normalize_path_map
from tether.graph.compiler import compile_spec
from tether.graph.node import adapt, inferred_input_schema, is_async_callable
from tether.graph.schema import schema_hints
from tether.types import CachePolicy, RetryPolicy


@dataclasses.dataclass(slots=True)
class NodeDef:
    """A node as added to the builder."""

    name: str
    action: Any
    input_schema: Any
    retry_policy: tuple[RetryPolicy, ...]
    metadata: dict[str, Any] | None
    destinations: tuple[str, ...] | None
    cache_policy: CachePolicy | None = None


class StateGraph:
    """A graph of nodes that read and update a shared state.

    ``state_schema`` is a TypedDict, dataclass or pydantic model; a key annotated
    ``Annotated[T, reducer]`` merges updates with ``reducer`` instead of replacing the value.
    """

    def __init__(
        self,
        state_schema: Any = None,
        context_schema: Any = None,
        *,
        input_schema: Any = None,
        output_schema: Any = None,
        **kwargs: Any,
    ) -> None:
        input_schema = input_schema or kwargs.pop("input", None)
        output_schema = output_schema or kwargs.pop("output", None)
        context_schema = context_schema or kwargs.pop("config_schema", None)
        if kwargs:
            raise TypeError(f"StateGraph() got unexpected arguments {sorted(kwargs)}")
        if state_schema is None:
            raise InvalidGraphError("StateGraph needs a state schema: StateGraph(MyState)")
        self.state_schema = state_schema
        self.context_schema = context_schema
        self.input_schema = input_schema or state_schema
        self.output_schema = output_schema or state_schema
        self.hints = schema_hints(state_schema)
        self.nodes: dict[str, NodeDef] = {}
        self.edges: set[tuple[str, str]] = set()
        self.join_edges: list[tuple[tuple[str, ...], str]] = []
        self.branches: dict[str, list[Branch]] = {}
        self.compiled = False

    # -- building ----------------------------------------------------------------------------

    def add_node(
        self,
        node: str | Callable[..., Any] | Any,
        action: Callable[..., Any] | Any = None,
        *,
        input_schema: Any = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        metadata: dict[str, Any] | None = None,
        destinations: Sequence[str] | Mapping[str, str] | None = None,
        defer: bool = False,
        cache_policy: CachePolicy | None = None,
        **kwargs: Any,
    ) -> StateGraph:
        """Add a node: ``add_node("name", fn)`` or ``add_node(fn)`` (named after the function)."""
        input_schema = input_schema or kwargs.pop("input", None)
        if kwargs:
            raise TypeError(f"add_node() got unexpected arguments {sorted(kwargs)}")
        if defer:
            raise InvalidGraphError("add_node(defer=True) is not supported by tether yet")
        if not isinstance(node, str):
            action, node = node, _infer_name(node)
        if action is None:
            raise InvalidGraphError(f"add_node({node!r}) needs a function or a compiled graph")
        self._check_new_node(node)
        policies = (
            (retry_policy,) if isinstance(retry_policy, RetryPolicy) else tuple(retry_policy or ())
        )
        dests = tuple(destinations) if destinations is not None else None
        input_schema = input_schema or inferred_input_schema(action)
        self.nodes[node] = NodeDef(
            node, action, input_schema, policies, metadata, dests, cache_policy
        )
        return self

    def _check_new_node(self, name: str) -> None:
        if self.compiled:
            raise InvalidGraphError(
                "this graph is compiled already; build a new StateGraph to change it"
            )
        if name in RESERVED_NODE_NAMES:
            raise InvalidGraphError(f"node name {name!r} is reserved; pick another name")
        if name in self.nodes:
            raise InvalidGraphError(f"node `{name}` already exists; node names must be unique")
        for bad in ("|", ":"):
            if bad in name:
                raise InvalidGraphError(
                    f"node name {name!r} contains {bad!r}, a character reserved for checkpoint "
                    f"namespaces; rename the node"
                )

    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> StateGraph:
        """``a -> b`` runs b after a; ``[a, b] -> c`` runs c once both a and b have run."""
        if isinstance(start_key, str):
            if start_key == END:
                raise InvalidGraphError("END cannot be the start of an edge")
            if end_key == START:
                raise InvalidGraphError("START cannot be the end of an edge")
            self.edges.add((start_key, end_key))
            return self
        starts = tuple(start_key)
        if not starts:
            raise InvalidGraphError(f"add_edge([], {end_key!r}) needs at least one start node")
        if START in starts or END in starts or end_key in (START, END):
            raise InvalidGraphError(
                "a join edge connects nodes; START and END cannot be part of it"
            )
        self.join_edges.append((starts, end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: Mapping[Hashable, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        """After ``source``, call ``path(state)`` to choose the next node(s), END or Sends."""
        if source == END:
            raise InvalidGraphError("END cannot have outgoing conditional edges")
        self.branches.setdefault(source, []).append(Branch(path, normalize_path_map(path_map)))
        return self

    def add_sequence(
        self, nodes: Sequence[Callable[..., Any] | tuple[str, Callable[..., Any]]]
    ) -> StateGraph:
        """Add nodes that run one after another, in the given order."""
        if not nodes:
            raise InvalidGraphError("add_sequence needs at least one node")
        previous: str | None = None
        for item in nodes:
            name, action = item if isinstance(item, tuple) else (_infer_name(item), item)
            self.add_node(name, action)
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    def set_entry_point(self, key: str) -> StateGraph:
        return self.add_edge(START, key)

    def set_conditional_entry_point(
        self,
        path: Callable[..., Any],
        path_map: Mapping[Hashable, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> StateGraph:
        return self.add_edge(key, END)

    # -- compiling ---------------------------------------------------------------------------

    def validate(self, interrupt: Sequence[str] = ()) -> None:
        """Raise ``InvalidGraphError`` naming the first problem found."""
        known = set(self.nodes)
        for start, end in sorted(self.edges):
            if start != START and start not in known:
                raise InvalidGraphError(
                    f"edge {start!r} -> {end!r} starts at unknown node {start!r}"
                )
            if end != END and end not in known:
                raise InvalidGraphError(f"edge {start!r} -> {end!r} ends at unknown node {end!r}")
        for starts, end in self.join_edges:
            for name in (*starts, end):
                if name not in known:
                    raise InvalidGraphError(
                        f"join edge {list(starts)} -> {end!r} names unknown node {name!r}"
                    )
        for source, branches in self.branches.items():
            if source != START and source not in known:
                raise InvalidGraphError(f"conditional edge starts at unknown node {source!r}")
            for branch in branches:
                for target in branch.targets() or ():
                    if target != END and target not in known:
                        raise InvalidGraphError(
                            f"conditional edge from {source!r} maps to unknown node {target!r}"
                        )
        if not any(s == START for s, _ in self.edges) and START not in self.branches:
            raise InvalidGraphError(
                "the graph has no entry point: add add_edge(START, '<first node>') or "
                "set_entry_point('<first node>')"
            )
        for name in interrupt:
            if name != "*" and name not in known:
                raise InvalidGraphError(
                    f"interrupt on unknown node {name!r}; nodes: {sorted(known)}"
                )

    def compile(
        self,
        checkpointer: Any = None,
        *,
        store: Any = None,
        cache: Any = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        debug: bool = False,
        name: str | None = None,
        busy_policy: str = "reject",
        busy_timeout: float = 60.0,
    ) -> Any:
        """Check the graph and return a ``CompiledStateGraph`` ready to run.

        ``busy_policy`` says what a run does when another run holds its thread (savers with
        leases): ``"reject"`` raises ``ThreadBusy``, ``"wait"`` waits up to ``busy_timeout``
        seconds. Both can be overridden per call: ``invoke(..., busy_policy="wait")``.
        """
        from tether.graph.compiled import CompiledStateGraph
        from tether.graph.runnable import runnable_class

        names = [*_as_list(interrupt_before), *_as_list(interrupt_after)]
        self.validate(names)
        spec = compile_spec(self)
        self.compiled = True
        if checkpointer not in (None, True, False) and hasattr(checkpointer, "with_allowlist"):
            checkpointer = _allow_schema_types(checkpointer, self)
        if hasattr(getattr(cache, "serde", None), "with_allowlist"):
            cache = _allow_schema_types(cache, self)  # cached writes hold state values too
        return runnable_class(CompiledStateGraph)(
            spec,
            builder=self,
            checkpointer=checkpointer,
            store=store,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            debug=debug,
            name=name,
            context_schema=self.context_schema,
            busy_policy=busy_policy,
            busy_timeout=busy_timeout,
            cache=cache,
        )


def _allow_schema_types(checkpointer: Any, graph: StateGraph) -> Any:
    """Let the saver (or cache) store the classes the state schemas mention (the serializer's
    allowlist)."""
    try:
        from tether.checkpoint.serde import allowlist_from_schema
    except ImportError:
        return checkpointer
    types: set[Any] = set()
    node_schemas = {n.input_schema for n in graph.nodes.values() if n.input_schema is not None}
    for schema in {graph.state_schema, graph.input_schema, graph.output_schema, *node_schemas}:
        types |= set(allowlist_from_schema(schema))
    if not types:
        return checkpointer
    checkpointer.serde = checkpointer.serde.with_allowlist(types)
    return checkpointer


def _as_list(value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _infer_name(action: Any) -> str:
    name = getattr(action, "name", None) or getattr(action, "__name__", None)
    if not isinstance(name, str) or name == "<lambda>":
        raise InvalidGraphError(
            f"cannot infer a node name from {action!r}; use add_node('name', action)"
        )
    return name


__all__ = ["StateGraph", "adapt", "is_async_callable"]
