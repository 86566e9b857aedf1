"""The model side of ``create_react_agent``: the prompt, the model call, the structured answer."""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableBinding, RunnableLambda, RunnableSequence

from tether.config import get_runtime
from tether.errors import ConfigurationError, InvalidUpdateError
from tether.integrations.langchain.tracing import chain_run

PROMPT_NAME = "Prompt"
NEED_MORE_STEPS = "Sorry, need more steps to process this request."


def state_value(state: Any, key: str, default: Any = None) -> Any:
    """``state[key]`` for dict states, ``state.key`` for objects."""
    if isinstance(state, dict):
        return state.get(key, default)
    return getattr(state, key, default)


def prompt_runnable(prompt: Any) -> Runnable:
    """The runnable turning the state into the model's input (named ``Prompt``, as LangGraph's)."""
    if prompt is None:
        return RunnableLambda(lambda state: state_value(state, "messages"), name=PROMPT_NAME)
    if isinstance(prompt, str):
        prompt = SystemMessage(content=prompt)
    if isinstance(prompt, SystemMessage):
        system = prompt
        return RunnableLambda(
            lambda state: [system, *state_value(state, "messages")], name=PROMPT_NAME
        )
    if isinstance(prompt, Runnable):
        return prompt
    if callable(prompt):
        return RunnableLambda(prompt, name=PROMPT_NAME)
    raise ConfigurationError(
        f"prompt={prompt!r}: pass a string, a SystemMessage, a callable (state) -> messages "
        f"or a Runnable"
    )


class DualNode:
    """A graph node with a sync body and an async twin (tether calls ``tether_acall`` in
    async runs)."""

    def __init__(
        self,
        sync: Callable[[Any, Any], Any],
        asynchronous: Callable[[Any, Any], Awaitable[Any]],
    ) -> None:
        self._sync = sync
        self._async = asynchronous

    def __call__(self, state: Any, config: Any) -> Any:
        return self._sync(state, config)

    async def tether_acall(self, state: Any, config: Any) -> Any:
        return await self._async(state, config)


def traced_node(
    name: str,
    sync: Callable[[Any, Any], Any],
    asynchronous: Callable[[Any, Any], Awaitable[Any]],
) -> DualNode:
    """A node whose body a tracer sees as a chain run ``name`` inside the node's run, as
    LangGraph reports the functions it wraps; the body's own calls stay the node's children."""

    def call(state: Any, config: Any) -> Any:
        with chain_run(config.get("callbacks"), name, state) as run:
            run.output = sync(state, config)
        return run.output

    async def acall(state: Any, config: Any) -> Any:
        with chain_run(config.get("callbacks"), name, state) as run:
            run.output = await asynchronous(state, config)
        return run.output

    return DualNode(call, acall)


@dataclasses.dataclass
class ModelCaller:
    """Calls the agent's model: the ``agent`` and ``generate_structured_response`` nodes."""

    model: Any
    prompt: Runnable
    name: str | None
    return_direct: set[str]
    uses_llm_input: bool
    response_format: Any
    dynamic: bool

    # -- nodes ---------------------------------------------------------------------------------

    def agent_node(self) -> DualNode:
        def call(state: Any, config: Any) -> Any:
            response = self._runnable(self._pick(state)).invoke(self._input(state), config)
            return self._answer(state, response)

        async def acall(state: Any, config: Any) -> Any:
            model = await self._apick(state)
            response = await self._runnable(model).ainvoke(self._input(state), config)
            return self._answer(state, response)

        return traced_node("call_model", call, acall)

    def structured_node(self) -> DualNode:
        def call(state: Any, config: Any) -> Any:
            messages, structured = self._structured(self._pick(state), state)
            return {"structured_response": structured.invoke(messages, config)}

        async def acall(state: Any, config: Any) -> Any:
            messages, structured = self._structured(await self._apick(state), state)
            return {"structured_response": await structured.ainvoke(messages, config)}

        return traced_node("generate_structured_response", call, acall)

    # -- the pieces both drivers share -----------------------------------------------------------

    def _pick(self, state: Any) -> Any:
        if not self.dynamic:
            return self.model
        if inspect.iscoroutinefunction(self.model):
            raise ConfigurationError(
                "the model callable is async: run the agent with ainvoke()/astream(), or "
                "give create_react_agent a sync model callable"
            )
        return self.model(state, get_runtime())

    async def _apick(self, state: Any) -> Any:
        if not self.dynamic:
            return self.model
        model = self.model(state, get_runtime())
        return await model if hasattr(model, "__await__") else model

    def _runnable(self, model: Any) -> Runnable:
        return self.prompt | model

    def _input(self, state: Any) -> Any:
        """The state the prompt sees: ``messages`` replaced by ``llm_input_messages`` when a
        pre-model hook set them; every tool call must have its answer."""
        messages = None
        if self.uses_llm_input:
            messages = state_value(state, "llm_input_messages")
        messages = messages or state_value(state, "messages")
        if messages is None:
            raise InvalidUpdateError("the agent's input has no 'messages' key")
        _check_history(messages)
        if isinstance(state, dict):
            return {**state, "messages": messages}
        state = copy.copy(state)
        state.messages = messages
        return state

    def _answer(self, state: Any, response: Any) -> dict[str, Any]:
        response.name = self.name
        if self._out_of_steps(state, response):
            response = AIMessage(id=response.id, content=NEED_MORE_STEPS)
        return {"messages": [response]}

    def _out_of_steps(self, state: Any, response: Any) -> bool:
        """True when the run cannot take the steps the model's answer needs."""
        remaining = state_value(state, "remaining_steps")
        if remaining is None or not isinstance(response, AIMessage):
            return False
        calls = response.tool_calls
        if remaining < 1 and all(c["name"] in self.return_direct for c in calls):
            return True
        return remaining < 2 and bool(calls)

    def _structured(self, model: Any, state: Any) -> tuple[list[Any], Runnable]:
        messages = list(state_value(state, "messages"))
        schema = self.response_format
        if isinstance(schema, tuple):
            system, schema = schema
            messages = [SystemMessage(content=system), *messages]
        return messages, chat_model(model).with_structured_output(schema)


def chat_model(model: Any) -> BaseChatModel:
    """The chat model inside a ``prompt | model`` sequence or a ``bind_tools`` binding."""
    if isinstance(model, RunnableSequence):
        model = next(
            (s for s in model.steps if isinstance(s, RunnableBinding | BaseChatModel)), model
        )
    if isinstance(model, RunnableBinding):
        model = model.bound
    if not isinstance(model, BaseChatModel):
        raise ConfigurationError(
            f"response_format needs a chat model (or model.bind_tools(...)), got "
            f"{type(model).__name__}"
        )
    return model


def _check_history(messages: Any) -> None:
    """Every tool call the model made must have a ToolMessage answering it."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    missing = [
        call
        for m in messages
        if isinstance(m, AIMessage)
        for call in m.tool_calls
        if call["id"] not in answered
    ]
    if missing:
        raise InvalidUpdateError(
            f"the conversation has tool calls with no ToolMessage answering them (first few: "
            f"{missing[:3]}); chat models reject such a history: add a ToolMessage with "
            f"tool_call_id=<the call's id> for each, e.g. with update_state"
        )
