"""``stream_mode="messages"``: chat model tokens and node-returned messages, with metadata.

A callback handler added to a root run's callbacks (subgraphs inherit it). It streams:
- each token chunk a chat model produces inside a node, as ``(AIMessageChunk, metadata)``
  (being a streaming handler makes ``model.invoke()`` stream under the hood, as in LangGraph);
- a model's whole message when it did not stream;
- messages a node returns (in its update, a ``Command.update`` or a list) that were neither
  streamed nor part of the node's input.

``metadata`` is the model run's (``langgraph_node``, ``langgraph_step``, ``langgraph_path``,
``langgraph_triggers``, ``langgraph_checkpoint_ns``, ``checkpoint_ns``, ``ls_*`` ...) plus
``tags`` (the user's tags) when there are any. A model tagged ``nostream`` is left out.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk

from tether.constants import NS_SEP
from tether.engine.task import PUSH
from tether.types import Command

NOSTREAM = "nostream"
"""Tag a chat model with it (``model.with_config(tags=["nostream"])``) to keep it out."""
HIDDEN = "langsmith:hidden"

Meta = tuple[tuple[str, ...], dict[str, Any]]


def graph_namespace(metadata: dict[str, Any]) -> tuple[str, ...]:
    """The stream namespace of the graph a node runs in: its checkpoint namespace minus its own
    segment, and minus one more per enclosing ``@task`` call (a call's path is
    ``(PUSH, caller's path, index, True)``; it runs in its caller's graph)."""
    ns = tuple(str(metadata["langgraph_checkpoint_ns"]).split(NS_SEP))
    path = metadata.get("langgraph_path", ())
    drop = 1
    while isinstance(path, tuple) and len(path) == 4 and path[0] == PUSH and path[3] is True:
        drop += 1
        path = path[1]
    return ns[:-drop]


def _user_tags(tags: Sequence[str] | None) -> list[str]:
    return [t for t in tags or () if not t.startswith("seq:step:")]


class StreamMessagesHandler(BaseCallbackHandler):
    """Turns chat model and node runs of a graph into ``messages`` stream chunks."""

    run_inline = True  # called in the thread of the run it watches, in order

    def __init__(self, emit: Callable[[tuple[str, ...], Any], None]) -> None:
        self.emit = emit
        self.runs: dict[uuid.UUID, Meta] = {}
        self.seen: set[str] = set()

    # Being a streaming handler is what makes chat models stream tokens inside invoke().
    def tap_output_iter(self, run_id: uuid.UUID, output: Iterator[Any]) -> Iterator[Any]:
        return output

    def tap_output_aiter(self, run_id: uuid.UUID, output: Any) -> Any:
        return output

    def _send(self, meta: Meta, message: BaseMessage, *, once: bool) -> None:
        if once and message.id in self.seen:
            return
        if message.id is None:
            message.id = str(uuid.uuid4())
        self.seen.add(message.id)
        self.emit(meta[0], (message, meta[1]))

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: uuid.UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not metadata or "langgraph_checkpoint_ns" not in metadata:
            return
        if tags and NOSTREAM in tags:
            return
        user_tags = _user_tags(tags)
        if user_tags:
            metadata = {**metadata, "tags": user_tags}
        self.runs[run_id] = (graph_namespace(metadata), metadata)

    def on_llm_new_token(
        self, token: Any, *, chunk: Any = None, run_id: uuid.UUID, **kwargs: Any
    ) -> None:
        meta = self.runs.get(run_id)
        if meta is not None and isinstance(chunk, ChatGenerationChunk):
            self._send(meta, chunk.message, once=False)

    def on_llm_end(self, response: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        meta = self.runs.pop(run_id, None)
        if meta is None or not response.generations or not response.generations[0]:
            return
        generation = response.generations[0][0]
        if isinstance(generation, ChatGeneration):
            self._send(meta, generation.message, once=True)

    def on_llm_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self.runs.pop(run_id, None)

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: uuid.UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not metadata or kwargs.get("name") != metadata.get("langgraph_node"):
            return
        if tags and HIDDEN in tags:
            return
        self.runs[run_id] = (graph_namespace(metadata), metadata)
        for message in _messages_in(inputs):
            if message.id is not None:
                self.seen.add(message.id)

    def on_chain_end(self, outputs: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        meta = self.runs.pop(run_id, None)
        if meta is None:
            return
        updates = outputs if isinstance(outputs, list | tuple) else [outputs]
        for item in updates:
            update = item.update if isinstance(item, Command) else item
            for message in _messages_in(update):
                self._send(meta, message, once=True)

    def on_chain_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self.runs.pop(run_id, None)


def _messages_in(value: Any) -> Iterator[BaseMessage]:
    """Messages in a state, an update, or a list of either, one level deep in each field."""
    if isinstance(value, BaseMessage):
        yield value
        return
    if isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, BaseMessage):
                yield item
        return
    for field in _field_values(value):
        if isinstance(field, BaseMessage):
            yield field
        elif isinstance(field, list | tuple):
            yield from (item for item in field if isinstance(item, BaseMessage))


def _field_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, dict):
        return [getattr(value, name) for name in fields]
    return []
