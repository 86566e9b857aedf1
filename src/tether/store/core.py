"""What every tether store shares: ``batch``/``abatch`` written once, around embedding.

A batch runs in three steps. ``validate_ops`` checks every op. Then the texts to embed are
gathered (each put's fields, each search's query) and embedded in one call per kind, sync
or async: the only step that differs between ``batch`` and ``abatch``. Then the backend's
``_apply`` applies the ops in order with the vectors in hand, as plain data work.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from abc import abstractmethod
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from typing_extensions import Self

from tether.errors import ConfigurationError, SerializationError
from tether.store.base import BaseStore, Op, PutOp, Result, SearchOp, validate_ops
from tether.store.embed import Embedder, make_embedder
from tether.store.paths import parse_path, texts_at
from tether.store.ttl import Sweeper, check_ttl_config

__all__ = ["Embedded", "StoreCore", "Vector", "dumps_value"]

Vector = list[float]
_TICK = timedelta(microseconds=1)


class Embedded(NamedTuple):
    """The vectors of one batch: per put op index, ``(field path, text, vector)`` rows; per
    search op index, the query vector. Empty when the store has no index."""

    documents: dict[int, list[tuple[str, str, Vector]]]
    queries: dict[int, Vector]


_NOTHING = Embedded({}, {})


class _Wanted(NamedTuple):
    documents: dict[int, list[tuple[str, str]]]
    queries: dict[int, str]


class StoreCore(BaseStore):
    """Index and TTL configuration, the batch pipeline and the sweeper, for every backend.

    Subclasses call ``_configure`` from ``__init__`` and implement ``_apply`` and
    ``sweep_ttl``; a backend doing blocking I/O overrides ``_aapply`` to run it off the loop.
    """

    supports_ttl = True
    embedder: Embedder | None = None
    index_config: dict[str, Any] | None = None
    _fields: tuple[tuple[str, ...], ...] = ((),)
    _sweeper: Sweeper | None = None
    _last_now: datetime | None = None

    @staticmethod
    def _clock() -> datetime:
        """The wall clock (tests replace it on an instance to move time)."""
        return datetime.now(timezone.utc)

    def _configure(self, index: Any, ttl: Any) -> None:
        name = type(self).__name__
        self.ttl_config = check_ttl_config(ttl, name)
        if index is not None:
            self.embedder, self._fields = make_embedder(index, store=name)
            self.index_config = {**index, "dims": self.embedder.dims}

    def _now(self) -> datetime:
        """UTC now, strictly after the previous call's (clocks can stall or step back)."""
        now = self._clock()
        if self._last_now is not None and now <= self._last_now:
            now = self._last_now + _TICK
        self._last_now = now
        return now

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Validate ``ops``, embed what they need, then apply them in order."""
        checked = validate_ops(ops, supports_ttl=self.supports_ttl, store=type(self).__name__)
        wanted = self._wanted(checked)
        if self.embedder is None or not (wanted.documents or wanted.queries):
            return self._apply(checked, _NOTHING)
        texts = [text for rows in wanted.documents.values() for _, text in rows]
        docs = self.embedder.embed_documents(texts)
        queries = self.embedder.embed_queries(list(wanted.queries.values()))
        return self._apply(checked, _combine(wanted, docs, queries))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async twin of ``batch``: embeds with the async embedder, then ``_aapply``."""
        checked = validate_ops(ops, supports_ttl=self.supports_ttl, store=type(self).__name__)
        wanted = self._wanted(checked)
        if self.embedder is None or not (wanted.documents or wanted.queries):
            return await self._aapply(checked, _NOTHING)
        texts = [text for rows in wanted.documents.values() for _, text in rows]
        docs = await self.embedder.aembed_documents(texts)
        queries = await self.embedder.aembed_queries(list(wanted.queries.values()))
        return await self._aapply(checked, _combine(wanted, docs, queries))

    def _wanted(self, ops: list[Op]) -> _Wanted:
        wanted = _Wanted({}, {})
        if self.embedder is None:
            return wanted
        for i, op in enumerate(ops):
            if isinstance(op, SearchOp) and op.query:
                wanted.queries[i] = op.query
            elif isinstance(op, PutOp) and op.value is not None and op.index is not False:
                rows = [
                    (path, text)
                    for path, tokens in self._paths(op)
                    for text in texts_at(op.value, tokens)
                ]
                wanted.documents[i] = rows
        return wanted

    def _paths(self, op: PutOp) -> list[tuple[str, tuple[str, ...]]]:
        if isinstance(op.index, list):
            return [(field, parse_path(field)) for field in op.index]
        return [(_path_text(tokens), tokens) for tokens in self._fields]

    @abstractmethod
    def _apply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        """Apply validated ``ops`` in order, with their vectors; one result per op."""

    async def _aapply(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        return self._apply(ops, embedded)

    @abstractmethod
    def sweep_ttl(self) -> int:
        """Delete expired items now; return how many were deleted."""

    async def asweep_ttl(self) -> int:
        """Async twin of ``sweep_ttl``."""
        return await asyncio.to_thread(self.sweep_ttl)

    def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> concurrent.futures.Future[None]:
        """Run ``sweep_ttl`` every ``sweep_interval_minutes`` (default: the ``ttl`` config's
        ``sweep_interval_minutes``, else 5) on a daemon thread. Cancel the returned future, or
        call ``stop_ttl_sweeper``, to stop it."""
        minutes = sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes")
        minutes = minutes or 5
        if not isinstance(minutes, (int, float)) or minutes <= 0:
            raise ConfigurationError(f"sweep_interval_minutes must be positive, got {minutes!r}")
        if self._sweeper is None:
            self._sweeper = Sweeper(self.sweep_ttl)
        return self._sweeper.start(minutes)

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; True once it has ended (or none was running)."""
        return True if self._sweeper is None else self._sweeper.stop(timeout)

    def close(self) -> None:
        """Stop the sweeper; a backend holding connections closes them too."""
        self.stop_ttl_sweeper()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _path_text(tokens: tuple[str, ...]) -> str:
    if not tokens:
        return "$"
    return "".join(t if t.startswith("[") else f".{t}" for t in tokens).lstrip(".")


def _combine(wanted: _Wanted, docs: dict[str, Vector], queries: dict[str, Vector]) -> Embedded:
    return Embedded(
        {i: [(p, t, docs[t]) for p, t in rows] for i, rows in wanted.documents.items()},
        {i: queries[q] for i, q in wanted.queries.items()},
    )


def dumps_value(op: PutOp) -> str:
    """A put's value as JSON text, or a ``SerializationError`` saying what can be stored."""
    try:
        return json.dumps(op.value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise SerializationError(
            f"put({op.namespace!r}, {op.key!r}): the value cannot be stored as JSON ({error}); "
            "store strings, numbers, booleans, None, lists and dicts (no NaN or Infinity)"
        ) from error
