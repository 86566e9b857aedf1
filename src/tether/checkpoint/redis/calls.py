"""Running a script with many arguments: one frame packed here, sent on a pooled connection.

A step's commit is a script with about a hundred arguments. redis-py packs arguments one by one
in Python and wraps each command in retry, observability and pool bookkeeping; for the commit
path that costs more than the server spends running the script. ``ScriptCaller`` packs the
``EVALSHA`` frame itself (one ``bytes.join``), checks a connection out of the client's own pool,
sends the frame and reads the reply, with the client's retry policy on connection errors (the
connection is dropped and opened again, as redis-py does) and a reload on ``NOSCRIPT`` (a
restarted or flushed server). Replies are parsed by redis-py's parser, errors are redis-py's.

A cluster client, or a client bound to a single connection, goes through ``Script.__call__``
unchanged: the cluster routes by slot and follows redirections, which this shortcut does not.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any


def pack(parts: Iterable[str | bytes]) -> bytes:
    """A RESP command frame (an array of bulk strings) of ``parts``."""
    out = [b""]
    count = 0
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        count += 1
    out[0] = b"*%d\r\n" % count
    return b"".join(out)


class ScriptCaller:
    """Calls registered scripts (``client.register_script``) of one client."""

    def __init__(self, client: Any, *, is_cluster: bool) -> None:
        self.client = client
        pool = getattr(client, "connection_pool", None)
        self.pool = None if is_cluster or getattr(client, "connection", None) else pool
        self._checkout = _checkout(self.pool) if self.pool is not None else None

    def __call__(self, script: Any, keys: Sequence[str], args: Sequence[str | bytes]) -> Any:
        """The reply of ``script`` run on ``keys`` with ``args`` (redis-py errors on failure)."""
        if self._checkout is None:
            return script(keys=keys, args=args)
        redis = _exceptions()
        tail = [str(len(keys)).encode(), *keys, *args]
        conn = self._checkout()
        try:
            try:
                return _run(conn, pack([b"EVALSHA", script.sha, *tail]))
            except redis.NoScriptError:
                script.sha = self.client.script_load(script.script)
                return _run(conn, pack([b"EVALSHA", script.sha, *tail]))
        finally:
            assert self.pool is not None
            self.pool.release(conn)


def _run(conn: Any, frame: bytes) -> Any:
    """Send ``frame`` on ``conn`` and read the reply, retrying as the connection's policy says."""

    def attempt() -> Any:
        conn.send_packed_command([frame])
        return conn.read_response()

    return conn.retry.call_with_retry(attempt, lambda error: conn.disconnect())


def _checkout(pool: Any) -> Any:
    """``pool.get_connection`` called the way this redis-py wants (no arguments since 5.3)."""
    parameter = inspect.signature(pool.get_connection).parameters.get("command_name")
    if parameter is None or parameter.default is not inspect.Parameter.empty:
        return pool.get_connection
    return lambda: pool.get_connection("EVALSHA")


def _exceptions() -> Any:
    from redis import exceptions

    return exceptions
