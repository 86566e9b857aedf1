"""The compiled form of a ``StateGraph``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tether.engine.pregel import CompiledGraph

if TYPE_CHECKING:
    from tether.graph.state import StateGraph


class CompiledStateGraph(CompiledGraph):
    """A ``StateGraph`` ready to run; ``builder`` is the graph it came from."""

    def __init__(self, spec: Any, *, builder: StateGraph, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.builder = builder
