"""Checkpoint ids: UUID-formatted strings that sort by creation.

Layout is UUIDv6 (RFC 9562): a 60-bit count of 100 ns intervals since 1582-10-15 in the high
bits, then 62 random bits. Because the time sits in the high bits, the hex string of a newer id
is greater than the hex string of an older one, so "latest" is the maximum id. The same layout as
LangGraph's ids, so a thread moved from LangGraph keeps ordering when tether appends to it.

Within a process ids are strictly increasing, even when the clock stands still or goes
backwards (the timestamp is bumped past the last one issued), and generation is thread-safe.
Across processes only the random bits keep ids distinct; ordering there follows the clocks.
"""

from __future__ import annotations

import os
import random
import threading
import time

__all__ = ["new_checkpoint_id", "new_checkpoint_id_after"]

# 100 ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01.
_GREGORIAN_OFFSET = 0x01B21DD213814000
_VERSION_BITS = 0x6000  # version 6 in the 16 bits that hold the low 12 bits of time
_VARIANT_BITS = 0x8000  # RFC 4122 variant "10" in the top bits of the clock_seq field
_RANDOM_BITS = 62

_time_ns = time.time_ns  # module attribute so tests can stand the clock still or turn it back
_lock = threading.Lock()
_last_timestamp = 0
_last_id = ""  # an id this process made (its timestamp is at most _last_timestamp)


def _reset_after_fork() -> None:
    """Give a forked child a fresh lock (the parent may have held it while forking)."""
    global _lock  # noqa: PLW0603 - module state by design
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # pragma: no branch - absent only on exotic platforms
    os.register_at_fork(after_in_child=_reset_after_fork)


def _next_timestamp() -> int:
    """Return a 60-bit UUID timestamp strictly greater than every one returned before."""
    global _last_timestamp  # noqa: PLW0603 - module state by design
    now = _time_ns() // 100 + _GREGORIAN_OFFSET
    with _lock:
        if now <= _last_timestamp:
            now = _last_timestamp + 1
        _last_timestamp = now
    return now


def _timestamp_of(checkpoint_id: str) -> int | None:
    """The UUIDv6 timestamp of a tether/LangGraph id, or None for ids of another shape."""
    try:
        hexed = checkpoint_id.replace("-", "")
        if len(hexed) != 32 or hexed[12] != "6":
            return None
        return (int(hexed[0:8], 16) << 28) | (int(hexed[8:12], 16) << 12) | int(hexed[13:16], 16)
    except ValueError:
        return None


def new_checkpoint_id_after(previous: str | None) -> str:
    """A new id greater than ``previous`` too (the parent, maybe made on a machine whose clock
    runs ahead), so a thread's newest checkpoint always has its greatest id."""
    if previous is not None and previous != _last_id:  # one we made needs no parsing
        stamp = _timestamp_of(previous)
        if stamp is not None:
            global _last_timestamp  # noqa: PLW0603 - module state by design
            with _lock:
                _last_timestamp = max(_last_timestamp, stamp)
    return new_checkpoint_id()


def new_checkpoint_id() -> str:
    """Return a new checkpoint id, greater (as a string) than every id this process made before.

    >>> a, b = new_checkpoint_id(), new_checkpoint_id()
    >>> a < b and len(a) == 36
    True
    """
    global _last_id  # noqa: PLW0603 - module state by design
    timestamp = _next_timestamp()
    rand = random.getrandbits(_RANDOM_BITS)
    _last_id = made = "%08x-%04x-%04x-%04x-%012x" % (  # noqa: UP031 - measurably faster than f-strings here
        timestamp >> 28,  # time_high: 32 bits
        (timestamp >> 12) & 0xFFFF,  # time_mid: 16 bits
        _VERSION_BITS | (timestamp & 0x0FFF),  # version 6 + time_low: 12 bits
        _VARIANT_BITS | (rand >> 48),  # variant "10" + 14 random bits
        rand & 0xFFFF_FFFF_FFFF,  # 48 random bits
    )
    return made
