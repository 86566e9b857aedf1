"""The base class and shared helpers of the saver contract (no backend involved)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tether.checkpoint.base import (
    LATEST_VERSION,
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointTuple,
    RunnableConfig,
    SyncBackedAsyncMixin,
    copy_checkpoint,
    empty_checkpoint,
    get_checkpoint_metadata,
    get_thread_id,
    index_writes,
    prune_keep_count,
)
from tether.checkpoint.serde import MsgpackSerializer
from tether.constants import ERROR, INTERRUPT, RESUME
from tether.errors import ConfigurationError, CorruptDataError


class Bare(BaseCheckpointSaver):
    """A saver that implements nothing."""


CONFIG = {"configurable": {"thread_id": "t", "checkpoint_id": "c"}}

SYNC_CALLS: dict[str, tuple[Any, ...]] = {
    "get_tuple": (CONFIG,),
    "list": (CONFIG,),
    "put": (CONFIG, {}, {}, {}),
    "put_writes": (CONFIG, [], "task"),
    "delete_thread": ("t",),
    "delete_for_runs": (["r"],),
    "copy_thread": ("a", "b"),
    "prune": (["t"],),
}


@pytest.mark.parametrize("method", list(SYNC_CALLS))
def test_unimplemented_sync_method_names_saver_and_method(method: str) -> None:
    with pytest.raises(NotImplementedError, match=rf"Bare\.{method}\(\) is not implemented"):
        getattr(Bare(), method)(*SYNC_CALLS[method])


@pytest.mark.parametrize("method", [m for m in SYNC_CALLS if m != "list"])
def test_unimplemented_async_method_names_saver_and_method(method: str) -> None:
    call = getattr(Bare(), "a" + method)(*SYNC_CALLS[method])
    with pytest.raises(NotImplementedError, match=rf"Bare\.a{method}\(\) is not implemented"):
        asyncio.run(call)


def test_unimplemented_alist_raises_when_called() -> None:
    with pytest.raises(NotImplementedError, match=r"Bare\.alist\(\)"):
        Bare().alist(None)


class OnlyGetTuple(SyncBackedAsyncMixin):
    """Implements get_tuple only; get/aget/aget_tuple come from the base and the mixin."""

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        if config["configurable"]["thread_id"] != "t":
            return None
        checkpoint = empty_checkpoint()
        return CheckpointTuple(config, checkpoint, {})


def test_get_and_async_twins_derive_from_get_tuple() -> None:
    saver = OnlyGetTuple()
    assert saver.get(CONFIG) is not None
    assert saver.get({"configurable": {"thread_id": "x"}}) is None
    assert asyncio.run(saver.aget(CONFIG)) is not None
    found = asyncio.run(saver.aget_tuple(CONFIG))
    assert found is not None
    assert found.config == CONFIG


def test_mixin_twin_of_a_missing_sync_method_names_it() -> None:
    with pytest.raises(NotImplementedError, match=r"OnlyGetTuple\.prune\(\)"):
        asyncio.run(OnlyGetTuple().aprune(["t"]))


def test_default_serializer_is_msgpack() -> None:
    assert isinstance(Bare().serde, MsgpackSerializer)


def test_with_allowlist_keeps_a_serializer_without_allowlist() -> None:
    class Plain:
        def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
            return "str", str(obj).encode()

        def loads_typed(self, data: tuple[str, bytes]) -> Any:
            return data[1].decode()

    plain = Plain()
    clone = Bare(serde=plain).with_allowlist([int])
    assert clone.serde is plain


def test_malformed_version_string_is_reported() -> None:
    with pytest.raises(CorruptDataError, match="'v7'"):
        Bare().get_next_version("v7")


def test_empty_checkpoint() -> None:
    first, second = empty_checkpoint(), empty_checkpoint()
    assert first["v"] == LATEST_VERSION
    assert first["id"] < second["id"]
    assert first["channel_values"] == first["channel_versions"] == first["versions_seen"] == {}
    assert first["updated_channels"] is None
    assert first["ts"].endswith("+00:00")


def test_copy_checkpoint_copies_containers() -> None:
    original: Checkpoint = empty_checkpoint()
    original["channel_values"]["a"] = [1]
    original["channel_versions"]["a"] = "1"
    original["versions_seen"]["node"] = {"a": "1"}
    original["updated_channels"] = ["a"]
    copied = copy_checkpoint(original)
    assert copied == original
    copied["channel_values"]["b"] = 2
    copied["channel_versions"]["a"] = "2"
    copied["versions_seen"]["node"]["a"] = "2"
    assert copied["updated_channels"] is not None
    copied["updated_channels"].append("b")
    assert original["channel_values"] == {"a": [1]}
    assert original["channel_versions"] == {"a": "1"}
    assert original["versions_seen"] == {"node": {"a": "1"}}
    assert original["updated_channels"] == ["a"]
    assert copied["channel_values"]["a"] is original["channel_values"]["a"]  # values shared


def test_get_checkpoint_metadata_merges_scalar_config_keys() -> None:
    config = {
        "configurable": {
            "thread_id": "t",
            "checkpoint_ns": "",
            "checkpoint_id": "c",
            "user_id": "u\x001",
            "__pregel_secret": "x",
            "flag": True,
            "ratio": 0.5,
            "obj": object(),
        },
        "metadata": {"user_id": "from-metadata", "team": "blue", "step": 99},
        "run_id": "not-copied",
    }
    merged = get_checkpoint_metadata(config, {"source": "loop", "step": 2, "note": "a\x00b"})
    assert merged == {
        "source": "loop",
        "step": 2,
        "note": "ab",
        "user_id": "from-metadata",
        "team": "blue",
        "flag": True,
        "ratio": 0.5,
    }


def test_get_thread_id_coerces_to_string() -> None:
    assert get_thread_id({"configurable": {"thread_id": 42}}) == "42"
    with pytest.raises(ConfigurationError, match="thread_id"):
        get_thread_id(None)


def test_index_writes() -> None:
    assert index_writes([("a", 1), (ERROR, "e"), ("b", 2)]) == (
        [(0, "a", 1), (-1, ERROR, "e"), (2, "b", 2)],
        False,
    )
    assert index_writes([(INTERRUPT, "i"), (RESUME, "r")]) == (
        [(-3, INTERRUPT, "i"), (-4, RESUME, "r")],
        True,
    )
    assert index_writes([]) == ([], False)


@pytest.mark.parametrize(
    ("strategy", "keep_last", "expected"),
    [("keep_latest", None, 1), ("keep_latest", 3, 3), ("delete", None, 0)],
    ids=["keep-latest", "keep-last-3", "delete"],
)
def test_prune_keep_count(strategy: str, keep_last: int | None, expected: int) -> None:
    assert prune_keep_count(strategy, keep_last) == expected


@pytest.mark.parametrize(
    ("strategy", "keep_last"),
    [("keep_all", None), ("keep_latest", 0), ("keep_latest", True), ("delete", 1)],
    ids=["unknown", "zero", "bool", "delete-with-keep"],
)
def test_prune_keep_count_rejects(strategy: str, keep_last: Any) -> None:
    with pytest.raises(ConfigurationError):
        prune_keep_count(strategy, keep_last)
