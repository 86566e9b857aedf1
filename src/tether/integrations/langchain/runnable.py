"""The compiled graph as a LangChain ``Runnable``: schemas and drawing on top of tether's runs.

``runnable_class(cls)`` returns ``cls`` with LangChain's ``Runnable`` as a further base, so
``with_config``, ``astream_events``, ``as_tool``, ``pipe``/``|`` and the rest come from
LangChain, while ``invoke``/``stream``/``batch`` (and twins) stay tether's own: they take a
``RunnableConfig`` (``callbacks``, ``tags``, ``metadata``, ``run_name``, ``run_id``, ...) and
report the run to its callbacks (``tracing``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from typing import Any

from langchain_core.runnables import Runnable
from langchain_core.runnables.graph import Graph
from pydantic import BaseModel, ConfigDict, create_model

from tether.constants import END, START


class GraphSurface:
    """What a compiled graph adds as a ``Runnable``: its schemas and its drawing.

    Comes first in the class's bases, so it overrides ``Runnable``'s defaults; tether's
    ``invoke``/``stream`` come from the graph class, before ``Runnable``'s.
    """

    def get_input_schema(self: Any, config: Any = None) -> Any:
        builder = getattr(self, "builder", None)
        if builder is None:
            return Runnable.get_input_schema(self, config)
        return _model_for(builder.input_schema, builder, f"{self.get_name()}Input")

    def get_output_schema(self: Any, config: Any = None) -> Any:
        builder = getattr(self, "builder", None)
        if builder is None:
            return Runnable.get_output_schema(self, config)
        return _model_for(builder.output_schema, builder, f"{self.get_name()}Output")

    @property
    def InputType(self: Any) -> Any:
        return _entry_annotation(self, "input")

    @property
    def OutputType(self: Any) -> Any:
        return _entry_annotation(self, "output")

    def get_graph(self: Any, config: Any = None, *, xray: int | bool = False) -> Graph:
        """The graph's nodes and edges as LangChain's ``Graph`` (``draw_mermaid()``, ...)."""
        builder = getattr(self, "builder", None)
        if builder is None:  # an @entrypoint: one node
            return _entrypoint_graph(next(n for n in self.spec.nodes if n != START))
        return _builder_graph(builder, xray)


def _entry_annotation(graph: Any, which: str) -> Any:
    """An entrypoint's input (first parameter) or output (return) annotation, else ``Any``."""
    func = getattr(graph, "func", None)
    if func is None:
        return Any
    try:
        sig = inspect.signature(func)
        hints = typing.get_type_hints(func)
    except (TypeError, ValueError, NameError):
        return Any
    if which == "output":
        return hints.get("return", Any)
    first = next(iter(sig.parameters), None)
    return hints.get(first, Any) if first is not None else Any


