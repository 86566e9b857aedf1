"""Checkpoint ids: UUIDv6 strings, strictly increasing within a process, thread-safe."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tether.checkpoint import ids
from tether.checkpoint.ids import new_checkpoint_id

GREGORIAN_OFFSET = 0x01B21DD213814000


def embedded_timestamp(checkpoint_id: str) -> int:
    """The 60-bit UUIDv6 timestamp (100 ns units since 1582-10-15)."""
    high = uuid.UUID(checkpoint_id).int >> 64
    return ((high >> 16) << 12) | (high & 0x0FFF)


def test_id_is_a_version_6_rfc_uuid_string() -> None:
    checkpoint_id = new_checkpoint_id()
    parsed = uuid.UUID(checkpoint_id)
    assert str(parsed) == checkpoint_id  # canonical, lowercase, 36 characters
    assert parsed.version == 6
    assert parsed.variant == uuid.RFC_4122


def test_ids_sort_in_creation_order() -> None:
    made = [new_checkpoint_id() for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_id_embeds_the_creation_time() -> None:
    before = time.time_ns() // 100 + GREGORIAN_OFFSET
    stamp = embedded_timestamp(new_checkpoint_id())
    assert stamp >= before
    assert stamp - before < 60 * 10**7  # within a minute: it is a clock reading, not a counter


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """A clock returning the values pushed into the yielded list (last one repeats)."""
    readings: list[int] = []

    def time_ns() -> int:
        return readings.pop(0) if len(readings) > 1 else readings[0]

    monkeypatch.setattr(ids, "_time_ns", time_ns)
    yield readings


def test_ids_increase_when_the_clock_stands_still(fake_clock: list[int]) -> None:
    fake_clock.append(time.time_ns())
    made = [new_checkpoint_id() for _ in range(1000)]
    assert made == sorted(made)
    assert len(set(made)) == 1000


def test_ids_increase_when_the_clock_goes_backwards(fake_clock: list[int]) -> None:
    now = time.time_ns()
    fake_clock.extend([now, now - 10**9, now - 5 * 10**9, 0])
    made = [new_checkpoint_id() for _ in range(10)]
    assert made == sorted(made)
    assert len(set(made)) == 10


def test_ids_are_unique_and_ordered_across_threads() -> None:
    per_thread: dict[int, list[str]] = {}
    start = threading.Barrier(8)

    def work(index: int) -> None:
        start.wait()
        per_thread[index] = [new_checkpoint_id() for _ in range(2000)]

    workers = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    everything = [cid for made in per_thread.values() for cid in made]
    assert len(set(everything)) == 8 * 2000
    assert all(made == sorted(made) for made in per_thread.values())
    stamps = [embedded_timestamp(cid) for cid in everything]
    assert len(set(stamps)) == len(stamps)  # the lock hands out each timestamp once


def test_an_id_after_a_parent_sorts_after_it(fake_clock: list[int]) -> None:
    """After an id made here (not parsed again) or one from a clock running ahead (parsed)."""
    now = time.time_ns()
    fake_clock.append(now)
    chain = [ids.new_checkpoint_id_after(None)]
    for _ in range(5):
        chain.append(ids.new_checkpoint_id_after(chain[-1]))
    ahead = f"{int(chain[-1][:8], 16) + 9:08x}{chain[-1][8:]}"  # ~4 minutes ahead
    after = ids.new_checkpoint_id_after(ahead)
    assert chain == sorted(set(chain)) and after > ahead
    assert ids.new_checkpoint_id_after(after) > after
