"""Exact vector ranking: cosine similarity, an item scored by its best-matching text.

Every store ranks with ``rank`` (or computes the same numbers in SQL), so results equal a
brute-force cosine ranking: no approximate index, no recall loss. A zero vector scores 0.
"""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["cosine", "pack", "rank", "unpack"]

T = TypeVar("T")


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(map(operator.mul, vector, vector)))


def cosine(
    query: Sequence[float], vector: Sequence[float], query_norm: float | None = None
) -> float:
    """Cosine similarity of two vectors of equal length (0.0 if either is all zeros)."""
    norms = (_norm(query) if query_norm is None else query_norm) * _norm(vector)
    return sum(map(operator.mul, query, vector)) / norms if norms else 0.0


def rank(
    query: Sequence[float], candidates: Sequence[tuple[T, Sequence[Sequence[float]]]]
) -> list[tuple[float | None, T]]:
    """``candidates`` as ``(score, item)``: items with vectors by their best cosine, highest
    first (ties keep the given order), then items without vectors, scored ``None``, in order."""
    query_norm = _norm(query)
    scored: list[tuple[float, int, T]] = []
    unscored: list[tuple[float | None, T]] = []
    for position, (item, vectors) in enumerate(candidates):
        if vectors:
            best = max(cosine(query, v, query_norm) for v in vectors)
            scored.append((best, position, item))
        else:
            unscored.append((None, item))
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    return [(score, item) for score, _, item in scored] + unscored


def pack(vector: Sequence[float]) -> bytes:
    """A vector as float64 bytes in native byte order (exact: Python floats are float64)."""
    packed = array("d", vector)
    if packed.itemsize != 8:  # pragma: no cover - every CPython platform has 8-byte doubles
        raise RuntimeError("float64 arrays are needed to store vectors")
    return packed.tobytes()


def unpack(data: bytes) -> list[float]:
    """The vector ``pack`` wrote."""
    return array("d", data).tolist()
