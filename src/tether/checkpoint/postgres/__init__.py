"""PostgreSQL persistence: ``PostgresSaver`` (sync and async methods), in ``tether[postgres]``.

``AsyncPostgresSaver`` (also in ``tether.checkpoint.postgres.aio``) is the same saver under
LangGraph's async name. psycopg is imported when this package is, with an error naming the
extra to install when it is missing.
"""

from tether.checkpoint.postgres.aio import AsyncPostgresSaver
from tether.checkpoint.postgres.saver import PostgresSaver

__all__ = ["AsyncPostgresSaver", "PostgresSaver"]
