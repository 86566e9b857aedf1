"""Build graphs: ``StateGraph``, ``START``/``END``, messages state and reducers."""

from tether.config import get_config, get_runtime, get_store, get_stream_writer
from tether.constants import END, START
from tether.graph.compiled import CompiledStateGraph
from tether.graph.message import MessagesState, add_messages
from tether.graph.state import StateGraph

__all__ = [
    "END",
    "START",
    "CompiledStateGraph",
    "MessagesState",
    "StateGraph",
    "add_messages",
    "get_config",
    "get_runtime",
    "get_store",
    "get_stream_writer",
]
