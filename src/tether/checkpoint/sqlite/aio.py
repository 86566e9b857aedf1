"""``AsyncSqliteSaver``: the SQLite saver under LangGraph's async module path and name.

It is ``SqliteSaver`` itself (async methods run the SQLite calls in worker threads; sync ones
work too, without deadlocking), so ``async with AsyncSqliteSaver.from_conn_string(path)`` and
``with SqliteSaver.from_conn_string(path)`` give the same saver.
"""

from __future__ import annotations

from tether.checkpoint.sqlite.saver import SqliteSaver


class AsyncSqliteSaver(SqliteSaver):
    """``SqliteSaver`` for code written ``async with AsyncSqliteSaver.from_conn_string(p)``."""


__all__ = ["AsyncSqliteSaver"]
