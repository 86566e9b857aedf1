"""LangChain integration: the compiled graph as a ``Runnable``, callbacks, ``messages`` stream.

Importing it needs ``langchain-core``; ``StateGraph.compile()`` and ``@entrypoint`` import it
when langchain-core is installed, which registers the run observer with the engine.
"""

from tether.engine import observe
from tether.integrations.langchain.messages import StreamMessagesHandler
from tether.integrations.langchain.runnable import runnable_class
from tether.integrations.langchain.tracing import run_child, start_graph_run

observe.register(start_graph_run, run_child)

__all__ = ["StreamMessagesHandler", "run_child", "runnable_class", "start_graph_run"]
