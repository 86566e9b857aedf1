"""The class a compiled graph gets: a LangChain ``Runnable`` when langchain-core is installed.

``import tether.graph`` imports no LangChain; the first compile does, when it is installed.
"""

from __future__ import annotations

from typing import Any


def runnable_class(cls: type) -> Any:
    """``cls``, made a LangChain ``Runnable`` if langchain-core can be imported."""
    try:
        import langchain_core  # noqa: F401
    except ImportError:
        return cls
    from tether.integrations.langchain import runnable_class as make

    return make(cls)
