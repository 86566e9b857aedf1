"""One writer per thread: the lease a run holds on its thread, and its fencing token.

A run acquires a lease before it writes; every write it makes carries ``(owner, epoch)`` in
its config under ``LEASE_KEY``, and a saver that supports leases refuses a write whose token no
longer matches the thread's (the lease expired and another run took it: the epoch moved).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tether.constants import CONF

LEASE_KEY = "__tether_lease__"
"""Config key (under ``configurable``) carrying the writer's ``(owner, epoch)`` token."""

BusyPolicy = str
"""``"reject"`` (raise ``ThreadBusy`` at once) or ``"wait"`` (poll until free or timeout)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Lease:
    """A held lease: the thread, the holder's id, and the fencing epoch it was granted at."""

    thread_id: str
    owner: str
    epoch: int

    @property
    def token(self) -> tuple[str, int]:
        return (self.owner, self.epoch)


def lease_token(config: Mapping[str, Any] | None) -> tuple[str, int] | None:
    """The ``(owner, epoch)`` a write's config carries, if any."""
    if not config:
        return None
    token = (config.get(CONF) or {}).get(LEASE_KEY)
    if token is None:
        return None
    owner, epoch = token
    return str(owner), int(epoch)
