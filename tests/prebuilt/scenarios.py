"""Scenarios from LangGraph's agents, tool-calling and human-in-the-loop pages, written once
against a library namespace so the same code runs on tether and on LangGraph 1.2.22.

``record_langgraph.py`` runs them in the bench environment and stores the outputs in
``langgraph_outputs.json``; ``test_langgraph_parity.py`` runs them on tether and compares.
Outputs are normalized: message ids (random uuids) are dropped, tool-call ids kept.
"""

import asyncio
import dataclasses
import importlib
import json
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import InjectedToolCallId, tool
from pydantic import BaseModel
from typing_extensions import TypedDict

# -- the library under test ------------------------------------------------------------------


def load(prefix: str) -> SimpleNamespace:
    """The names the scenarios use, from ``tether`` or ``langgraph``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = lambda name: importlib.import_module(f"{prefix}.{name}")  # noqa: E731
        graph, types, prebuilt = mod("graph"), mod("types"), mod("prebuilt")
        executor = mod("prebuilt.chat_agent_executor")
        return SimpleNamespace(
            StateGraph=graph.StateGraph,
            START=graph.START,
            END=graph.END,
            MessagesState=graph.MessagesState,
            Command=types.Command,
            interrupt=types.interrupt,
            ToolNode=prebuilt.ToolNode,
            tools_condition=prebuilt.tools_condition,
            InjectedState=prebuilt.InjectedState,
            InjectedStore=prebuilt.InjectedStore,
            ToolRuntime=prebuilt.ToolRuntime,
            create_react_agent=prebuilt.create_react_agent,
            AgentState=executor.AgentState,
            AgentStatePydantic=executor.AgentStatePydantic,
            InMemorySaver=mod("checkpoint.memory").InMemorySaver,
            InMemoryStore=mod("store.memory").InMemoryStore,
            HumanInterrupt=mod("prebuilt.interrupt").HumanInterrupt,
        )


# -- a deterministic chat model ----------------------------------------------------------------


class ScriptedChatModel(BaseChatModel):
    """A chat model whose reply is ``script(messages)``; ``bind_tools`` returns itself, and
    every call's input is kept in ``seen`` (normalized)."""

    script: Any
    seen: list[Any] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(norm(messages))
        return ChatResult(generations=[ChatGeneration(message=self.script(messages))])

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedChatModel":
        return self


def calls(*items: tuple[str, dict[str, Any]], turn: int = 0) -> list[dict[str, Any]]:
    return [
        {"name": n, "args": a, "id": f"call_{turn}_{i}", "type": "tool_call"}
        for i, (n, a) in enumerate(items)
    ]


def weather_script(messages: list[BaseMessage]) -> AIMessage:
    """Ask for the weather in sf and nyc, then answer with what the tools said."""
    turn = sum(isinstance(m, AIMessage) for m in messages)
    if not any(isinstance(m, ToolMessage) for m in messages):
        return AIMessage(
            "",
            tool_calls=calls(("get_weather", {"city": "sf"}), ("get_weather", {"city": "nyc"})),
        )
    if isinstance(messages[-1], AIMessage):  # asked again after answering: structured output
        return AIMessage("", tool_calls=calls(("Forecast", {"summary": "mixed", "hot": False})))
    said = "; ".join(str(m.content) for m in messages if isinstance(m, ToolMessage))
    return AIMessage(f"Turn {turn}: {said}")


def model(script: Callable[[list[BaseMessage]], AIMessage] = weather_script) -> "ScriptedChatModel":
    return ScriptedChatModel(script=script, seen=[])


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    if city == "sf":
        return "It's 60 degrees and foggy."
    return "It's 90 degrees and sunny."


class Forecast(BaseModel):
    summary: str
    hot: bool


# -- normalization -------------------------------------------------------------------------------


