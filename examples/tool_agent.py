"""A tool-calling chat agent on SQLite: killed mid-run, resumed, rewound and forked.

The agent is a plain ``tether.graph`` loop over LangChain messages: ``agent`` asks a chat model
(langchain-core's ``FakeMessagesListChatModel``, scripted so the run is deterministic), which
answers with an ``AIMessage`` carrying ``tool_calls``; ``tools`` runs them (LangChain ``@tool``
functions) and replies with ``ToolMessage``s; the loop ends when the model answers without tool
calls.

1. A child process runs the agent; the second ``tools`` step kills its process with SIGKILL.
2. A fresh process resumes the thread from tool_agent.db: finished steps do not run again.
3. Rewind: run again from the checkpoint before the first tool call (``get_state_history``).
4. Fork: ``update_state`` on that old checkpoint changes the model's tool call (Paris -> Tokyo),
   and the fork runs to its own answer; the original branch is unchanged.

Every node call is appended to a side-effect log next to the database, so the counts show what
really ran. (The same script on LangGraph 1.2, imports changed, re-runs one more agent and tools
step on resume: its default durability writes a checkpoint while the next step already runs, so
the SIGKILL loses it. tether's default stores each step before the next starts.) Needs langchain-core (``pip install "tether[langchain]"``). POSIX only (SIGKILL).

Run: python examples/tool_agent.py [--db PATH]   (PATH defaults to ./tool_agent.db)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from tether.checkpoint.sqlite import SqliteSaver
from tether.graph import END, START, MessagesState, StateGraph

THREAD = {"configurable": {"thread_id": "trip-planner"}}
QUESTION = "What's the weather in Paris, in Fahrenheit, and how many people live there?"

# --- tools -------------------------------------------------------------------------------------

WEATHER_C = {"Paris": 18, "Tokyo": 22}
POPULATION = {"Paris": "2.1 million", "Tokyo": "14 million"}


@tool
def get_weather(city: str) -> int:
    """Today's temperature in a city, in degrees Celsius."""
    return WEATHER_C[city]


@tool
def get_population(city: str) -> str:
    """How many people live in a city."""
    return POPULATION[city]


@tool
def to_fahrenheit(celsius: float) -> float:
    """Convert degrees Celsius to Fahrenheit."""
    return round(celsius * 9 / 5 + 32, 1)


TOOLS = {t.name: t for t in (get_weather, get_population, to_fahrenheit)}

# --- the scripted chat model --------------------------------------------------------------------


def scripted_reply(messages: list[BaseMessage]) -> AIMessage:
    """What the 'model' says next, decided by the conversation so far (deterministic)."""
    turn = sum(isinstance(m, AIMessage) for m in messages)
    results = {m.name: m.content for m in messages if isinstance(m, ToolMessage)}
    if turn == 0:
        calls = [("get_weather", {"city": "Paris"}), ("get_population", {"city": "Paris"})]
        return AIMessage(content="", tool_calls=tool_calls(calls, turn))
    if turn == 1:
        celsius = float(results["get_weather"])
        return AIMessage(
            content="", tool_calls=tool_calls([("to_fahrenheit", {"celsius": celsius})], turn)
        )
    city = next(m for m in messages if isinstance(m, AIMessage)).tool_calls[0]["args"]["city"]
    return AIMessage(
        content=f"{city}: {results['to_fahrenheit']} F today, population {results['get_population']}."
    )


def tool_calls(calls: list[tuple[str, dict[str, Any]]], turn: int) -> list[dict[str, Any]]:
    return [
        {"name": n, "args": a, "id": f"call_{turn}_{i}", "type": "tool_call"}
        for i, (n, a) in enumerate(calls)
    ]


def chat_model(messages: list[BaseMessage]) -> FakeMessagesListChatModel:
    return FakeMessagesListChatModel(responses=[scripted_reply(messages)])


# --- the graph ---------------------------------------------------------------------------------


def log_call(db: Path, node: str) -> int:
    """Append the node's name to the side-effect log; return how often it has run, this included."""
    log = db.with_name(db.name + ".calls.log")
    with log.open("a") as f:
        f.write(node + "\n")
    return node_calls(db)[node]


