"""What the engine needs to know about a compiled graph: its channels and nodes.

``tether.graph`` builds these from a ``StateGraph``; the engine never sees the builder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tether.engine.channels import Channel
from tether.types import RetryPolicy

if TYPE_CHECKING:
    from tether.engine.task import Task

Writes = list[tuple[str, Any]]


@dataclasses.dataclass(slots=True)
class NodeSpec:
    """One node: when it runs, what it reads, what it calls and how its result becomes writes.

    - ``triggers``: channels whose new versions make the node run.
    - ``read``: builds the node's input from the current state values (a dict of state keys).
    - ``call``: the user function, already adapted to ``call(input, config)``; may return an
      awaitable when ``is_async``.
    - ``to_writes``: turns the function's return value into channel writes, edges included;
      gets the task so conditional edges can read the state with the task's own writes applied.
    - ``subgraph``: the compiled graph when the node is one (it then runs in its own namespace).
    - ``pure``: see below.
    """

    name: str
    triggers: tuple[str, ...]
    read: Callable[[Mapping[str, Any]], Any]
    call: Callable[[Any, dict[str, Any]], Any]
    to_writes: Callable[[Any, Task], Writes]
    is_async: bool = False
    acall: Callable[[Any, dict[str, Any]], Any] | None = None
    """An async twin of ``call`` (subgraphs have both); used by the async driver when set."""
    retry_policy: Sequence[RetryPolicy] = ()
    subgraph: Any = None
    metadata: Mapping[str, Any] | None = None
    cache_policy: Any = None
    """A ``CachePolicy``: the node's writes are cached when the graph has a cache."""
    cache_ns: tuple[str, ...] = ()
    pure: bool = False
    """Runs no user code (``START`` without conditional edges: it only maps the input to
    channels), so the checkpoint before it may be committed together with the one after it."""


@dataclasses.dataclass(slots=True)
class GraphSpec:
    """A compiled graph as the engine runs it."""

    channels: dict[str, Channel]
    nodes: dict[str, NodeSpec]
    state_keys: tuple[str, ...]
    """Channels that hold state (what ``values`` shows)."""
    input_channel: str
    output_keys: tuple[str, ...]
    build_output: Callable[[Mapping[str, Any]], Any]
    """Turns the state values into what invoke returns (dict or the output schema)."""
    build_values: Callable[[Mapping[str, Any]], Any]
    """Turns the state values into ``StateSnapshot.values``."""
    input_writes: Callable[[Any], Writes]
    """Turns graph input into writes (used by ``as_node="__input__"``)."""
    command_writes: Callable[[Any], Writes]
    """Turns a ``Command`` given as input (update/goto) into writes."""
    update_view: Callable[[Writes], Any]
    """Turns a task's writes into what the ``updates`` stream shows for it."""
    trigger_to_nodes: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    managed: dict[str, Callable[[int, int], Any]] = dataclasses.field(default_factory=dict)
    """Managed values: key -> f(step, stop), computed into each task's input, never stored."""
