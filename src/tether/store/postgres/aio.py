"""``AsyncPostgresStore``: the PostgreSQL store under LangGraph's async module path and name.

It is ``PostgresStore`` itself: the async methods run the psycopg work in a worker thread, so
``async with AsyncPostgresStore.from_conn_string(url) as store:`` works, and so do the sync
methods outside a running event loop. As in LangGraph, its ``setup()`` is a coroutine.
"""

from __future__ import annotations

import asyncio

from tether.store.postgres.store import PostgresStore

__all__ = ["AsyncPostgresStore"]


class AsyncPostgresStore(PostgresStore):
    """``PostgresStore`` for code written ``async with AsyncPostgresStore.from_conn_string(u)``."""

    async def setup(self) -> None:  # type: ignore[override]
        """Create the store's tables if they do not exist (idempotent)."""
        await asyncio.to_thread(PostgresStore.setup, self)
