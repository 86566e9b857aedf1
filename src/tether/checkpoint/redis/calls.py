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
import os
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
    """Calls registered scripts (``client.register_script``) of one client.

    Connections are checked out of the client's pool once and kept on a free list of this
    caller's (a call takes one, and puts it back when the reply is read), so the pool's
    bookkeeping is not paid on every step; ``close`` gives them back to the pool. As the pool
    does, a connection taken from the list is checked first (closed by the server, or holding
    stray bytes: opened again). A call that ends in anything but a reply or a Redis error drops
    its connection (it may hold unread bytes). After a fork the child starts a list of its own.
    """

    def __init__(self, client: Any, *, is_cluster: bool) -> None:
        self.client = client
        pool = getattr(client, "connection_pool", None)
        self.pool = None if is_cluster or getattr(client, "connection", None) else pool
        self._checkout = _checkout(self.pool) if self.pool is not None else None
        self._idle: list[Any] = []
        self._pid = os.getpid()

    def __call__(self, script: Any, keys: Sequence[str], args: Sequence[str | bytes]) -> Any:
        """The reply of ``script`` run on ``keys`` with ``args`` (redis-py errors on failure)."""
        if self._checkout is None:
            return script(keys=keys, args=args)
        redis = _exceptions()
        tail = [str(len(keys)).encode(), *keys, *args]
        conn = self._take()
        try:
            try:
                reply = _run(conn, pack([b"EVALSHA", script.sha, *tail]))
            except redis.NoScriptError:
                script.sha = self.client.script_load(script.script)
                reply = _run(conn, pack([b"EVALSHA", script.sha, *tail]))
        except redis.ResponseError:
            self._idle.append(conn)  # a whole error reply was read: the connection is clean
            raise
        except BaseException:
            self._drop(conn)
            raise
        self._idle.append(conn)
        return reply

    def _take(self) -> Any:
        if self._pid != os.getpid():
            self._idle, self._pid = [], os.getpid()
        try:
            conn = self._idle.pop()
        except IndexError:
            assert self._checkout is not None
            return self._checkout()
        redis = _exceptions()
        try:  # as the pool checks: a connection closed (or dirtied) while it sat idle reconnects
            if conn.can_read():
                conn.disconnect()
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            conn.disconnect()
        return conn

    def _drop(self, conn: Any) -> None:
        conn.disconnect()
        if self.pool is not None:
            self.pool.release(conn)

    def close(self) -> None:
        """Give the kept connections back to the pool."""
        idle, self._idle = self._idle, []
        if self.pool is not None and self._pid == os.getpid():
            for conn in idle:
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
