"""Exact vector ranking: cosine similarity, an item scored by its best-matching text.

Vectors are kept as float64 bytes (``pack``), in memory and in SQLite alike. ``rank`` scores
every candidate against the query, so results equal a brute-force cosine ranking: no
approximate index, no recall loss. With numpy installed (``tether[embeddings]`` brings it) the
dot products run in numpy, about 30 times faster; without it, in plain Python. Both compute
float64 cosines; a zero vector scores 0.
"""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Sequence
from typing import Any, TypeVar

__all__ = ["best_scores", "pack", "rank", "unpack"]

T = TypeVar("T")


def pack(vector: Sequence[float]) -> bytes:
    """A vector as float64 bytes in native byte order (exact: Python floats are float64)."""
    packed = array("d", vector)
    if packed.itemsize != 8:  # pragma: no cover - every CPython platform has 8-byte doubles
        raise RuntimeError("float64 arrays are needed to store vectors")
    return packed.tobytes()


def unpack(data: bytes) -> list[float]:
    """The vector ``pack`` wrote."""
    return array("d", data).tolist()


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(map(operator.mul, vector, vector)))


def _scores_python(query: Sequence[float], blobs: list[bytes]) -> list[float]:
    query_norm = _norm(query)
    scores = []
    for blob in blobs:
        vector = array("d", blob)
        norms = query_norm * _norm(vector)
        scores.append(sum(map(operator.mul, query, vector)) / norms if norms else 0.0)
    return scores


def _scores_numpy(np: Any, query: Sequence[float], blobs: list[bytes]) -> list[float]:
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float64).reshape(len(blobs), -1)
    q = np.asarray(query, dtype=np.float64)
    with np.errstate(all="ignore"):
        norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(q)
        scores = np.where(norms > 0, (matrix @ q) / np.where(norms > 0, norms, 1.0), 0.0)
    result: list[float] = scores.tolist()
    return result


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def best_scores(
    query: Sequence[float], vectors: Sequence[Sequence[bytes]], *, use_numpy: bool | None = None
) -> list[float | None]:
    """Per candidate, the best cosine of its vectors with ``query`` (``None``: no vectors).

    ``use_numpy``: ``None`` uses numpy when it is installed; tests force either path.
    """
    owners = [i for i, blobs in enumerate(vectors) for _ in blobs]
    flat = [blob for blobs in vectors for blob in blobs]
    np = _numpy() if use_numpy is not False else None
    if not flat:
        scores: list[float] = []
    elif np is not None:
        scores = _scores_numpy(np, query, flat)
    else:
        scores = _scores_python(query, flat)
    best: list[float | None] = [None] * len(vectors)
    for owner, score in zip(owners, scores, strict=True):
        current = best[owner]
        if current is None or score > current:
            best[owner] = score
    return best


def rank(
    query: Sequence[float], candidates: Sequence[tuple[T, Sequence[bytes]]]
) -> list[tuple[float | None, T]]:
    """``candidates`` (item, packed vectors) as ``(score, item)``: items with vectors by their
    best cosine, highest first (ties keep the given order), then items without vectors,
    scored ``None``, in the given order."""
    best = best_scores(query, [vectors for _, vectors in candidates])
    scored = [(s, i) for i, s in enumerate(best) if s is not None]
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    ranked: list[tuple[float | None, T]] = [(score, candidates[i][0]) for score, i in scored]
    ranked += [(None, candidates[i][0]) for i, s in enumerate(best) if s is None]
    return ranked
