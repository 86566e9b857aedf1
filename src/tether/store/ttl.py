"""Item time-to-live: the ``ttl=`` config, expiry times and the optional background sweeper.

An item put with ``ttl=<minutes>`` expires that many minutes after it was written, or after
it was last read when reads refresh it (``refresh_ttl=True``, or ``refresh_on_read`` in the
store's config, the default). An expired item is never returned by ``get``, ``search`` or
``list_namespaces``, whether or not a sweep has deleted it yet; ``sweep_ttl()`` deletes
expired items and ``start_ttl_sweeper()`` runs it every ``sweep_interval_minutes``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypedDict

from tether.errors import ConfigurationError

__all__ = ["Sweeper", "TTLConfig", "check_ttl_config", "expiry"]

logger = logging.getLogger("tether.store")


class TTLConfig(TypedDict, total=False):
    """``ttl=`` of a store: ``default_ttl`` (minutes, for puts without ``ttl=``),
    ``refresh_on_read`` (default True), ``sweep_interval_minutes`` (for the sweeper).
    ``omit_expired`` is accepted for LangGraph's sake: tether always omits expired items."""

    refresh_on_read: bool
    default_ttl: float | None
    sweep_interval_minutes: float | None
    omit_expired: bool


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def check_ttl_config(ttl: Any, store: str) -> TTLConfig | None:
    """Return ``ttl`` if it is a valid ``TTLConfig`` (or ``None``); raise naming what is wrong."""
    if ttl is None:
        return None
    if not isinstance(ttl, dict):
        raise ConfigurationError(
            f"{store}(ttl=...) must be a dict like {{'default_ttl': 60}}, got {ttl!r}"
        )
    unknown = set(ttl) - set(TTLConfig.__annotations__)
    if unknown:
        raise ConfigurationError(
            f"{store}(ttl=...): unknown keys {sorted(unknown)}; use "
            f"{sorted(TTLConfig.__annotations__)}"
        )
    for key in ("default_ttl", "sweep_interval_minutes"):
        if ttl.get(key) is not None and not _positive(ttl[key]):
            raise ConfigurationError(
                f"{store}(ttl=...): {key} must be a positive number of minutes, got {ttl[key]!r}"
            )
    return TTLConfig(**ttl)


def expiry(now: datetime, minutes: float | None) -> datetime | None:
    """When an item with a ``minutes`` TTL, written or refreshed at ``now``, expires."""
    return None if minutes is None else now + timedelta(minutes=minutes)


class Sweeper:
    """Runs a store's ``sweep_ttl`` on a daemon thread every interval until stopped."""

    def __init__(self, sweep: Callable[[], int]) -> None:
        self._sweep = sweep
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._future: concurrent.futures.Future[None] | None = None

    def start(self, minutes: float) -> concurrent.futures.Future[None]:
        """Start sweeping (or return the running sweeper's future); cancel it to stop."""
        if self._thread is not None and self._thread.is_alive() and self._future is not None:
            return self._future
        self._stop.clear()
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.add_done_callback(lambda f: self._stop.set() if f.cancelled() else None)
        self._future = future
        self._thread = threading.Thread(
            target=self._loop, args=(minutes * 60, future), daemon=True, name="tether-ttl-sweeper"
        )
        self._thread.start()
        return future

    def _loop(self, seconds: float, future: concurrent.futures.Future[None]) -> None:
        while not self._stop.wait(seconds):
            try:
                removed = self._sweep()
            except Exception:
                logger.exception("store TTL sweep failed; the sweeper will try again")
            else:
                if removed:
                    logger.info("store TTL sweep deleted %d expired items", removed)
        if not future.done():
            future.set_result(None)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True once its thread has ended (or none was running)."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
