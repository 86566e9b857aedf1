"""Running a script with many arguments: one frame packed here, sent on a pooled connection.

A step's commit is a script with about a hundred arguments. redis-py packs arguments one by one
in Python and wraps each command in retry, observability and pool bookkeeping; for the commit
path that costs more than the server spends running the script. ``ScriptCaller`` packs the
``EVALSHA`` frame itself (one ``bytes.join``), checks a connection out of the client's own pool,
sends the frame and reads the reply, with the client's retry policy on connection errors (the
connection is dropped and opened again, as redis-py does) and a reload on ``NOSCRIPT`` (a
restarted or flushed server). Replies are parsed by redis-py's parser, errors are redis-py's.
``many`` sends several calls in one frame and reads their replies (a pipeline without
redis-py's pipeline object).

A cluster client, or a client bound to a single connection, goes through ``Script.__call__``
unchanged: the cluster routes by slot and follows redirections, which this shortcut does not.
"""

from __future__ import annotations

import functools
import inspect
import os
import select
import socket
from collections.abc import Sequence
from typing import Any

Call = tuple[Any, Sequence[str], Sequence[str | bytes]]
"""One script call: (registered script, keys, arguments)."""


_PID = [os.getpid()]
"""This process's id, kept current across forks (no system call per check)."""
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))

_HEADS = [b"\r\n$%d\r\n" % n for n in range(4096)]
"""Bulk string headers of the lengths most arguments have, each led by the CRLF that ends the
item before it (so an argument is two pieces of the frame, not three)."""


def pack(parts: Sequence[str | bytes]) -> bytes:
    """A RESP command frame (an array of bulk strings) of ``parts``."""
    out = [b"*%d" % len(parts)]
    add = out.append
    for part in parts:
        data = part.encode() if part.__class__ is str else part
        size = len(data)
        add(_HEADS[size] if size < 4096 else b"\r\n$%d\r\n" % size)
        add(data)  # type: ignore[arg-type]
    add(b"\r\n")
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
        self._pid = _PID[0]

    def __call__(self, script: Any, keys: Sequence[str], args: Sequence[str | bytes]) -> Any:
        """The reply of ``script`` run on ``keys`` with ``args`` (redis-py errors on failure)."""
        return self.many([(script, keys, args)])[0]

    def many(self, calls: Sequence[Call]) -> list[Any]:
        """The replies of several script calls, sent together in one round trip and run by the
        server in order (each atomic on its own); the first error raises. Without the
        shortcut (a cluster client), the calls go one after another."""
        if self._checkout is None:
            return [script(keys=keys, args=args) for script, keys, args in calls]
        redis = _exceptions()
        conn = self._take()
        try:
            replies = _run(conn, b"".join(_frame(*call) for call in calls), len(calls))
        except BaseException:
            self._drop(conn)
            raise
        self._idle.append(conn)  # every reply was read: the connection is clean
        out = []
        for call, reply in zip(calls, replies, strict=True):
            if isinstance(reply, redis.NoScriptError):  # a restarted or flushed server
                script = call[0]
                script.sha = self.client.script_load(script.script)
                out.append(self.many([call])[0])
            elif isinstance(reply, redis.ResponseError):
                raise reply
            else:
                out.append(reply)
        return out

    def _take(self) -> Any:
        if self._pid != _PID[0]:
            self._idle, self._pid = [], _PID[0]
        try:
            conn = self._idle.pop()
        except IndexError:
            assert self._checkout is not None
            return self._checkout()
        redis = _exceptions()
        try:  # as the pool checks: a connection closed (or dirtied) while it sat idle reconnects
            if _stale(conn):
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
        if self.pool is not None and self._pid == _PID[0]:
            for conn in idle:
                self.pool.release(conn)


def _stale(conn: Any) -> bool:
    """Whether an idle connection has anything to read: bytes nobody asked for, or the end of
    a connection the server closed. A plain socket is polled (one system call); others (TLS,
    which may hold bytes a poll cannot see) are asked the way the pool asks."""
    sock = getattr(conn, "_sock", None)
    if sock is None:
        return False  # not connected: sending connects it
    if sock.__class__ is not socket.socket or not hasattr(select, "poll"):
        return bool(conn.can_read())
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _frame(script: Any, keys: Sequence[str], args: Sequence[str | bytes]) -> bytes:
    return pack([b"EVALSHA", script.sha, str(len(keys)), *keys, *args])


def _run(conn: Any, frames: bytes, count: int) -> list[Any]:
    """Send ``frames`` on ``conn`` and read ``count`` replies (an error reply is returned, not
    raised), retrying as the connection's policy says."""
    redis = _exceptions()

    def attempt() -> list[Any]:
        conn.send_packed_command([frames])
        replies = []
        for _ in range(count):
            try:
                replies.append(conn.read_response())
            except redis.ResponseError as error:
                replies.append(error)
        return replies

    return list(conn.retry.call_with_retry(attempt, lambda error: conn.disconnect()))


def _checkout(pool: Any) -> Any:
    """``pool.get_connection`` called the way this redis-py wants (no arguments since 5.3)."""
    parameter = inspect.signature(pool.get_connection).parameters.get("command_name")
    if parameter is None or parameter.default is not inspect.Parameter.empty:
        return pool.get_connection
    return lambda: pool.get_connection("EVALSHA")


@functools.cache
def _exceptions() -> Any:
    from redis import exceptions

    return exceptions
