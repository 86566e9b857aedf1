"""``AsyncSqliteStore``: the SQLite store under LangGraph's async module path and name.

It is ``SqliteStore`` itself: the async methods run the SQLite work in a worker thread, so
``async with AsyncSqliteStore.from_conn_string(path) as store:`` works, and so do the sync
methods outside a running event loop.
"""

from __future__ import annotations

from tether.store.sqlite.store import SqliteStore

__all__ = ["AsyncSqliteStore"]


class AsyncSqliteStore(SqliteStore):
    """``SqliteStore`` for code written ``async with AsyncSqliteStore.from_conn_string(p)``."""
