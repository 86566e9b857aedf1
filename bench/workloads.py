"""The benchmark workloads, written once against an ``Api`` so they run on tether and LangGraph.

An ``Api`` bundles what a graph author imports (``StateGraph``, ``START``, ``END``,
``MessagesState``, ``add_messages``) and the saver classes. ``load_api("tether")`` and
``load_api("langgraph")`` build one from each library's modules; the graph code below never
imports either library itself, so both sides run byte-for-byte the same user code.

Workloads (from the benchmark issue):

- W1 ``build_linear``: 10 nodes in a line, each increments ``count`` and sets ``last``.
- W2 ``build_chat``: ``START -> chat -> END`` over ``MessagesState``; each turn sends one
  ~200-byte user message and the node answers with one ~200-byte assistant message.
- W2-add ``build_chat_append``: the same conversation over a plain ``operator.add`` list; each
  turn invokes ``{"messages": []}`` (an empty append) and the node appends both messages.
- W3 ``build_fanout``: ``start`` fans out to 8 parallel nodes that append to a reducer key,
  then ``add_edge([...8 nodes...], "join")``.
"""

from __future__ import annotations

import importlib
import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

LINEAR_NODES = 10
FANOUT_WIDTH = 8
MESSAGE_BYTES = 200


@dataclass(frozen=True)
class Api:
    """One library's graph-building surface, as a graph author would import it."""

    label: str
    library: str
    StateGraph: Any
    START: str
    END: str
    MessagesState: Any
    add_messages: Callable[..., Any]
    InMemorySaver: Any
    SqliteSaver: Any | None
    sqlite_unavailable: str | None = None
    RedisSaver: Any | None = None
    redis_unavailable: str | None = None


_MODULES = {
    "tether": ("tether.graph", "tether.checkpoint.memory", "tether.checkpoint.sqlite"),
    "langgraph": ("langgraph.graph", "langgraph.checkpoint.memory", "langgraph.checkpoint.sqlite"),
}
_REDIS_MODULES = {"tether": "tether.checkpoint.redis", "langgraph": "langgraph.checkpoint.redis"}


def load_api(library: str, label: str | None = None) -> Api:
    """Import ``library``'s graph and saver modules; SQLite is optional (None if missing).

    Raises ImportError when the graph or in-memory saver module cannot be imported.
    """
    graph_mod, memory_mod, sqlite_mod = _MODULES[library]
    graph = importlib.import_module(graph_mod)
    memory = importlib.import_module(memory_mod)
    sqlite_saver: Any | None = None
    why_not: str | None = None
    try:
        sqlite_saver = importlib.import_module(sqlite_mod).SqliteSaver
    except (ImportError, AttributeError) as exc:
        why_not = f"{sqlite_mod}: {type(exc).__name__}: {exc}"
    redis_saver, redis_why_not = _optional(_REDIS_MODULES[library], "RedisSaver")
    return Api(
        label=label or library,
        library=library,
        StateGraph=graph.StateGraph,
        START=graph.START,
        END=graph.END,
        MessagesState=graph.MessagesState,
        add_messages=graph.add_messages,
        InMemorySaver=memory.InMemorySaver,
        SqliteSaver=sqlite_saver,
        sqlite_unavailable=why_not,
        RedisSaver=redis_saver,
        redis_unavailable=redis_why_not,
    )


def _optional(module: str, name: str) -> tuple[Any | None, str | None]:
    """``(module.name, None)``, or ``(None, why)`` when it does not import."""
    try:
        return getattr(importlib.import_module(module), name), None
    except (ImportError, AttributeError) as exc:
        return None, f"{module}: {type(exc).__name__}: {exc}"


# --- W1: linear graph -------------------------------------------------------------------------


class LinearState(TypedDict):
    count: int
    last: str


def _linear_node(i: int) -> Callable[[LinearState], dict[str, Any]]:
    def node(state: LinearState) -> dict[str, Any]:
        return {"count": state["count"] + 1, "last": f"node-{i}"}

    node.__name__ = f"n{i}"
    return node


def build_linear(api: Api, checkpointer: Any | None) -> Any:
    """W1: ``START -> n0 -> ... -> n9 -> END``, compiled with ``checkpointer``."""
    builder = api.StateGraph(LinearState)
    names = [f"n{i}" for i in range(LINEAR_NODES)]
    for i, name in enumerate(names):
        builder.add_node(name, _linear_node(i))
    builder.add_edge(api.START, names[0])
    for prev, nxt in itertools.pairwise(names):
        builder.add_edge(prev, nxt)
    builder.add_edge(names[-1], api.END)
    return builder.compile(checkpointer=checkpointer)


