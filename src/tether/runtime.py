"""``Runtime``: what a node gets as its keyword-only ``runtime`` argument (LangGraph's name)."""

from tether.config import get_runtime
from tether.engine.runtime import Runtime

__all__ = ["Runtime", "get_runtime"]
