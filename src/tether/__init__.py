"""tether: durable graph workflows with a LangGraph-compatible API."""

__version__ = "0.1.0"
