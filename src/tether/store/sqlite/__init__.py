"""The SQLite store: ``from tether.store.sqlite import SqliteStore``.

``tether.store.sqlite.aio.AsyncSqliteStore`` is the same store under LangGraph's async name.
"""

from tether.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
