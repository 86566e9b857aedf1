"""The PostgreSQL store: ``from tether.store.postgres import PostgresStore``.

``tether.store.postgres.aio.AsyncPostgresStore`` is the same store under LangGraph's async
name. Needs the ``tether[postgres]`` extra (psycopg 3 and psycopg_pool).
"""

from tether.store.postgres.aio import AsyncPostgresStore
from tether.store.postgres.store import PostgresStore

__all__ = ["AsyncPostgresStore", "PostgresStore"]
