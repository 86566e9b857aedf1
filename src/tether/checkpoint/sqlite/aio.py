"""``AsyncSqliteSaver``: the SQLite saver for asyncio code (LangGraph's module path and name).

It is ``SqliteSaver`` itself, whose async methods run the SQLite calls in worker threads; only
``from_conn_string`` differs: it is an async context manager here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from typing_extensions import Self

from tether.checkpoint.sqlite.saver import SqliteSaver


class AsyncSqliteSaver(SqliteSaver):
    """``SqliteSaver`` with an async ``from_conn_string``; sync methods work too (no deadlock)."""

    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls, conn_string: str, **options: Any
    ) -> AsyncIterator[Self]:
        """Open (creating if needed) the file at ``conn_string``; close on exit.

        Takes the options of ``SqliteSaver.from_conn_string``.
        """
        saver = cls.open(conn_string, **options)
        try:
            yield saver
        finally:
            saver.close()


__all__ = ["AsyncSqliteSaver"]
