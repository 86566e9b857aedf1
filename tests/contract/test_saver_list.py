"""Contract: list returns checkpoints newest first, filtered by thread, namespace, metadata,
an exclusive ``before`` cursor and a ``limit``."""

from __future__ import annotations

import pytest
from saver_kit import Driver, cfg, next_checkpoint, put_chain

from tether.errors import ConfigurationError


def ids_of(configs: list[dict]) -> list[str]:
    return [c["configurable"]["checkpoint_id"] for c in configs]


async def test_lists_a_thread_newest_first(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": i} for i in range(4)])
    await put_chain(saver, "t2", [{"a": 0}])
    listed = await saver.list(cfg("t1", ns=None))
    assert [t.config for t in listed] == configs[::-1]
    assert [t.checkpoint["channel_values"] for t in listed] == [{"a": i} for i in (3, 2, 1, 0)]
    assert listed[0].parent_config == configs[2]


async def test_config_none_lists_every_thread_newest_first(saver: Driver) -> None:
    t1 = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}])
    t2 = await put_chain(saver, "t2", [{"a": 1}])
    t3 = await put_chain(saver, "t3", [{"a": 1}], ns="child:1")
    listed = await saver.list(None)
    assert [t.config for t in listed] == sorted(
        t1 + t2 + t3, key=lambda c: c["configurable"]["checkpoint_id"], reverse=True
    )


async def test_config_none_with_limit_and_filter(saver: Driver) -> None:
    await put_chain(saver, "t1", [{"a": 1}, {"a": 2}], metadata={"user": "ann"})
    t2 = await put_chain(saver, "t2", [{"a": 1}, {"a": 2}], metadata={"user": "bob"})
    assert await saver.ids(None, filter={"user": "bob"}, limit=1) == ids_of(t2[-1:])


async def test_namespace_filters_only_when_given(saver: Driver) -> None:
    root = await put_chain(saver, "t1", [{"a": 1}])
    child = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}], ns="child:1")
    assert await saver.ids(cfg("t1", "")) == ids_of(root)
    assert await saver.ids(cfg("t1", "child:1")) == ids_of(child[::-1])
    assert await saver.ids(cfg("t1", ns=None)) == sorted(ids_of(root + child), reverse=True)


async def test_filter_by_source(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}, {"a": 3}])
    assert await saver.ids(cfg("t1"), filter={"source": "input"}) == ids_of(configs[:1])
    assert await saver.ids(cfg("t1"), filter={"source": "loop"}) == ids_of(configs[:0:-1])


async def test_filter_by_step(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}, {"a": 3}])
    assert await saver.ids(cfg("t1"), filter={"step": 0}) == ids_of(configs[1:2])


async def test_filter_keys_are_anded(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}], metadata={"user": "ann"})
    await put_chain(saver, "t1", [{"a": 3}], metadata={"user": "bob"}, parent=configs[-1])
    found = await saver.ids(cfg("t1"), filter={"user": "ann", "source": "loop"})
    assert found == ids_of(configs[1:])


async def test_filter_on_config_metadata_keys(saver: Driver) -> None:
    await put_chain(saver, "t1", [{"a": 1}])
    config = cfg("t1")
    config["metadata"] = {"user_id": "u-42"}
    checkpoint, versions = next_checkpoint(saver, None, {"a": 2})
    tagged = await saver.put(config, checkpoint, {"source": "input", "step": -1}, versions)
    assert await saver.ids(cfg("t1"), filter={"user_id": "u-42"}) == ids_of([tagged])


async def test_filter_without_match_is_empty(saver: Driver) -> None:
    await put_chain(saver, "t1", [{"a": 1}])
    assert await saver.list(cfg("t1"), filter={"source": "update"}) == []
    assert await saver.list(cfg("t1"), filter={"nope": None}) == []


async def test_filter_none_value_needs_the_key_present(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": 1}], metadata={"maybe": None})
    await put_chain(saver, "t2", [{"a": 1}])
    assert await saver.ids(None, filter={"maybe": None}) == ids_of(configs)


async def test_before_is_an_exclusive_cursor(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": i} for i in range(4)])
    assert await saver.ids(cfg("t1"), before=configs[2]) == ids_of(configs[1::-1])
    assert await saver.ids(cfg("t1"), before=configs[0]) == []


async def test_limit(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": i} for i in range(4)])
    assert await saver.ids(cfg("t1"), limit=2) == ids_of(configs[:1:-1])
    assert await saver.ids(cfg("t1"), limit=10) == ids_of(configs[::-1])


async def test_limit_and_before_page_through_history(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": i} for i in range(5)])
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await saver.list(cfg("t1"), before=cursor, limit=2)
        if not page:
            break
        pages.append([t.checkpoint["id"] for t in page])
        cursor = page[-1].config
    assert pages == [ids_of(configs[4:2:-1]), ids_of(configs[2:0:-1]), ids_of(configs[:1])]


async def test_unknown_thread_lists_nothing(saver: Driver) -> None:
    await put_chain(saver, "t1", [{"a": 1}])
    assert await saver.list(cfg("nobody")) == []


async def test_listed_tuples_carry_pending_writes(saver: Driver) -> None:
    first, second = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}])
    await saver.put_writes(first, [("a", "w")], "task")
    listed = await saver.list(cfg("t1"))
    assert [t.pending_writes for t in listed] == [[], [("task", "a", "w")]]


async def test_checkpoint_id_in_config_lists_that_checkpoint(saver: Driver) -> None:
    configs = await put_chain(saver, "t1", [{"a": 1}, {"a": 2}])
    assert await saver.ids(configs[0]) == ids_of(configs[:1])


async def test_before_without_checkpoint_id_is_a_clear_error(saver: Driver) -> None:
    with pytest.raises(ConfigurationError, match="before"):
        await saver.list(cfg("t1"), before=cfg("t1"))


async def test_config_without_thread_id_is_a_clear_error(saver: Driver) -> None:
    with pytest.raises(ConfigurationError, match="thread_id"):
        await saver.list({"configurable": {}})
