"""``AsyncPostgresSaver``: the PostgreSQL saver under LangGraph's async module path and name.

It is ``PostgresSaver`` itself: its async methods run the psycopg calls in worker threads (a
transaction never spans an ``await``), and its sync ones work too, so
``async with AsyncPostgresSaver.from_conn_string(url)`` and
``with PostgresSaver.from_conn_string(url)`` give the same saver (only ``setup`` differs: a
coroutine here, as in LangGraph).
"""

from __future__ import annotations

from tether.checkpoint.postgres.saver import PostgresSaver


class AsyncPostgresSaver(PostgresSaver):
    """``PostgresSaver`` for code written ``async with AsyncPostgresSaver.from_conn_string(u)``.

    As in LangGraph, its ``setup()`` is a coroutine: ``await saver.setup()``.
    """

    async def setup(self) -> None:  # type: ignore[override]
        """Create or upgrade the schema now (it also happens on first use). Idempotent."""
        await self._run_sync(PostgresSaver.setup, self)


__all__ = ["AsyncPostgresSaver"]