def linear_input(i: int) -> dict[str, Any]:
    """The W1 input for invoke ``i``."""
    return {"count": i, "last": ""}


def check_linear(out: Any, i: int) -> None:
    """Fail loudly if a W1 run did not pass through all nodes (guards against a no-op engine)."""
    if out["count"] != i + LINEAR_NODES or out["last"] != f"node-{LINEAR_NODES - 1}":
        raise AssertionError(f"W1 invoke {i}: unexpected output {out!r}")


# --- W2: chat on one thread -------------------------------------------------------------------


def message_text(role: str, turn: int) -> str:
    """A deterministic ~200-character message body."""
    head = f"{role} turn {turn}: "
    filler = "lorem ipsum dolor sit amet " * (MESSAGE_BYTES // 27 + 1)
    return (head + filler)[:MESSAGE_BYTES]


def _chat_node(state: Any) -> dict[str, Any]:
    turn = len(state["messages"]) // 2
    return {"messages": [{"role": "assistant", "content": message_text("assistant", turn)}]}


def build_chat(api: Api, checkpointer: Any | None) -> Any:
    """W2: ``START -> chat -> END`` over the library's ``MessagesState``."""
    builder = api.StateGraph(api.MessagesState)
    builder.add_node("chat", _chat_node)
    builder.add_edge(api.START, "chat")
    builder.add_edge("chat", api.END)
    return builder.compile(checkpointer=checkpointer)


def chat_input(turn: int) -> dict[str, Any]:
    """The W2 input for ``turn`` (0-based): one user message."""
    return {"messages": [{"role": "user", "content": message_text("user", turn)}]}


def check_chat(out: Any, turn: int) -> None:
    """Fail loudly unless the thread holds two messages per turn so far."""
    if len(out["messages"]) != 2 * (turn + 1):
        n = len(out["messages"])
        raise AssertionError(f"W2 turn {turn}: expected {2 * (turn + 1)} messages, got {n}")


class AppendChat(TypedDict):
    messages: Annotated[list[dict[str, str]], operator.add]


def _append_node(state: AppendChat) -> dict[str, Any]:
    turn = len(state["messages"]) // 2
    return {
        "messages": [
            {"role": "user", "content": message_text("user", turn)},
            {"role": "assistant", "content": message_text("assistant", turn)},
        ]
    }


def build_chat_append(api: Api, checkpointer: Any | None) -> Any:
    """W2-add: ``START -> chat -> END`` over an ``operator.add`` list of message dicts."""
    builder = api.StateGraph(AppendChat)
    builder.add_node("chat", _append_node)
    builder.add_edge(api.START, "chat")
    builder.add_edge("chat", api.END)
    return builder.compile(checkpointer=checkpointer)


def chat_append_input(turn: int) -> dict[str, Any]:
    """The W2-add input: an empty list, which ``operator.add`` appends to nothing."""
    return {"messages": []}


# --- W3: fan-out / join -----------------------------------------------------------------------


class FanoutState(TypedDict):
    seed: int
    results: Annotated[list[str], operator.add]
    total: int


def _fan_start(state: FanoutState) -> dict[str, Any]:
    return {"total": 0}


def _branch(i: int) -> Callable[[FanoutState], dict[str, Any]]:
    def node(state: FanoutState) -> dict[str, Any]:
        return {"results": [f"b{i}:{state['seed']}"]}

    node.__name__ = f"b{i}"
    return node


def _join(state: FanoutState) -> dict[str, Any]:
    return {"total": len(state["results"])}


def build_fanout(api: Api, checkpointer: Any | None) -> Any:
    """W3: ``start`` -> 8 parallel branches -> ``join`` (a waiting edge on all 8)."""
    builder = api.StateGraph(FanoutState)
    builder.add_node("start", _fan_start)
    branches = [f"b{i}" for i in range(FANOUT_WIDTH)]
    for i, name in enumerate(branches):
        builder.add_node(name, _branch(i))
        builder.add_edge("start", name)
    builder.add_node("join", _join)
    builder.add_edge(api.START, "start")
    builder.add_edge(branches, "join")
    builder.add_edge("join", api.END)
    return builder.compile(checkpointer=checkpointer)


def fanout_input(i: int) -> dict[str, Any]:
    """The W3 input for invoke ``i``."""
    return {"seed": i, "results": []}


def check_fanout(out: Any, i: int) -> None:
    """Fail loudly unless all 8 branches ran and the join saw them."""
    if out["total"] != FANOUT_WIDTH or len(out["results"]) != FANOUT_WIDTH:
        raise AssertionError(f"W3 invoke {i}: unexpected output {out!r}")
