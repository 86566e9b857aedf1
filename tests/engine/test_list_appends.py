"""Lists stored by serializing only what a step added (tether.checkpoint.appends,
tether.engine.reuse) and read by decoding only what was added (tether.checkpoint.serde.recent):
every value must still read back as a fresh, full decode of a fresh saver sees it."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from tether.checkpoint import appends
from tether.checkpoint.memory import InMemorySaver
from tether.checkpoint.serde import MsgpackSerializer
from tether.checkpoint.sqlite import SqliteSaver
from tether.errors import InvalidUpdateError
from tether.graph import END, START, StateGraph
from tether.graph.message import AIMessage, HumanMessage, MessagesState, RemoveMessage

Fresh = Callable[[dict[str, Any]], Any]
"""Reads a checkpoint tuple with nothing cached: a new serializer, or a new saver on the file."""


@pytest.fixture(params=["memory", "sqlite"])
def saver_and_fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Fresh]]:
    if request.param == "memory":
        saver: Any = InMemorySaver()

        def fresh(config: dict[str, Any]) -> Any:
            cached, saver.serde = saver.serde, MsgpackSerializer()
            try:
                return saver.get_tuple(config)
            finally:
                saver.serde = cached

        yield saver, fresh
        return
    path = str(tmp_path / "appends.db")
    saver = SqliteSaver(path=path)

    def fresh_file(config: dict[str, Any]) -> Any:
        with SqliteSaver(path=path) as other:
            return other.get_tuple(config)

    yield saver, fresh_file
    saver.close()


def _config(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _chat(node: Callable[[Any], Any], saver: Any, schema: Any = MessagesState) -> Any:
    builder = StateGraph(schema)
    builder.add_node("n", node)
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder.compile(checkpointer=saver)


def _stored(fresh: Fresh, config: dict[str, Any], key: str = "messages") -> Any:
    return fresh(config).checkpoint["channel_values"][key]


def _texts(messages: list[Any]) -> list[str]:
    return [m.content for m in messages]


def test_a_message_edited_in_place_and_returned_is_stored(saver_and_fresh: Any) -> None:
    saver, fresh = saver_and_fresh

    def node(state: Any) -> Any:
        if len(state["messages"]) < 4:
            return {"messages": [AIMessage(content=f"answer {len(state['messages'])}")]}
        first = state["messages"][0]
        first.content = "edited"  # the LangGraph-documented way: change it, return it
        return {"messages": [first]}

    app = _chat(node, saver)
    for turn in range(3):
        out = app.invoke({"messages": [HumanMessage(content=f"q{turn}")]}, _config())
    assert _texts(out["messages"])[0] == "edited"
    assert _stored(fresh, _config()) == out["messages"]
    assert _texts(_stored(fresh, _config())) == ["edited", "answer 1", "q1", "answer 3", "q2"]


def test_replace_by_id_and_remove_are_stored_exactly(saver_and_fresh: Any) -> None:
    saver, fresh = saver_and_fresh

    def node(state: Any) -> Any:
        messages = state["messages"]
        if len(messages) == 5:  # replace the first by id, remove the second
            return {
                "messages": [
                    HumanMessage(content="replaced", id=messages[0].id),
                    RemoveMessage(id=messages[1].id),
                ]
            }
        return {"messages": [AIMessage(content=f"a{len(messages)}")]}

    app = _chat(node, saver)
    for turn in range(4):
        out = app.invoke({"messages": [HumanMessage(content=f"q{turn}")]}, _config())
        assert _stored(fresh, _config()) == out["messages"]
    assert _texts(out["messages"]) == ["replaced", "a3", "q2", "q3"]  # 5 messages: twice


class Todos(TypedDict):
    todo: list[dict[str, Any]]
    items: Annotated[list[dict[str, Any]], operator.add]


def _todo_graph(node: Callable[[Any], Any], saver: Any) -> Any:
    return _chat(node, saver, Todos)


def test_a_dict_changed_in_place_and_the_list_returned_is_stored(saver_and_fresh: Any) -> None:
    saver, fresh = saver_and_fresh

    def node(state: Any) -> Any:
        state["todo"][0]["done"] = True
        return {"todo": state["todo"]}

    app = _todo_graph(node, saver)
    app.invoke({"todo": [{"task": "a", "done": False}, {"task": "b", "done": False}]}, _config())
    assert _stored(fresh, _config(), "todo") == [
        {"task": "a", "done": True},
        {"task": "b", "done": False},
    ]


def test_plain_dicts_in_an_appended_list_are_stored_after_any_node(saver_and_fresh: Any) -> None:
    """Plain data is serialized again after every node, even a change the node did not
    return (re-serializing dicts is cheap native code; changing them in place is idiomatic)."""
    saver, fresh = saver_and_fresh

    def node(state: Any) -> Any:
        if state["items"]:
            state["items"][0]["seen"] = len(state["items"])
        return {"items": [{"n": len(state["items"])}]}

    app = _todo_graph(node, saver)
    for _ in range(3):
        out = app.invoke({"items": []}, _config())
    assert out["items"] == [{"n": 0, "seen": 2}, {"n": 1}, {"n": 2}]
    assert _stored(fresh, _config(), "items") == out["items"]


def test_a_caller_changing_a_result_does_not_change_the_next_run(saver_and_fresh: Any) -> None:
    saver, _ = saver_and_fresh
    app = _chat(lambda state: {"messages": [AIMessage(content="a")]}, saver)
    out = app.invoke({"messages": [HumanMessage(content="q0")]}, _config())
    out["messages"].append(HumanMessage(content="injected"))
    out["messages"].pop(0)
    out = app.invoke({"messages": [HumanMessage(content="q1")]}, _config())
    assert _texts(out["messages"]) == ["q0", "a", "q1", "a"]
    again = app.invoke({"messages": [HumanMessage(content="q2")]}, _config())
    assert _texts(again["messages"]) == ["q0", "a", "q1", "a", "q2", "a"]

    todos = _todo_graph(lambda state: {"items": [{"n": len(state["items"])}]}, saver)
    got = todos.invoke({"items": []}, _config("dicts"))
    got["items"][0]["n"] = "changed by the caller"
    got["items"].append({"n": "appended by the caller"})
    assert todos.invoke({"items": []}, _config("dicts"))["items"] == [{"n": 0}, {"n": 1}]


def test_a_message_changed_in_place_without_returning_it_is_reported(
    saver_and_fresh: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule: a step stores what it returns. The check (on in the test suite) names the
    element; without it the stored message keeps the content it was stored with."""
    saver, fresh = saver_and_fresh

    def node(state: Any) -> Any:
        if len(state["messages"]) > 2:
            state["messages"][0].content = "changed, not returned"
        return {"messages": [AIMessage(content="a")]}

    app = _chat(node, saver)
    app.invoke({"messages": [HumanMessage(content="q0")]}, _config())
    monkeypatch.setattr(appends, "CHECK", True)
    with pytest.raises(InvalidUpdateError, match=r"state\.messages\[0\] changed in place"):
        app.invoke({"messages": [HumanMessage(content="q1")]}, _config("other"))
        app.invoke({"messages": [HumanMessage(content="q2")]}, _config("other"))
    monkeypatch.setattr(appends, "CHECK", False)
    app.invoke({"messages": [HumanMessage(content="q1")]}, _config())
    assert _texts(_stored(fresh, _config())) == ["q0", "a", "q1", "a"]


