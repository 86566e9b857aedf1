"""``Runtime[Context]``, ``StreamWriter`` and ``Interrupt`` as LangGraph 1.2.22 defines them."""

import dataclasses
import typing
from typing import Any, TypedDict

from tether.graph import START, StateGraph
from tether.runtime import Runtime
from tether.types import Command, Interrupt, StreamWriter, interrupt


@dataclasses.dataclass
class Context:
    user: str


class State(TypedDict, total=False):
    greeting: str


def greet(state: State, runtime: Runtime[Context], writer: StreamWriter) -> dict[str, Any]:
    writer(f"hello {runtime.context.user}")
    return {"greeting": f"hi {runtime.context.user}"}


def test_runtime_is_generic_over_the_context_schema():
    """LangGraph 1.2.22 accepts ``Runtime[Context]`` at module level (evaluated annotations) and
    gives the node ``runtime.context``; a ``StreamWriter`` argument writes ``custom`` chunks."""
    builder = StateGraph(State, context_schema=Context)
    builder.add_node("greet", greet)
    builder.add_edge(START, "greet")
    graph = builder.compile()

    chunks = list(
        graph.stream({"greeting": "?"}, stream_mode=["custom", "values"], context=Context("ann"))
    )

    assert chunks == [
        ("values", {"greeting": "?"}),
        ("custom", "hello ann"),
        ("values", {"greeting": "hi ann"}),
    ]
    assert typing.get_args(Runtime[Context]) == (Context,)


def test_interrupt_has_langgraphs_fields(saver):
    """LangGraph 1.2.22: ``Interrupt(value, id, response_schema=None)``, repr
    ``Interrupt(value=1, id='x', response_schema=None)``; a stored interrupt reads back equal."""
    assert repr(Interrupt(value=1, id="x")) == "Interrupt(value=1, id='x', response_schema=None)"
    assert Interrupt(1, "x") == Interrupt(value=1, id="x", response_schema=None)

    builder = StateGraph(State)
    builder.add_node("ask", lambda s: {"greeting": interrupt("name?")})
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    raised = graph.invoke({}, config)["__interrupt__"][0]

    stored = graph.get_state(config).interrupts[0]
    assert stored == raised
    assert stored.response_schema is None
    assert graph.invoke(Command(resume="ann"), config) == {"greeting": "ann"}
