"""Exact ranking: both scoring paths (numpy and plain Python) equal a brute-force cosine."""

from __future__ import annotations

import math
import random

import pytest

from tether.store.vectors import best_scores, pack, rank, unpack


def brute(query: list[float], vector: list[float]) -> float:
    dot = math.fsum(a * b for a, b in zip(query, vector))
    norm = math.sqrt(math.fsum(a * a for a in query)) * math.sqrt(math.fsum(b * b for b in vector))
    return dot / norm if norm else 0.0


@pytest.mark.parametrize("use_numpy", [False, True], ids=["python", "numpy"])
def test_best_scores_equal_brute_force(use_numpy: bool) -> None:
    if use_numpy:
        pytest.importorskip("numpy")
    rng = random.Random(5)
    query = [rng.uniform(-1, 1) for _ in range(32)]
    items = [[[rng.uniform(-1, 1) for _ in range(32)] for _ in range(i % 4)] for i in range(300)]
    items[7] = [[0.0] * 32]  # a zero vector scores 0

    scores = best_scores(query, [[pack(v) for v in vs] for vs in items], use_numpy=use_numpy)

    for got, vectors in zip(scores, items):
        if not vectors:
            assert got is None
        else:
            assert got == pytest.approx(max(brute(query, v) for v in vectors), abs=1e-12)
    assert scores[7] == 0.0


def test_rank_orders_by_score_then_given_order_then_unscored() -> None:
    query = [1.0, 0.0]
    candidates = [
        ("none", []),
        ("half", [pack([1.0, 1.0])]),
        ("best", [pack([0.0, 1.0]), pack([2.0, 0.0])]),
        ("tie", [pack([1.0, 1.0])]),
        ("also-none", []),
    ]

    ranked = rank(query, candidates)

    assert [item for _, item in ranked] == ["best", "half", "tie", "none", "also-none"]
    assert ranked[0][0] == pytest.approx(1.0) and ranked[3][0] is None


def test_pack_round_trips_exactly() -> None:
    vector = [0.1, -2.5e-300, 1 / 3, 1e308]

    assert unpack(pack(vector)) == vector