def test_every_checkpoint_of_a_conversation_reads_back_after_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "restart.db")

    def node(state: Any) -> Any:
        n = len(state["messages"])
        if n % 10 == 9:  # now and then an edit by id, to break the append-only pattern
            return {"messages": [AIMessage(content=f"edit {n}", id=state["messages"][1].id)]}
        return {"messages": [AIMessage(content=f"a{n}")]}

    with SqliteSaver(path=path) as saver:
        app = _chat(node, saver)
        seen = []
        for turn in range(50):
            out = app.invoke({"messages": [HumanMessage(content=f"q{turn}")]}, _config())
            seen.append(out["messages"])
        warm = {
            t.checkpoint["id"]: t.checkpoint["channel_values"].get("messages")
            for t in saver.list(_config())
        }
    with SqliteSaver(path=path) as restarted:
        cold = {
            t.checkpoint["id"]: t.checkpoint["channel_values"].get("messages")
            for t in restarted.list(_config())
        }
        head = restarted.get_tuple(_config())
    assert len(cold) == 150  # an input and a node checkpoint per turn, and the first input's
    assert cold == warm
    assert head.checkpoint["channel_values"]["messages"] == seen[-1]


def test_a_turn_serializes_and_decodes_only_the_new_messages(
    saver_and_fresh: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-turn work does not grow with the conversation: counted in calls of the codec's
    per-object hooks (one per message serialized, one per message decoded)."""
    from tether.checkpoint.serde._codec import Codec

    saver, _ = saver_and_fresh
    counts = {"encoded": 0, "decoded": 0}
    to_ext, ext_hook = Codec.to_ext, Codec.ext_hook

    def counting_to_ext(self: Codec, obj: Any) -> Any:
        counts["encoded"] += 1
        return to_ext(self, obj)

    def counting_ext_hook(self: Codec, code: int, data: bytes) -> Any:
        counts["decoded"] += 1
        return ext_hook(self, code, data)

    monkeypatch.setattr(Codec, "to_ext", counting_to_ext)
    monkeypatch.setattr(Codec, "ext_hook", counting_ext_hook)
    monkeypatch.setattr(appends, "CHECK", False)  # the check serializes everything again
    app = _chat(lambda state: {"messages": [AIMessage(content="a" * 200)]}, saver)
    per_turn = []
    for turn in range(30):
        before = dict(counts)
        app.invoke({"messages": [HumanMessage(content=f"q{turn}" * 100)]}, _config())
        per_turn.append({k: counts[k] - before[k] for k in counts})
    # Serialized: the question as the input checkpoint's __start__ value, as that task's
    # write and in the state; the answer as a write and in the state. Decoded at the start of
    # the next turn: the two messages the head added (a fresh saver would decode them all).
    assert [n["encoded"] for n in per_turn[5:]] == [5] * 25, per_turn
    assert [n["decoded"] for n in per_turn[5:]] == [2] * 25, per_turn


def test_an_element_replaced_in_the_state_list_is_stored(saver_and_fresh: Any) -> None:
    """A node that puts another message in the state's list (not returning it) changes the
    list, not a message: the list is compared element by element, so the change is stored;
    an element replaced by an equal object stores the same value either way."""
    saver, fresh = saver_and_fresh

    def node(state: Any) -> Any:
        messages = state["messages"]
        if len(messages) > 2:
            messages[0] = HumanMessage(content="swapped in", id=messages[0].id)
            messages[1] = AIMessage(content=messages[1].content, id=messages[1].id)  # equal
        return {"messages": [AIMessage(content="a")]}

    app = _chat(node, saver)
    app.invoke({"messages": [HumanMessage(content="q0")]}, _config())
    app.invoke({"messages": [HumanMessage(content="q1")]}, _config())
    assert _texts(_stored(fresh, _config())) == ["swapped in", "a", "q1", "a"]
    app.invoke({"messages": [HumanMessage(content="q2")]}, _config())
    assert _texts(_stored(fresh, _config())) == ["swapped in", "a", "q1", "a", "q2", "a"]


def test_a_turn_neither_copies_nor_compares_the_stored_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The in-memory saver stores a grown message list as a delta known to extend what it
    stored last (``tether.checkpoint.grown``): over a conversation, the bytes it joins stay
    within a few times the final value (full rows, at doubling sizes) and it compares none."""
    from tether.checkpoint import deltas, grown

    joined: list[int] = []
    compared: list[int] = []
    join, appended = grown.Grown.join, deltas.appended

    def counting_join(self: grown.Grown) -> bytes:
        data = join(self)
        joined.append(len(data))
        return data

    def counting_appended(old: bytes, new: bytes) -> Any:
        compared.append(len(old))
        return appended(old, new)

    monkeypatch.setattr(grown.Grown, "join", counting_join)
    monkeypatch.setattr(deltas, "appended", counting_appended)
    monkeypatch.setattr(appends, "CHECK", False)  # the check serializes everything again
    saver = InMemorySaver()
    app = _chat(lambda state: {"messages": [AIMessage(content="a" * 300)]}, saver)
    for turn in range(60):
        app.invoke({"messages": [HumanMessage(content=f"q{turn} " * 50)]}, _config())
    final = len(saver.serde.dumps_typed(app.get_state(_config()).values["messages"])[1])
    assert sum(joined) <= 4 * final, (joined, final)
    assert sum(compared) < final, compared  # only while the value is small (plain bytes)
    assert (
        saver.get_tuple(_config()).checkpoint["channel_values"]["messages"]
        == (app.get_state(_config()).values["messages"])
    )


def test_a_long_list_of_plain_dicts_is_read_fresh_by_every_run(saver_and_fresh: Any) -> None:
    """A history long enough for the serializer to keep its decoded dicts (serde.recent):
    changes made in place by a caller, or by a node whose step stores nothing, never reach a
    later run, and a change a step does store reads back in every later run."""
    saver, fresh = saver_and_fresh
    text = "x" * 200

    def node(state: Any) -> Any:
        items = state["items"]
        if len(items) == 8:  # changed in place; the channel is updated, so it is stored
            items[0]["n"] = "stored"
        return {"items": [{"n": len(items), "text": text}]}

    app = _todo_graph(node, saver)
    for _ in range(10):
        out = app.invoke({"items": []}, _config())
    out["items"][1]["n"] = "changed by the caller"
    del out["items"][2]["text"]

    def reader(state: Any) -> Any:  # changes a dict in place, stores nothing
        state["items"][3]["n"] = "changed by a node"
        return {}

    assert _todo_graph(reader, saver).invoke({"items": []}, _config())["items"][3]["n"] == (
        "changed by a node"
    )
    expected = [{"n": "stored" if i == 0 else i, "text": text} for i in range(11)]
    assert app.invoke({"items": []}, _config())["items"] == expected
    assert _stored(fresh, _config(), "items") == expected
    assert saver.get_tuple(_config()).checkpoint["channel_values"]["items"] == expected
