"""LangChain callbacks for graph runs: a chain run for the graph, a child run for every node.

A handler (a tracer such as LangSmith's or Langfuse's, or ``astream_events``) sees the run tree
LangGraph gives it: the graph run (named after the graph), under it one run per node call
(tag ``graph:step:N``, metadata ``langgraph_step``/``_node``/``_triggers``/``_path``/
``_checkpoint_ns``), and under a node every chat model or runnable it calls (tag
``seq:step:1``), its conditional edges (``seq:step:3``) and its ``@task`` calls, subgraphs
nested the same way. The node runs inside LangChain's context, so a model called without a
config still finds its parent. A run nobody listens to starts no LangChain run at all.

Runs are reported through LangChain's synchronous callback manager in sync and async runs
alike (LangChain runs an async handler's coroutines for it), so this logic is written once.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManager
from langchain_core.globals import get_debug
from langchain_core.runnables.config import ensure_config, var_child_runnable_config
from langchain_core.tracers.context import _configure_hooks, _tracing_v2_is_enabled

from tether.constants import CHECKPOINT_ID, CHECKPOINT_MAP, CHECKPOINT_NS, CONF
from tether.engine import observe
from tether.engine.effects import Emit
from tether.engine.runtime import PARENT_KEY
from tether.engine.task import PUSH
from tether.integrations.langchain.messages import StreamMessagesHandler

try:  # a private protocol of langchain-core: handlers that want a run's streamed output
    from langchain_core.tracers._streaming import _StreamingCallbackHandler
except ImportError:  # pragma: no cover - older langchain-core
    _StreamingCallbackHandler = None  # type: ignore[assignment,misc]

_NOT_METADATA = frozenset({CHECKPOINT_ID, CHECKPOINT_NS, CHECKPOINT_MAP, "checkpoint_ts"})
_node_run: contextvars.ContextVar[Any] = contextvars.ContextVar("tether_node_run", default=None)
"""The run of the node executing in this context (parent of its conditional edges' runs)."""


class GraphTracer:
    """The callbacks of one graph run (``tether.engine.observe.RunObserver``)."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def task_started(self, task: Any, step: int) -> tuple[Any, dict[str, Any]]:
        parent = self.run.get_child(f"graph:step:{step}")
        md = _task_metadata(task.name, step, task.triggers, task.path, task.ns)
        if task.node.metadata:
            md = {**task.node.metadata, **md}
        return _start_child(task.name, task.input, md, parent, task.config)

    def call_started(
        self, name: str, input: Any, path: tuple[Any, ...], ns: str, step: int, config: Any
    ) -> tuple[Any, dict[str, Any]]:
        md = _task_metadata(name, step, (PUSH,), path, ns)
        return _start_child(name, input, md, config.get("callbacks"), config)

    def task_finished(self, handle: Any, result: Any, error: BaseException | None) -> None:
        node_run, (config_token, run_token) = handle
        _node_run.reset(run_token)
        var_child_runnable_config.reset(config_token)
        if error is not None:
            node_run.on_chain_error(error)
            return
        for handler in node_run.handlers:
            if _StreamingCallbackHandler is not None and isinstance(
                handler, _StreamingCallbackHandler
            ):
                for _chunk in handler.tap_output_iter(node_run.run_id, iter([result])):
                    pass
        node_run.on_chain_end(result)

    def finished(self, output: Any, error: BaseException | None) -> None:
        if error is not None:
            self.run.on_chain_error(error)
        else:
            self.run.on_chain_end(output)


def start_graph_run(
    name: str,
    config: dict[str, Any],
    input: Any,
    modes: frozenset[str],
    live: observe.LiveChunks | None,
) -> GraphTracer | None:
    """Begin the graph's chain run, or return None when no handler would see it."""
    if live is None and _nobody_listens(config):
        return None
    nested = PARENT_KEY in config.get(CONF, {})
    config = dict(ensure_config(config))  # type: ignore[arg-type]
    metadata = {"ls_integration": "langgraph", **_configurable_metadata(config)}
    metadata.update(config.get("metadata") or {})
    manager = CallbackManager.configure(
        inheritable_callbacks=config.get("callbacks"),
        inheritable_tags=config.get("tags"),
        inheritable_metadata=metadata,
    )
    if live is not None:
        push = live.push
        manager.add_handler(
            StreamMessagesHandler(lambda ns, data: push(Emit("messages", data, ns)))
        )
    if not manager.handlers:
        return None
    run = manager.on_chain_start(
        None,
        input,
        name=config.get("run_name") or name,
        run_id=None if nested else config.get("run_id"),
    )
    return GraphTracer(run)


def _task_metadata(name: str, step: int, triggers: Any, path: Any, ns: str) -> dict[str, Any]:
    return {
        "langgraph_step": step,
        "langgraph_node": name,
        "langgraph_triggers": tuple(triggers),
        "langgraph_path": tuple(path),
        "langgraph_checkpoint_ns": ns,
    }


def _start_child(
    name: str, input: Any, md: dict[str, Any], parent: Any, base: Any
) -> tuple[Any, dict[str, Any]]:
    """Begin the chain run of a node or ``@task`` call under ``parent`` callbacks; enter
    LangChain's context so what it calls nests under it. Returns the handle and the config
    the code gets: ``base`` with the run's callbacks and ``md`` added to its metadata."""
    manager = CallbackManager.configure(inheritable_callbacks=parent, inheritable_metadata=md)
    run = manager.on_chain_start(None, input, name=name, run_id=uuid.uuid4())
    config = dict(base)
    config["callbacks"] = run.get_child("seq:step:1")
    config["metadata"] = {**(base.get("metadata") or {}), **md}
    config.pop("run_name", None)
    config.pop("run_id", None)  # the graph run's id: a model call must not reuse it
    tokens = (var_child_runnable_config.set(config), _node_run.set(run))  # type: ignore[arg-type]
    return (run, tokens), config


def run_child(name: str, fn: Any, arg: Any, config: Any, position: int) -> Any:
    """``fn(arg, config)`` as a chain run under the running node, tagged ``seq:step:<position>``
    (LangGraph's place for it in the node's sequence: after the node function, its state write
    and one write per static edge)."""
    node_run = _node_run.get()
    if node_run is None:
        return fn(arg, config)
    with chain_run(node_run.get_child(f"seq:step:{position}"), name, arg) as run:
        answer = run.output = fn(arg, {**config, "callbacks": run.callbacks.get_child()})
    return answer


class _ChainRun:
    """A chain run begun by ``chain_run``: its callbacks, and the output it ends with."""

    __slots__ = ("callbacks", "output")

    def __init__(self, callbacks: Any) -> None:
        self.callbacks = callbacks
        self.output: Any = None


@contextlib.contextmanager
def chain_run(callbacks: Any, name: str, input: Any) -> Iterator[_ChainRun]:
    """A chain run ``name`` under ``callbacks`` (a node config's ``"callbacks"``) for the
    ``with`` body: it ends with what the body puts in ``.output``, or errs with what the body
    raises. With no callbacks, no run and no cost."""
    if not callbacks:
        yield _ChainRun(None)
        return
    manager = CallbackManager.configure(inheritable_callbacks=callbacks)
    run = _ChainRun(manager.on_chain_start(None, input, name=name, run_id=uuid.uuid4()))
    try:
        yield run
    except BaseException as exc:
        run.callbacks.on_chain_error(exc)
        raise
    run.callbacks.on_chain_end(run.output)


def _nobody_listens(config: dict[str, Any]) -> bool:
    """Whether LangChain would give this run no handler: no callbacks in the config or the
    enclosing LangChain context, no LangSmith tracing, no debug, no configure hook switched on.
    (A fast path: ``CallbackManager.configure`` costs more than a small graph's run.)"""
    if config.get("callbacks"):
        return False
    context = var_child_runnable_config.get()
    if context and context.get("callbacks"):
        return False
    if get_debug() or _tracing_v2_is_enabled():
        return False
    for var, _inheritable, handler_class, env_var in _configure_hooks:
        if var.get() is not None or (
            handler_class is not None and env_var and os.environ.get(env_var)
        ):
            return False
    helpers = sys.modules.get("langsmith.run_helpers")  # loaded by anything that traces
    return helpers is None or helpers.get_tracing_context()["parent"] is None


def _configurable_metadata(config: Any) -> dict[str, Any]:
    """Scalar configurable values a run's metadata carries (``thread_id``, a user's keys)."""
    return {
        key: value
        for key, value in config.get("configurable", {}).items()
        if not key.startswith("__")
        and key not in _NOT_METADATA
        and isinstance(value, str | int | float | bool)
    }