def node_calls(db: Path) -> Counter[str]:
    log = db.with_name(db.name + ".calls.log")
    return Counter(log.read_text().split()) if log.exists() else Counter()


def build(saver: SqliteSaver, db: Path, crash: bool = False) -> Any:
    def agent(state: MessagesState) -> dict[str, Any]:
        log_call(db, "agent")
        return {"messages": [chat_model(state["messages"]).invoke(state["messages"])]}

    def tools(state: MessagesState) -> dict[str, Any]:
        calls = log_call(db, "tools")
        if crash and calls == 2:
            print("  tools: killing this process now (SIGKILL)", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        last = state["messages"][-1]
        replies = [
            ToolMessage(
                str(TOOLS[c["name"]].invoke(c["args"])), tool_call_id=c["id"], name=c["name"]
            )
            for c in last.tool_calls
        ]
        return {"messages": replies}

    def route(state: MessagesState) -> str:
        return "tools" if state["messages"][-1].tool_calls else END

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=saver)


# --- the processes -----------------------------------------------------------------------------


def child(mode: str, db: Path) -> None:
    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = build(saver, db, crash=mode == "run")
        if mode == "run":
            graph.invoke({"messages": [HumanMessage(QUESTION)]}, THREAD)
            raise SystemExit("the run should have been killed in its second tools step")
        answer = graph.invoke(None, THREAD)["messages"][-1]
        print(f"  resumed in process {os.getpid()}; answer: {answer.content}")


def spawn(mode: str, db: Path) -> int:
    command = [sys.executable, os.path.abspath(__file__), "--child", mode, "--db", str(db)]
    return subprocess.run(command, check=False).returncode


def show(text: str) -> None:
    print(text, flush=True)


def orchestrate(db: Path) -> None:
    for stale in (db, db.with_name(db.name + ".calls.log")):
        stale.unlink(missing_ok=True)
    show("1. run the agent in a child process")
    code = spawn("run", db)
    assert code == -signal.SIGKILL, f"expected a SIGKILL, got exit code {code}"
    show(f"  child process died: exit code {code} (SIGKILL)")
    show(f"  node calls so far: {dict(sorted(node_calls(db).items()))}")

    show("2. resume in a fresh process")
    assert spawn("resume", db) == 0
    calls = node_calls(db)
    show(f"  node calls now: {dict(sorted(calls.items()))}")
    assert calls == Counter(agent=3, tools=3), calls  # only the killed tools step ran again

    with SqliteSaver.from_conn_string(str(db)) as saver:
        graph = build(saver, db)
        history = list(graph.get_state_history(THREAD))
        kinds = [type(m).__name__ for m in history[0].values["messages"]]
        show(f"  {len(history)} checkpoints; messages: {', '.join(kinds)}")
        original = history[0].values["messages"][-1].content

        show("3. rewind to the checkpoint before the first tool call and run again from there")
        before_tools = next(s for s in reversed(history) if s.next == ("tools",))
        step = before_tools.metadata["step"]
        before = node_calls(db)
        rerun = graph.invoke(None, before_tools.config)["messages"][-1].content
        ran = node_calls(db) - before
        show(f"  from step {step}: ran {dict(sorted(ran.items()))} again; answer: {rerun}")
        assert rerun == original

        show("4. fork: change the model's tool call on that old checkpoint (Paris -> Tokyo)")
        first_ai = before_tools.values["messages"][-1]
        edited = AIMessage(
            content="",
            id=first_ai.id,
            tool_calls=[{**c, "args": {"city": "Tokyo"}} for c in first_ai.tool_calls],
        )
        fork_config = graph.update_state(before_tools.config, {"messages": [edited]})
        forked = graph.invoke(None, fork_config)["messages"][-1].content
        show(f"  forked branch:   {forked}")
        show(f"  original branch: {original}")
        assert forked.startswith("Tokyo") and original.startswith("Paris")
        sources = Counter(s.metadata["source"] for s in graph.get_state_history(THREAD))
        show(f"  checkpoints by source: {dict(sorted(sources.items()))}")
    show("OK: the tool agent was killed, resumed, rewound and forked on SQLite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="tool_agent.db", type=Path)
    parser.add_argument("--child", choices=["run", "resume"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db)
    else:
        orchestrate(args.db)


if __name__ == "__main__":
    main()
