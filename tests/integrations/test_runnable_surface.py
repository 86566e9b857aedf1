"""The compiled graph (and an ``@entrypoint``) as a LangChain ``Runnable``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, TypedDict

import pytest

pytest.importorskip("langchain_core")

from langchain_core.runnables import Runnable, RunnableLambda  # noqa: E402

from fixtures.lc_graphs import RunTreeRecorder  # noqa: E402
from tether.checkpoint.memory import InMemorySaver  # noqa: E402
from tether.func import entrypoint  # noqa: E402
from tether.graph import END, START, StateGraph  # noqa: E402

SRC = str(Path(__file__).parents[2] / "src")


class Count(TypedDict):
    n: int


def counter(**compile_kwargs: Any) -> Any:
    def bump(state: Count) -> dict[str, int]:
        return {"n": state["n"] + 1}

    graph = StateGraph(Count)
    graph.add_node("bump", bump)
    graph.add_edge(START, "bump")
    graph.add_edge("bump", END)
    return graph.compile(**compile_kwargs)


def test_a_compiled_graph_and_an_entrypoint_are_runnables() -> None:
    @entrypoint()
    def double(x: int) -> int:
        return 2 * x

    assert isinstance(counter(), Runnable)
    assert isinstance(double, Runnable)
    assert double.invoke(4) == 8
    drawing = double.get_graph().draw_mermaid()
    assert "__start__ --> double" in drawing and "double -.-> __end__" in drawing


def test_with_config_passes_tags_metadata_and_callbacks_to_the_run() -> None:
    recorder = RunTreeRecorder()
    bound = counter().with_config(tags=["mine"], metadata={"user": "u1"}, callbacks=[recorder])
    assert bound.invoke({"n": 1}) == {"n": 2}
    graph_run, node_run = recorder.runs
    assert graph_run["name"] == "LangGraph" and graph_run["tags"] == ["mine"]
    assert node_run["name"] == "bump" and node_run["parent"] == "LangGraph"
    assert node_run["tags"] == ["graph:step:1", "mine"]
    assert "user" in node_run["metadata"] and "langgraph_node" in node_run["metadata"]


def test_run_name_names_the_graph_run_and_a_bound_graph_reaches_get_state() -> None:
    recorder = RunTreeRecorder()
    graph = counter(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}, "run_name": "my-run", "callbacks": [recorder]}
    graph.invoke({"n": 1}, config)
    assert recorder.runs[0]["name"] == "my-run"
    bound = graph.with_config(configurable={"thread_id": "t"})
    assert bound.get_state({"configurable": {"thread_id": "t"}}).values == {"n": 2}


def test_pipe_batch_and_abatch_with_configs() -> None:
    chain = counter() | RunnableLambda(lambda state: state["n"] * 10)
    assert chain.invoke({"n": 1}) == 20
    graph = counter()
    assert graph.batch([{"n": 1}, {"n": 5}], [{"tags": ["a"]}, {"tags": ["b"]}]) == [
        {"n": 2},
        {"n": 6},
    ]
    assert asyncio.run(graph.abatch([{"n": 0}, {"n": 9}])) == [{"n": 1}, {"n": 10}]


def test_input_and_output_json_schemas_follow_the_state_schema() -> None:
    class In(TypedDict):
        question: str

    class Out(TypedDict):
        answer: str

    class State(In, Out):
        scratch: list[str]

    graph = StateGraph(State, input_schema=In, output_schema=Out)
    graph.add_node("answer", lambda state: {"answer": state["question"].upper()})
    graph.add_edge(START, "answer")
    compiled = graph.compile()
    assert compiled.get_input_jsonschema()["properties"].keys() == {"question"}
    assert compiled.get_input_jsonschema()["required"] == ["question"]
    assert compiled.get_output_jsonschema()["properties"].keys() == {"answer"}
    assert compiled.get_input_schema().model_validate({"question": "q"}).question == "q"


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_as_tool_runs_the_graph() -> None:
    tool = counter().as_tool(name="bump_counter", description="Add one to n.")
    assert tool.name == "bump_counter"
    assert tool.invoke({"n": 41}) == {"n": 42}


def test_conditional_edges_draw_dashed_to_their_targets() -> None:
    graph = StateGraph(Count)
    graph.add_node("a", lambda s: s)
    graph.add_node("b", lambda s: s)
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", lambda s: "b" if s["n"] else END, {"b": "b", END: END})
    drawing = graph.compile().get_graph().draw_mermaid()
    assert "a -.-> b;" in drawing and "a -.-> __end__;" in drawing and "b --> __end__;" in drawing


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
    )


def test_importing_tether_graph_loads_no_runnable_machinery() -> None:
    """The Runnable surface and callbacks load on the first compile, not on import.

    (``tether.types`` does import ``langchain_core.messages`` when it is installed, so that
    ``Command`` is a tool output LangChain recognises.)
    """
    done = _run(
        """
        import sys
        import tether.graph, tether.func, tether.types, tether.checkpoint.memory
        heavy = ("langchain_core.runnables", "langchain_core.callbacks", "tether.integrations")
        print(sorted(m for m in sys.modules if m.startswith(heavy)))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_langchain_graphs_run_and_messages_mode_says_what_to_install() -> None:
    done = _run(
        """
        import sys
        sys.modules["langchain_core"] = None  # as if it were not installed
        from typing import TypedDict
        from tether.graph import StateGraph, START
        from tether.errors import ConfigurationError

        class S(TypedDict):
            n: int

        g = StateGraph(S)
        g.add_node("bump", lambda s: {"n": s["n"] + 1})
        g.add_edge(START, "bump")
        graph = g.compile()
        print(graph.invoke({"n": 1}), type(graph).__mro__[-2].__name__)
        try:
            list(graph.stream({"n": 1}, stream_mode="messages"))
        except ConfigurationError as exc:
            print("error:", exc)
        """
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()
    assert first == "{'n': 2} CompiledGraph"
    assert second.startswith("error:") and "langchain-core" in second


def test_batch_can_return_errors_instead_of_raising() -> None:
    graph = counter()
    results = graph.batch([{"n": 1}, {"n": "x"}], return_exceptions=True)
    assert results[0] == {"n": 2} and isinstance(results[1], TypeError)
    results = asyncio.run(graph.abatch([{"n": "x"}, {"n": 1}], return_exceptions=True))
    assert isinstance(results[0], TypeError) and results[1] == {"n": 2}
    with pytest.raises(TypeError):
        graph.batch([{"n": "x"}])