def _model_for(schema: Any, builder: Any, name: str) -> type[BaseModel]:
    """A pydantic model of a state schema's keys (the schema itself when it is one)."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema
    from tether.graph.schema import managed_keys, schema_hints

    hints = schema_hints(schema)
    managed = managed_keys(hints)
    required = _required_keys(schema)
    fields: dict[str, Any] = {
        key: (_plain(hint), ... if key in required else None)
        for key, hint in hints.items()
        if key not in managed
    }
    title = getattr(schema, "__name__", name)
    config = ConfigDict(arbitrary_types_allowed=True, title=title)
    return create_model(name, __config__=config, **fields)


def _required_keys(schema: Any) -> frozenset[str]:
    """Keys a caller must give: a TypedDict's required keys, a dataclass's fields without
    defaults."""
    if dataclasses.is_dataclass(schema):
        missing = dataclasses.MISSING
        return frozenset(
            f.name
            for f in dataclasses.fields(schema)
            if f.default is missing and f.default_factory is missing
        )
    return frozenset(getattr(schema, "__required_keys__", ()))


def _plain(hint: Any) -> Any:
    """``hint`` without ``Annotated`` reducers, which pydantic cannot read."""
    if typing.get_origin(hint) is typing.Annotated:
        return typing.get_args(hint)[0]
    return hint


def _builder_graph(builder: Any, xray: int | bool = False) -> Graph:
    """The drawing of a ``StateGraph``; with ``xray``, subgraph nodes drawn with their insides
    (``xray=N``: N levels deep), as LangGraph draws them."""
    graph = Graph()
    graph.add_node(None, START)
    inside: dict[str, tuple[list[str], list[str]]] = {}
    for name, node in builder.nodes.items():
        sub = getattr(node.action, "builder", None) if xray else None
        if sub is None:
            graph.add_node(None, name, metadata=node.metadata)
        else:
            deeper = xray if xray is True else int(xray) - 1
            inside[name] = _inline(graph, name, _builder_graph(sub, deeper))
    graph.add_node(None, END)
    drawn = {(e.source, e.target, e.conditional) for e in graph.edges}

    def edge(source: str, target: str, conditional: bool) -> None:
        if target not in graph.nodes and target not in inside:
            return
        for start in inside[source][1] if source in inside else [source]:
            for stop in inside[target][0] if target in inside else [target]:
                drawn.add((start, stop, conditional))

    for source, target in sorted(builder.edges):
        edge(source, target, False)
    for starts, target in builder.join_edges:
        for source in starts:
            edge(source, target, False)
    for source, branches in builder.branches.items():
        for branch in branches:
            for target in _branch_targets(branch, builder):
                edge(source, target, True)
    for name, node in builder.nodes.items():
        for target in node.destinations or ():
            edge(name, target, True)
    _end_dangling(builder, edge)
    graph.edges = []
    for source, target, conditional in sorted(drawn):  # LangGraph draws them in this order
        graph.add_edge(graph.nodes[source], graph.nodes[target], conditional=conditional)
    return graph


def _inline(graph: Graph, name: str, sub: Graph) -> tuple[list[str], list[str]]:
    """Draw ``sub`` inside ``graph`` as node ``name``'s insides; return the ids an edge into
    ``name`` reaches and the ids an edge out of it leaves from."""
    graph.extend(sub, prefix=name)
    start, end = f"{name}:{START}", f"{name}:{END}"
    entries = [e.target for e in graph.edges if e.source == start]
    exits = [e.source for e in graph.edges if e.target == end]
    graph.remove_node(graph.nodes[start])
    graph.remove_node(graph.nodes[end])
    return entries, exits


def _end_dangling(builder: Any, edge: Any) -> None:
    """A node with no way out ends the graph (LangGraph draws it so)."""
    has_exit = {source for source, _ in builder.edges} | set(builder.branches)
    has_exit |= {s for starts, _ in builder.join_edges for s in starts}
    has_exit |= {name for name, node in builder.nodes.items() if node.destinations}
    for name in builder.nodes:
        if name not in has_exit:
            edge(name, END, False)


def _branch_targets(branch: Any, builder: Any) -> list[str]:
    targets = branch.targets()
    if targets is not None:
        return list(targets)
    hint = _return_hint(branch.path)
    if typing.get_origin(hint) is typing.Literal:
        return [str(value) for value in typing.get_args(hint)]
    return [*builder.nodes, END]


def _return_hint(func: Any) -> Any:
    try:
        return typing.get_type_hints(func).get("return")
    except (TypeError, NameError):
        return None


def _entrypoint_graph(name: str) -> Graph:
    """An entrypoint's drawing, as LangGraph draws it: its node, then start and end."""
    graph = Graph()
    node = graph.add_node(None, name)
    start = graph.add_node(None, START)
    end = graph.add_node(None, END)
    graph.add_edge(start, node)
    graph.add_edge(node, end, conditional=True)
    return graph


@functools.cache
def runnable_class(cls: type) -> type:
    """``cls`` as a LangChain ``Runnable`` (same name, a subclass of ``cls``)."""
    return type(cls.__name__, (GraphSurface, cls, Runnable), {"__module__": cls.__module__})
