"""Contract: channel versions and the serializer allowlist, identical for every saver."""

from __future__ import annotations

import dataclasses

import pytest
from saver_kit import cfg, next_checkpoint

from tether.checkpoint.base import BaseCheckpointSaver
from tether.errors import SerializationError


@dataclasses.dataclass
class Point:
    x: int
    y: int


def counter(version: str) -> int:
    return int(version.split(".", 1)[0])


def test_first_version_is_a_string(raw_saver: BaseCheckpointSaver) -> None:
    first = raw_saver.get_next_version(None)
    assert isinstance(first, str)
    assert counter(first) == 1


def test_versions_increase_in_string_order(raw_saver: BaseCheckpointSaver) -> None:
    versions = [raw_saver.get_next_version(None)]
    for _ in range(120):  # crosses digit-count boundaries (9 -> 10, 99 -> 100)
        versions.append(raw_saver.get_next_version(versions[-1]))
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    assert [counter(v) for v in versions] == list(range(1, 122))


def test_two_branches_from_one_version_get_distinct_versions(
    raw_saver: BaseCheckpointSaver,
) -> None:
    base = raw_saver.get_next_version(raw_saver.get_next_version(None))
    branches = {raw_saver.get_next_version(base) for _ in range(50)}
    assert len(branches) == 50
    assert all(branch > base for branch in branches)


@pytest.mark.parametrize(
    ("current", "expected"),
    [(None, 1), (0, 1), (41, 42), (7.0, 8), ("00000000000000000000000000000009.0.123", 10)],
    ids=["none", "int-zero", "int", "float", "langgraph-string"],
)
def test_next_version_accepts_langgraph_versions(
    raw_saver: BaseCheckpointSaver, current: object, expected: int
) -> None:
    assert counter(raw_saver.get_next_version(current)) == expected  # type: ignore[arg-type]


def test_with_allowlist_shares_storage_and_extends_types(raw_saver: BaseCheckpointSaver) -> None:
    checkpoint, versions = next_checkpoint(raw_saver, None, {"p": Point(1, 2)})
    with pytest.raises(SerializationError, match="Point"):
        raw_saver.put(cfg("t1"), checkpoint, {}, versions)
    clone = raw_saver.with_allowlist([Point])
    assert type(clone) is type(raw_saver)
    config = clone.put(cfg("t1"), checkpoint, {}, versions)
    found = clone.get_tuple(config)
    assert found is not None
    assert found.checkpoint["channel_values"] == {"p": Point(1, 2)}
    # Same storage, original serializer unchanged: the original finds the row, refuses the type.
    with pytest.raises(SerializationError, match="Point"):
        raw_saver.get_tuple(config)
