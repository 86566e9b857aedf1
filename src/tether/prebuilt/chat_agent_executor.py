"""``create_react_agent``: a tool-calling agent graph, LangGraph's
``langgraph.prebuilt.chat_agent_executor``.

The graph is ``agent`` (the chat model, given the prompt and the messages) and ``tools`` (a
``ToolNode``), looping while the model asks for tool calls. Optional nodes: ``pre_model_hook``
before the model, ``post_model_hook`` after it, ``generate_structured_response`` at the end when
``response_format`` is given. ``version="v2"`` (the default) sends each tool call to ``tools``
as its own task; ``"v1"`` runs them all in one ``tools`` task.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

try:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AnyMessage, BaseMessage
    from langchain_core.runnables import Runnable, RunnableBinding, RunnableSequence
    from langchain_core.tools import BaseTool
except ImportError as exc:  # pragma: no cover - depends on the environment
    from tether.prebuilt._requires import missing_langchain

    raise missing_langchain("tether.prebuilt.chat_agent_executor") from exc

from pydantic import BaseModel
from typing_extensions import NotRequired, TypedDict

from tether.checkpoint.serde import allowlist_from_schema
from tether.errors import ConfigurationError, InvalidGraphError, MissingDependency
from tether.graph import StateGraph
from tether.graph.message import add_messages
from tether.managed import RemainingSteps
from tether.prebuilt._agent_model import ModelCaller, prompt_runnable
from tether.prebuilt._agent_routes import Routes
from tether.prebuilt.tool_node import ToolNode

StructuredResponse = dict | BaseModel
StructuredResponseSchema = dict | type[BaseModel]


class AgentState(TypedDict):
    """The state of a ``create_react_agent`` graph: the conversation, and how many steps
    the run may still take."""

    messages: Annotated[Sequence[BaseMessage], add_messages]
    remaining_steps: NotRequired[RemainingSteps]


class AgentStateWithStructuredResponse(AgentState):
    """``AgentState`` plus the structured answer asked for with ``response_format``."""

    structured_response: StructuredResponse


class AgentStatePydantic(BaseModel):
    """``AgentState`` as a pydantic model."""

    messages: Annotated[Sequence[BaseMessage], add_messages]
    remaining_steps: RemainingSteps = 25


class AgentStateWithStructuredResponsePydantic(AgentStatePydantic):
    """``AgentStatePydantic`` plus the structured answer asked for with ``response_format``."""

    structured_response: StructuredResponse


_VERSIONS = ("v1", "v2")


def create_react_agent(
    model: Any,
    tools: Sequence[BaseTool | Callable[..., Any] | dict[str, Any]] | ToolNode,
    *,
    prompt: Any = None,
    response_format: StructuredResponseSchema | tuple[str, StructuredResponseSchema] | None = None,
    pre_model_hook: Any = None,
    post_model_hook: Any = None,
    state_schema: Any = None,
    context_schema: Any = None,
    checkpointer: Any = None,
    store: Any = None,
    interrupt_before: list[str] | None = None,
    interrupt_after: list[str] | None = None,
    debug: bool = False,
    version: Literal["v1", "v2"] = "v2",
    name: str | None = None,
    **kwargs: Any,
) -> Any:
    """Build and compile a ReAct agent: the model calls tools until it answers without any.

    ``model`` is a LangChain chat model (its ``bind_tools`` is called with ``tools`` unless it
    is already bound), a ``"provider:model"`` string (needs ``langchain``), or a callable
    ``(state, runtime) -> model`` picked per call. ``prompt`` is a string or ``SystemMessage``
    put first, or a callable / Runnable turning the state into the model's input.
    ``response_format`` (a schema, or ``(system_prompt, schema)``) adds a last step that asks
    the model for a structured answer, stored under ``structured_response``.
    """
    context_schema = context_schema or kwargs.pop("config_schema", None)
    if kwargs:
        raise TypeError(f"create_react_agent() got unexpected keyword arguments {sorted(kwargs)}")
    if version not in _VERSIONS:
        raise ConfigurationError(f"version={version!r}: create_react_agent takes 'v1' or 'v2'")
    state_schema = _checked_state_schema(state_schema, response_format)
    tool_node, tool_list, builtin = _tool_node(tools)
    if not _is_dynamic(model):
        model = _bound_model(_init_model(model), tool_list, builtin)
    caller = ModelCaller(
        model=model,
        prompt=prompt_runnable(prompt),
        name=name,
        return_direct={t.name for t in tool_list if t.return_direct},
        uses_llm_input=pre_model_hook is not None,
        response_format=response_format,
        dynamic=_is_dynamic(model),
    )
    routes = Routes(
        entry="pre_model_hook" if pre_model_hook is not None else "agent",
        post_hook=post_model_hook is not None,
        structured=response_format is not None,
        version=version,
        return_direct=caller.return_direct,
    )
    graph = StateGraph(state_schema, context_schema=context_schema)
    _add_nodes(graph, caller, routes.entry, pre_model_hook, post_model_hook)
    if response_format is not None:
        _allow_response_classes(checkpointer, response_format)
    routes.wire(graph, tool_node if tool_list else None)
    return graph.compile(
        checkpointer=checkpointer,
        store=store,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        debug=debug,
        name=name,
    )


def _add_nodes(graph: StateGraph, caller: ModelCaller, entry: str, pre: Any, post: Any) -> None:
    """The model node with its hooks, and the structured-response node when asked for."""
    input_schema = _with_llm_input(graph.state_schema) if pre is not None else None
    graph.add_node("agent", caller.agent_node(), input_schema=input_schema)
    if pre is not None:
        graph.add_node("pre_model_hook", pre)
        graph.add_edge("pre_model_hook", "agent")
    graph.set_entry_point(entry)
    if post is not None:
        graph.add_node("post_model_hook", post)
        graph.add_edge("agent", "post_model_hook")
    if caller.response_format is not None:
        graph.add_node("generate_structured_response", caller.structured_node())


def _checked_state_schema(state_schema: Any, response_format: Any) -> Any:
    if state_schema is None:
        return AgentState if response_format is None else AgentStateWithStructuredResponse
    required = {"messages", "remaining_steps"}
    if response_format is not None:
        required.add("structured_response")
    try:
        keys = set(typing.get_type_hints(state_schema))
    except (NameError, TypeError) as exc:
        raise InvalidGraphError(f"state_schema {state_schema!r}: cannot read its keys") from exc
    if missing := required - keys:
        raise InvalidGraphError(
            f"state_schema {state_schema.__name__} lacks key(s) {sorted(missing)}; subclass "
            f"tether.prebuilt.chat_agent_executor.AgentState to get them"
        )
    return state_schema


def _tool_node(
    tools: Sequence[Any] | ToolNode,
) -> tuple[ToolNode, list[BaseTool], list[dict[str, Any]]]:
    """The tools node, the tools it runs, and provider tools (dicts) bound but not run here."""
    if isinstance(tools, ToolNode):
        return tools, list(tools.tools_by_name.values()), []
    builtin = [t for t in tools if isinstance(t, dict)]
    node = ToolNode([t for t in tools if not isinstance(t, dict)])
    return node, list(node.tools_by_name.values()), builtin


def _is_dynamic(model: Any) -> bool:
    return callable(model) and not isinstance(model, str | Runnable)


def _init_model(model: Any) -> Any:
    if not isinstance(model, str):
        return model
    try:
        from langchain.chat_models import init_chat_model  # type: ignore[import-not-found]
    except ImportError as exc:
        raise MissingDependency(
            f"create_react_agent(model={model!r}) names a model by string, which needs "
            f"langchain: run `pip install langchain`, or pass a chat model object"
        ) from exc
    return init_chat_model(model)


def _bound_model(model: Any, tools: list[BaseTool], builtin: list[dict[str, Any]]) -> Any:
    """``model`` with the tools bound, unless ``model.bind_tools(...)`` was called already
    (then the bound tools must be the agent's)."""
    if not tools and not builtin:
        return model
    binding = _first_model_step(model)
    if not isinstance(binding, RunnableBinding) or "tools" not in binding.kwargs:
        return model.bind_tools([*tools, *builtin])
    bound = binding.kwargs["tools"]
    if len(bound) - len(builtin) != len(tools):
        raise ConfigurationError(
            f"the model has {len(bound)} tools bound but create_react_agent was given "
            f"{len(tools)} tools (+{len(builtin)} provider tools); pass the same tools to both"
        )
    bound_names = {
        t["function"]["name"] if t.get("type") == "function" else t.get("name") for t in bound
    }
    if missing := {t.name for t in tools} - bound_names:
        raise ConfigurationError(
            f"tools {sorted(missing)} are not bound to the model; call "
            f"model.bind_tools(...) with every tool given to create_react_agent"
        )
    return model


def _first_model_step(model: Any) -> Any:
    if isinstance(model, RunnableSequence):
        return next(
            (s for s in model.steps if isinstance(s, RunnableBinding | BaseChatModel)), model
        )
    return model


def _with_llm_input(state_schema: Any) -> Any:
    """The agent node's input: the state plus ``llm_input_messages`` (set by pre_model_hook)."""
    if inspect.isclass(state_schema) and issubclass(state_schema, BaseModel):
        from pydantic import create_model

        return create_model(
            "CallModelInputSchema",
            llm_input_messages=(list[AnyMessage], ...),
            __base__=state_schema,
        )
    if not _is_typed_dict(state_schema):
        raise InvalidGraphError(
            f"pre_model_hook needs a TypedDict or pydantic state_schema, not {state_schema!r}"
        )
    return type(state_schema)(
        "CallModelInputSchema",
        (state_schema,),
        {"__annotations__": {"llm_input_messages": list[AnyMessage]}},
    )


def _allow_response_classes(checkpointer: Any, response_format: Any) -> None:
    """Let the saver store the response schema's classes in ``structured_response`` (its
    serializer allows only the classes the graph's schemas name)."""
    schema = response_format[1] if isinstance(response_format, tuple) else response_format
    serde: Any = getattr(checkpointer, "serde", None)
    if hasattr(serde, "with_allowlist") and (types := allowlist_from_schema(schema)):
        checkpointer.serde = serde.with_allowlist(types)


def _is_typed_dict(schema: Any) -> bool:
    return isinstance(schema, type) and issubclass(schema, dict) and hasattr(schema, "__total__")


create_tool_calling_executor = create_react_agent

__all__ = [
    "AgentState",
    "AgentStatePydantic",
    "AgentStateWithStructuredResponse",
    "AgentStateWithStructuredResponsePydantic",
    "StructuredResponse",
    "StructuredResponseSchema",
    "create_react_agent",
    "create_tool_calling_executor",
]