def norm(value: Any) -> Any:
    """JSON-able view of messages, commands and containers (message ids dropped)."""
    if isinstance(value, BaseMessage):
        out: dict[str, Any] = {"type": value.type, "content": value.content}
        if value.name:
            out["name"] = value.name
        if isinstance(value, AIMessage) and value.tool_calls:
            out["tool_calls"] = [[c["name"], c["args"], c["id"]] for c in value.tool_calls]
        if isinstance(value, ToolMessage):
            out["tool_call_id"] = value.tool_call_id
            out["status"] = value.status
        return out
    if isinstance(value, BaseModel):
        return {"model": type(value).__name__, **value.model_dump()}
    if isinstance(value, dict):
        return {str(k): norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [norm(v) for v in value]
    if type(value).__name__ == "Command":
        return {"Command": {"update": norm(value.update), "goto": norm(value.goto)}}
    if type(value).__name__ == "Interrupt":
        return {"Interrupt": norm(value.value)}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def raised(fn: Callable[[], Any]) -> Any:
    """``fn()``'s normalized result, or the built-in base of what it raised."""
    try:
        return norm(fn())
    except Exception as exc:
        for base in (ValueError, TypeError, KeyError, RuntimeError, ArithmeticError):
            if isinstance(exc, base):
                return f"raised {base.__name__}"
        return "raised Exception"


def updates(graph: Any, inp: Any, config: Any = None, **kw: Any) -> list[Any]:
    """The ``updates`` stream; chunks of parallel tasks of one node (which finish in any
    order) are sorted."""
    chunks = [norm(c) for c in graph.stream(inp, config, stream_mode="updates", **kw)]
    return in_stable_order(chunks)


def in_stable_order(chunks: list[Any]) -> list[Any]:
    out: list[Any] = []
    run: list[Any] = []
    for chunk in [*chunks, None]:
        if run and (chunk is None or list(chunk) != list(run[0])):
            out.extend(sorted(run, key=lambda c: json.dumps(c, sort_keys=True)))
            run = []
        if chunk is not None:
            run.append(chunk)
    return out


def thread(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


# -- ToolNode -------------------------------------------------------------------------------------


def alone(lib: SimpleNamespace, node: Any) -> Any:
    """A graph holding only ``node`` (LangGraph's ToolNode runs only inside a graph)."""
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("tools", node)
    builder.add_edge(lib.START, "tools")
    return builder.compile()


def toolnode_parallel(lib: SimpleNamespace) -> Any:
    """The tool-calling page: one AIMessage with two calls, run by a ToolNode."""
    graph = alone(lib, lib.ToolNode([get_weather]))
    ask = AIMessage("", tool_calls=weather_script([]).tool_calls)
    return updates(graph, {"messages": [ask]})


def toolnode_async(lib: SimpleNamespace) -> Any:
    @tool
    async def slow_echo(text: str) -> str:
        """Echo the text back."""
        await asyncio.sleep(0)
        return text.upper()

    graph = alone(lib, lib.ToolNode([slow_echo]))
    ask = AIMessage(
        "", tool_calls=calls(("slow_echo", {"text": "a"}), ("slow_echo", {"text": "b"}))
    )
    return norm(asyncio.run(graph.ainvoke({"messages": [ask]}))["messages"][1:])


@tool
def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


def _value_error_handler(e: ValueError) -> str:
    return f"value problem: {e}"


def toolnode_errors(lib: SimpleNamespace) -> Any:
    """handle_tool_errors variants against a tool that raises and a call with bad arguments."""
    failing = calls(("divide", {"a": 1, "b": 0}))
    bad_args = calls(("divide", {"a": "one", "b": 2}))
    unknown = calls(("multiply", {"a": 1, "b": 2}))
    handlers: dict[str, Any] = {
        "default": None,
        "true": True,
        "false": False,
        "text": "Tool failed, try something else.",
        "callable_value_error": _value_error_handler,
        "zero_division_only": ZeroDivisionError,
        "tuple": (TypeError, KeyError),
    }
    out: dict[str, Any] = {}
    for label, flag in handlers.items():
        kwargs = {} if flag is None else {"handle_tool_errors": flag}
        graph = alone(lib, lib.ToolNode([divide], **kwargs))
        for case, tcalls in (("raises", failing), ("bad_args", bad_args), ("unknown", unknown)):
            msg = {"messages": [AIMessage("", tool_calls=tcalls)]}
            out[f"{label}/{case}"] = raised(lambda g=graph, m=msg: g.invoke(m)["messages"][-1])
    return out


def injection_graph(lib: SimpleNamespace) -> Any:
    """InjectedState (whole and one key), InjectedStore and InjectedToolCallId in one tool,
    the tool answering with a Command that sets another state key."""

    class State(lib.MessagesState):
        user_id: str
        user_name: str

    @tool
    def remember_name(
        greeting: str,
        state: Annotated[dict, lib.InjectedState],
        user_id: Annotated[str, lib.InjectedState("user_id")],
        store: Annotated[Any, lib.InjectedStore()],
        tool_call_id: Annotated[str, InjectedToolCallId],
    ) -> Any:
        """Look the user's name up and remember it."""
        name = store.get(("users",), user_id).value["name"]
        seen = len(state["messages"])
        reply = ToolMessage(f"{greeting}, {name} ({seen} messages)", tool_call_id=tool_call_id)
        return lib.Command(update={"user_name": name, "messages": [reply]})

    def agent(state: Any) -> dict[str, Any]:
        if isinstance(state["messages"][-1], ToolMessage):
            return {"messages": [AIMessage(f"Hello {state['user_name']}")]}
        tcalls = calls(("remember_name", {"greeting": "hi"}))
        return {"messages": [AIMessage("", tool_calls=tcalls)]}

    store = lib.InMemoryStore()
    store.put(("users",), "u1", {"name": "Ada"})
    builder = lib.StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_node("tools", lib.ToolNode([remember_name]))
    builder.add_edge(lib.START, "agent")
    builder.add_conditional_edges("agent", lib.tools_condition)
    builder.add_edge("tools", "agent")
    graph = builder.compile(store=store)
    inp = {"messages": [HumanMessage("who am I?")], "user_id": "u1"}
    schema = remember_name.tool_call_schema.model_json_schema()["properties"]
    return {"updates": updates(graph, inp), "model_sees_args": sorted(schema)}


def tool_runtime(lib: SimpleNamespace) -> Any:
    """A tool taking ``runtime: ToolRuntime`` reads the state, context, store and call id,
    and writes to the custom stream."""

    @dataclasses.dataclass
    class Context:
        user_id: str

    @tool
    def profile(field: str, runtime: lib.ToolRuntime) -> str:
        """Read a field of the user's profile."""
        runtime.stream_writer({"looking_up": field})
        user = runtime.store.get(("users",), runtime.context.user_id).value
        seen = len(runtime.state["messages"])
        return f"{field}={user[field]} for {runtime.tool_call_id} after {seen} messages"

    def script(messages: list[BaseMessage]) -> AIMessage:
        if not isinstance(messages[-1], ToolMessage):
            return AIMessage("", tool_calls=calls(("profile", {"field": "city"})))
        return AIMessage(str(messages[-1].content))

    store = lib.InMemoryStore()
    store.put(("users",), "u7", {"city": "Lisbon"})
    agent = lib.create_react_agent(model(script), [profile], store=store, context_schema=Context)
    chunks = agent.stream(
        {"messages": [HumanMessage("where do I live?")]},
        context=Context(user_id="u7"),
        stream_mode=["custom", "updates"],
    )
    schema = profile.tool_call_schema.model_json_schema()["properties"]
    return {"stream": [norm(list(c)) for c in chunks], "model_sees_args": sorted(schema)}


def tools_condition_values(lib: SimpleNamespace) -> Any:
    ask = AIMessage("", tool_calls=calls(("get_weather", {"city": "sf"})))
    return {
        "dict": lib.tools_condition({"messages": [HumanMessage("x"), ask]}),
        "list": lib.tools_condition([ask]),
        "done": lib.tools_condition({"messages": [AIMessage("bye")]}),
        "other_key": lib.tools_condition({"chat": [ask]}, messages_key="chat"),
        "empty": raised(lambda: lib.tools_condition({"messages": []})),
    }


# -- create_react_agent ---------------------------------------------------------------------------


def react_basic(lib: SimpleNamespace) -> Any:
    """The agents page: a model, a tool, a string prompt; v2 and v1 stream updates."""
    out: dict[str, Any] = {}
    for version in ("v2", "v1"):
        llm = model()
        agent = lib.create_react_agent(
            llm, [get_weather], prompt="You are a weather bot.", version=version
        )
        inp = {"messages": [HumanMessage("weather in sf and nyc?")]}
        out[version] = {"updates": updates(agent, inp), "model_saw": llm.seen}
    llm = model()
    agent = lib.create_react_agent(llm, [get_weather], name="weather_agent")
    final = agent.invoke({"messages": [HumanMessage("weather?")]})
    out["named"] = norm(final["messages"][-1])
    out["graph_name"] = agent.name
    out["nodes"] = sorted(agent.builder.nodes)
    return out


def react_async(lib: SimpleNamespace) -> Any:
    agent = lib.create_react_agent(model(), [get_weather])

    async def run() -> Any:
        inp = {"messages": [HumanMessage("w?")]}
        return [c async for c in agent.astream(inp, stream_mode="updates")]

    return norm(asyncio.run(run()))


def react_prompts(lib: SimpleNamespace) -> Any:
    """prompt as a SystemMessage, a callable and a Runnable."""
    from langchain_core.messages import SystemMessage
    from langchain_core.runnables import RunnableLambda

    def prompt_fn(state: Any) -> list[Any]:
        return [SystemMessage("Be brief."), *state["messages"][-1:]]

    out: dict[str, Any] = {}
    for label, prompt in (
        ("system_message", SystemMessage("You are formal.")),
        ("callable", prompt_fn),
        ("runnable", RunnableLambda(prompt_fn)),
    ):
        llm = model()
        agent = lib.create_react_agent(llm, [get_weather], prompt=prompt)
        agent.invoke({"messages": [HumanMessage("weather?")]})
        out[label] = llm.seen
    return out


def react_memory(lib: SimpleNamespace) -> Any:
    """A checkpointer keeps the conversation; a second turn sees the first."""
    llm = model()
    agent = lib.create_react_agent(llm, [get_weather], checkpointer=lib.InMemorySaver())
    config = thread("memory")
    agent.invoke({"messages": [HumanMessage("weather?")]}, config)
    second = agent.invoke({"messages": [HumanMessage("and again?")]}, config)
    return {"messages": norm(second["messages"]), "calls": len(llm.seen)}


def react_interrupt_before_tools(lib: SimpleNamespace) -> Any:
    """Human review: stop before the tools run, look at the call, go on (and edit one)."""
    out: dict[str, Any] = {}
    for version in ("v2", "v1"):
        agent = lib.create_react_agent(
            model(),
            [get_weather],
            checkpointer=lib.InMemorySaver(),
            interrupt_before=["tools"],
            version=version,
        )
        config = thread(f"review-{version}")
        first = updates(agent, {"messages": [HumanMessage("weather?")]}, config)
        state = agent.get_state(config)
        paused = {"next": list(state.next), "last": norm(state.values["messages"][-1])}
        rest = updates(agent, None, config)
        out[version] = {"first": first, "paused": paused, "rest": rest}
    return out


def react_interrupt_in_tool(lib: SimpleNamespace) -> Any:
    """A tool asks a human with interrupt(HumanInterrupt); the answer decides its result."""

    @tool
    def book_hotel(hotel: str) -> str:
        """Book a hotel."""
        request = lib.HumanInterrupt(
            action_request={"action": "book_hotel", "args": {"hotel": hotel}},
            config={
                "allow_accept": True,
                "allow_edit": True,
                "allow_respond": False,
                "allow_ignore": False,
            },
            description="Please review the booking",
        )
        response = lib.interrupt([request])[0]
        if response["type"] == "edit":
            hotel = response["args"]["args"]["hotel"]
        return f"Booked a stay at {hotel}."

    def script(messages: list[BaseMessage]) -> AIMessage:
        if not any(isinstance(m, ToolMessage) for m in messages):
            return AIMessage("", tool_calls=calls(("book_hotel", {"hotel": "McKittrick"})))
        return AIMessage(f"Done: {messages[-1].content}")

    agent = lib.create_react_agent(model(script), [book_hotel], checkpointer=lib.InMemorySaver())
    config = thread("hotel")
    first = agent.invoke({"messages": [HumanMessage("book McKittrick")]}, config)
    edit = {"type": "edit", "args": {"action": "book_hotel", "args": {"hotel": "Plaza"}}}
    resumed = updates(agent, lib.Command(resume=[edit]), config)
    return {"interrupt": norm(first["__interrupt__"]), "resumed": resumed}


def react_v1_interrupt_beside_another_tool(lib: SimpleNamespace) -> Any:
    """v1 runs both calls in one task: one asks a human, the other answers at once; on resume
    the whole tools task runs again. (Whether ``lookup`` also ran before the pause is a race
    in LangGraph, so it is not compared.)"""

    @tool
    def confirm(action: str) -> str:
        """Ask the human to confirm an action."""
        return f"{action}: {lib.interrupt({'confirm': action})}"

    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        return f"{city}: found"

    def script(messages: list[BaseMessage]) -> AIMessage:
        if not isinstance(messages[-1], ToolMessage):
            pair = (("confirm", {"action": "book"}), ("lookup", {"city": "sf"}))
            return AIMessage("", tool_calls=calls(*pair))
        return AIMessage("ok")

    agent = lib.create_react_agent(
        model(script), [confirm, lookup], checkpointer=lib.InMemorySaver(), version="v1"
    )
    config = thread("v1-interrupt")
    first = agent.invoke({"messages": [HumanMessage("go")]}, config)
    resumed = updates(agent, lib.Command(resume="yes"), config)
    return {"interrupt": norm(first["__interrupt__"]), "resumed": resumed}


def user_state(lib: SimpleNamespace) -> Any:
    """AgentState plus a ``user_name`` key."""

    class State(lib.AgentState):
        user_name: str

    return State


def name_saver(lib: SimpleNamespace, name: str, answer: str) -> Any:
    """A tool that stores the user's name with a Command (and answers ``answer``)."""

    def save(name: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Any:
        """Remember the user's name."""
        reply = ToolMessage(answer, tool_call_id=tool_call_id)
        return lib.Command(update={"user_name": name, "messages": [reply]})

    return tool(name)(save)


def user_script(messages: list[BaseMessage]) -> AIMessage:
    """Save the name, then greet, then repeat the greeting."""
    tools_run = sum(isinstance(m, ToolMessage) for m in messages)
    if tools_run == 0:
        return AIMessage("", tool_calls=calls(("update_user_info", {"name": "Ada"})))
    if tools_run == 1:
        return AIMessage("", tool_calls=calls(("greet", {}), turn=1))
    return AIMessage(str(messages[-1].content))


def react_command_tool(lib: SimpleNamespace) -> Any:
    """A tool returning a Command updates a key of a custom state_schema."""

    State = user_state(lib)
    update_user_info = name_saver(lib, "update_user_info", "Saved the name.")

    @tool
    def greet(state: Annotated[dict, lib.InjectedState]) -> str:
        """Greet the user by name."""
        return f"Hello {state.get('user_name', 'stranger')}!"

    agent = lib.create_react_agent(
        model(user_script), [update_user_info, greet], state_schema=State
    )
    inp = {"messages": [HumanMessage("I am Ada")]}
    final = agent.invoke(inp)
    return {"updates": updates(agent, inp), "user_name": final["user_name"]}


def toolnode_mixed_commands(lib: SimpleNamespace) -> Any:
    """One tools step (v1) where one tool returns a Command and another a plain answer, and a
    tool that jumps to another node with Command(goto=...)."""

    State = user_state(lib)
    set_name = name_saver(lib, "set_name", "Saved.")

    @tool
    def handoff(tool_call_id: Annotated[str, InjectedToolCallId]) -> Any:
        """Hand the conversation to a human."""
        reply = ToolMessage("Handing off.", tool_call_id=tool_call_id)
        return lib.Command(goto="human", update={"messages": [reply]})

    def agent(state: Any) -> dict[str, Any]:
        if len(state["messages"]) > 1:
            return {}
        both = calls(("set_name", {"name": "Ada"}), ("get_weather", {"city": "sf"}))
        return {"messages": [AIMessage("", tool_calls=both)]}

    def human(state: Any) -> dict[str, Any]:
        return {"messages": [AIMessage("a human here")]}

    builder = lib.StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_node("tools", lib.ToolNode([set_name, get_weather, handoff]))
    builder.add_node("human", human)
    builder.add_edge(lib.START, "agent")
    builder.add_conditional_edges("agent", lib.tools_condition)
    graph = builder.compile(checkpointer=lib.InMemorySaver())
    mixed = updates(graph, {"messages": [HumanMessage("I am Ada")]}, thread("mixed"))
    history = graph.get_state_history(thread("mixed"))
    tools_task = next(t for snap in history for t in snap.tasks if t.name == "tools")
    jump_calls = calls(("handoff", {}))
    jump_input = {"messages": [HumanMessage("x"), AIMessage("", tool_calls=jump_calls)]}
    jump = updates(graph, jump_input, thread("jump"))
    return {"mixed": mixed, "jump": jump, "task_result": norm(tools_task.result)}


def react_structured(lib: SimpleNamespace) -> Any:
    out: dict[str, Any] = {}
    for label, fmt in (("schema", Forecast), ("with_prompt", ("Summarize.", Forecast))):
        llm = model()
        agent = lib.create_react_agent(llm, [get_weather], response_format=fmt)
        final = agent.invoke({"messages": [HumanMessage("weather?")]})
        out[label] = {
            "structured": norm(final["structured_response"]),
            "last_call_saw": llm.seen[-1],
            "keys": sorted(final),
        }
    return out


def react_hooks(lib: SimpleNamespace) -> Any:
    """pre_model_hook trims what the model sees; post_model_hook sees every answer."""
    post_seen: list[Any] = []

    def pre(state: Any) -> dict[str, Any]:
        return {"llm_input_messages": state["messages"][-2:]}

    def post(state: Any) -> dict[str, Any]:
        post_seen.append(norm(state["messages"][-1]))
        return {}

    llm = model()
    agent = lib.create_react_agent(llm, [get_weather], pre_model_hook=pre, post_model_hook=post)
    inp = {"messages": [HumanMessage("one"), HumanMessage("two"), HumanMessage("weather?")]}
    chunks = updates(agent, inp)
    return {"updates": chunks, "model_saw": llm.seen, "post_saw": post_seen}


def react_return_direct(lib: SimpleNamespace) -> Any:
    @tool(return_direct=True)
    def lookup(city: str) -> str:
        """Look a city up; the answer goes straight to the user."""
        return f"{city}: found"

    def script(messages: list[BaseMessage]) -> AIMessage:
        return AIMessage("", tool_calls=calls(("lookup", {"city": "sf"})))

    agent = lib.create_react_agent(model(script), [lookup])
    return updates(agent, {"messages": [HumanMessage("find sf")]})


def react_out_of_steps(lib: SimpleNamespace) -> Any:
    def script(messages: list[BaseMessage]) -> AIMessage:
        n = sum(isinstance(m, AIMessage) for m in messages)
        return AIMessage("", tool_calls=calls(("get_weather", {"city": "sf"}), turn=n))

    agent = lib.create_react_agent(model(script), [get_weather])
    final = agent.invoke({"messages": [HumanMessage("loop")]}, {"recursion_limit": 6})
    return norm(final["messages"])


def react_bad_setup(lib: SimpleNamespace) -> Any:
    class NoSteps(TypedDict):
        messages: list

    return {
        "state_schema": raised(
            lambda: lib.create_react_agent(model(), [get_weather], state_schema=NoSteps)
        ),
        "version": raised(lambda: lib.create_react_agent(model(), [get_weather], version="v3")),
        "unknown_kwarg": raised(lambda: lib.create_react_agent(model(), [], foo=1)),
    }


def react_pydantic_state(lib: SimpleNamespace) -> Any:
    """A pydantic state_schema (AgentStatePydantic subclass), with a pre_model_hook."""

    class State(lib.AgentStatePydantic):
        user: str = "anonymous"

    def pre(state: Any) -> dict[str, Any]:
        return {"llm_input_messages": state.messages[-1:]}

    plain = lib.create_react_agent(model(), [get_weather], state_schema=State)
    llm = model()
    hooked = lib.create_react_agent(llm, [get_weather], state_schema=State, pre_model_hook=pre)
    inp = {"messages": [HumanMessage("weather?")], "user": "ada"}
    return {
        "plain": norm(plain.invoke(inp)),
        "hooked": updates(hooked, inp),
        "model_saw": llm.seen,
    }


def agents_handoff(lib: SimpleNamespace) -> Any:
    """The multi-agent page's handoff: agents as subgraphs of a parent graph; a tool of one
    returns Command(graph=Command.PARENT, goto=<other agent>)."""

    @tool
    def transfer_to_hotel_advisor(tool_call_id: Annotated[str, InjectedToolCallId]) -> Any:
        """Ask the hotel advisor for help."""
        done = ToolMessage("Transferred to hotel_advisor", tool_call_id=tool_call_id)
        return lib.Command(
            goto="hotel_advisor", graph=lib.Command.PARENT, update={"messages": [done]}
        )

    def travel_script(messages: list[BaseMessage]) -> AIMessage:
        return AIMessage("", tool_calls=calls(("transfer_to_hotel_advisor", {})))

    def hotel_script(messages: list[BaseMessage]) -> AIMessage:
        return AIMessage(f"hotel advisor saw {len(messages)} messages")

    travel = lib.create_react_agent(
        model(travel_script), [transfer_to_hotel_advisor], name="travel_advisor"
    )
    hotel = lib.create_react_agent(model(hotel_script), [get_weather], name="hotel_advisor")
    builder = lib.StateGraph(lib.MessagesState)
    builder.add_node("travel_advisor", travel, destinations=("hotel_advisor",))
    builder.add_node("hotel_advisor", hotel)
    builder.add_edge(lib.START, "travel_advisor")
    graph = builder.compile()
    inp = {"messages": [HumanMessage("find me a hotel")]}
    final = graph.invoke(inp)
    return {"updates": updates(graph, inp), "final": norm(final["messages"])}


def react_more_options(lib: SimpleNamespace) -> Any:
    """A ToolNode passed as the tools (its error handling kept), interrupt_after the model,
    and a history with an unanswered tool call."""

    def divide_script(messages: list[BaseMessage]) -> AIMessage:
        if not isinstance(messages[-1], ToolMessage):
            return AIMessage("", tool_calls=calls(("divide", {"a": 1, "b": 0})))
        return AIMessage(f"tool said: {messages[-1].content}")

    node = lib.ToolNode([divide], handle_tool_errors="cannot divide")
    handled = lib.create_react_agent(model(divide_script), node)
    out: dict[str, Any] = {"handled": updates(handled, {"messages": [HumanMessage("1/0")]})}

    after = lib.create_react_agent(
        model(), [get_weather], checkpointer=lib.InMemorySaver(), interrupt_after=["agent"]
    )
    config = thread("after")
    out["after_first"] = updates(after, {"messages": [HumanMessage("weather?")]}, config)
    out["after_next"] = list(after.get_state(config).next)
    out["after_rest"] = updates(after, None, config)

    dangling = AIMessage("", tool_calls=calls(("get_weather", {"city": "sf"})))
    broken = {"messages": [HumanMessage("hi"), dangling, HumanMessage("again")]}
    agent = lib.create_react_agent(model(), [get_weather])
    out["unanswered_call"] = raised(lambda: agent.invoke(broken))
    return out


def react_no_tools(lib: SimpleNamespace) -> Any:
    def script(messages: list[BaseMessage]) -> AIMessage:
        return AIMessage(f"echo: {messages[-1].content}")

    agent = lib.create_react_agent(model(script), [])
    return updates(agent, {"messages": [HumanMessage("hello")]})


SCENARIOS: dict[str, Callable[[SimpleNamespace], Any]] = {
    f.__name__: f
    for f in (
        toolnode_parallel,
        toolnode_async,
        toolnode_errors,
        injection_graph,
        tool_runtime,
        tools_condition_values,
        react_basic,
        react_async,
        react_prompts,
        react_memory,
        react_interrupt_before_tools,
        react_interrupt_in_tool,
        react_command_tool,
        react_v1_interrupt_beside_another_tool,
        react_structured,
        toolnode_mixed_commands,
        react_hooks,
        react_return_direct,
        react_out_of_steps,
        react_bad_setup,
        react_no_tools,
        react_more_options,
        agents_handoff,
        react_pydantic_state,
    )
}
