"""tether.messages and tether.graph.message: coercion, add_messages, MessagesState.

Most tests build expectations from ``message_classes()``, so they hold for both families (run
them with and without langchain-core installed). LangChain-only tests skip without it.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import uuid
from typing import Annotated, get_args, get_type_hints

import pytest

from tether import messages as tm
from tether.errors import ConfigurationError, InvalidUpdateError
from tether.graph.message import REMOVE_ALL_MESSAGES, MessagesState, add_messages
from tether.messages import (
    SERIALIZABLE_TYPES,
    convert_to_messages,
    message_classes,
    message_from_dict,
    message_to_dict,
)

M = message_classes()


def ids(msgs):
    return [m.id for m in msgs]


def is_uuid(value):
    return str(uuid.UUID(value)) == value


# --- coercion -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "content"),
    [
        ("hello", "human", "hello"),
        (("user", "u"), "human", "u"),
        (("human", "h"), "human", "h"),
        (("assistant", "a"), "ai", "a"),
        (("ai", "a"), "ai", "a"),
        (("system", "s"), "system", "s"),
        (["user", "as list"], "human", "as list"),
        ({"role": "user", "content": "d"}, "human", "d"),
        ({"role": "assistant", "content": "d"}, "ai", "d"),
        ({"role": "system", "content": "d"}, "system", "d"),
        ({"type": "human", "content": "lc-style"}, "human", "lc-style"),
        ({"type": "ai", "content": "lc-style"}, "ai", "lc-style"),
        ({"role": "user", "content": None}, "human", ""),
    ],
    ids=repr,
)
def test_coercion_forms(value, kind, content):
    [msg] = convert_to_messages([value])
    assert type(msg) is M.by_kind[kind]
    assert msg.type == kind
    assert msg.content == content
    assert msg.id is None  # convert_to_messages does not invent ids


def test_dict_keeps_id_name_and_tool_fields():
    calls = [{"name": "search", "args": {"q": "x"}, "id": "c1"}]
    ai, tool = convert_to_messages(
        [
            {"role": "assistant", "content": "", "id": "a1", "name": "bot", "tool_calls": calls},
            {"role": "tool", "content": "found", "tool_call_id": "c1", "id": "t1"},
        ]
    )
    assert (ai.id, ai.name) == ("a1", "bot")
    assert [(c["name"], c["args"], c["id"]) for c in ai.tool_calls] == [
        ("search", {"q": "x"}, "c1")
    ]
    assert isinstance(tool, M.tool)
    assert (tool.tool_call_id, tool.content, tool.id) == ("c1", "found", "t1")


def test_openai_style_tool_calls_are_converted():
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
    [ai] = convert_to_messages([{"role": "assistant", "content": "", "tool_calls": [call]}])
    assert [(c["name"], c["args"], c["id"]) for c in ai.tool_calls] == [("f", {"a": 1}, "c1")]


def test_message_objects_pass_through_unchanged():
    msg = M.ai(content="hi", id="1")
    assert convert_to_messages([msg])[0] is msg


@pytest.mark.parametrize(
    "bad",
    [5, None, {"content": "no role"}, {"role": "user"}, ("wizard", "x"), ("a", "b", "c")],
    ids=repr,
)
def test_unconvertible_values_raise_with_position(bad):
    with pytest.raises(InvalidUpdateError, match=r"messages\[1\]: cannot make a message"):
        convert_to_messages(["fine", bad])


def test_tool_dict_without_tool_call_id_is_rejected():
    with pytest.raises(InvalidUpdateError, match="tool_call_id"):
        convert_to_messages([{"role": "tool", "content": "x"}])


# --- add_messages ---------------------------------------------------------------------------


def test_appends_in_order_and_assigns_uuid_ids():
    out = add_messages([("user", "a")], ["b", {"role": "assistant", "content": "c"}])
    assert [m.content for m in out] == ["a", "b", "c"]
    assert [type(m) for m in out] == [M.human, M.human, M.ai]
    assert all(is_uuid(i) for i in ids(out))
    assert len(set(ids(out))) == 3


def test_single_message_on_either_side_is_wrapped():
    left = M.human(content="a", id="1")
    assert ids(add_messages(left, M.ai(content="b", id="2"))) == ["1", "2"]
    assert [m.content for m in add_messages([left], "just text")] == ["a", "just text"]
    assert [m.content for m in add_messages([left], ("assistant", "pair"))] == ["a", "pair"]
    assert [m.content for m in add_messages([], {"role": "user", "content": "d"})] == ["d"]


def test_replace_by_id_in_place():
    left = [M.human(content="a", id="1"), M.ai(content="b", id="2"), M.human(content="c", id="3")]
    out = add_messages(left, [M.ai(content="B!", id="2"), M.human(content="d", id="4")])
    assert ids(out) == ["1", "2", "3", "4"]
    assert out[1] == M.ai(content="B!", id="2")


def test_duplicate_new_ids_in_right_keep_the_last_one_at_the_first_position():
    out = add_messages([], [M.human(content="x", id="n"), M.human(content="y", id="n")])
    assert [(m.id, m.content) for m in out] == [("n", "y")]


def test_remove_by_id():
    left = [M.human(content=str(i), id=str(i)) for i in range(4)]
    out = add_messages(left, [M.remove(id="1"), M.remove(id="3")])
    assert ids(out) == ["0", "2"]


def test_remove_then_readd_in_same_update_keeps_the_message():
    left = [M.human(content="a", id="1"), M.human(content="b", id="2")]
    out = add_messages(left, [M.remove(id="1"), M.human(content="a2", id="1")])
    assert [(m.id, m.content) for m in out] == [("1", "a2"), ("2", "b")]


def test_remove_a_message_added_earlier_in_the_same_update():
    out = add_messages([], [M.human(content="a", id="x"), M.remove(id="x")])
    assert out == []


def test_remove_unknown_id_names_the_id():
    with pytest.raises(InvalidUpdateError, match=r"RemoveMessage\(id='nope'\) names no message"):
        add_messages([M.human(content="a", id="1")], [M.remove(id="nope")])


def test_remove_all_clears_everything_before_it():
    left = [M.human(content="a", id="1"), M.ai(content="b", id="2")]
    out = add_messages(left, [M.human(content="dropped", id="3"), M.remove(id=REMOVE_ALL_MESSAGES),
                              M.human(content="fresh", id="4"), "after"])  # fmt: skip
    assert [m.content for m in out] == ["fresh", "after"]
    assert add_messages(left, M.remove(id=REMOVE_ALL_MESSAGES)) == []


def test_does_not_mutate_inputs():
    bare = M.human(content="no id yet")
    left = [bare, M.ai(content="b", id="2")]
    right = [M.ai(content="B", id="2"), M.human(content="also bare"), M.remove(id="2")]
    left_before, right_before = copy.deepcopy(left), copy.deepcopy(right)
    out = add_messages(left, right)
    assert left == left_before and right == right_before
    assert bare.id is None
    assert out[0] is not bare and out[0].content == "no id yet" and is_uuid(out[0].id)
    assert [m.content for m in out] == ["no id yet", "also bare"]


def test_result_is_a_new_list_and_keeps_prefix_objects():
    left = [M.human(content="a", id="1")]
    out = add_messages(left, [])
    assert out == left and out is not left and out[0] is left[0]


def test_new_messages_without_ids_are_appended_with_fresh_ids_and_left_kept():
    """The common node output (messages with no id yet) takes a path that skips indexing
    ``left``; it must give what the indexed path gives."""
    left = [M.human(content="a", id="1"), M.ai(content="b", id="2")]
    bare = [M.ai(content="c"), M.human(content="d")]
    out = add_messages(left, [*bare, {"role": "user", "content": "e"}, "f"])
    assert [m.content for m in out] == ["a", "b", "c", "d", "e", "f"]
    assert out[0] is left[0] and out[1] is left[1] and out is not left
    assert all(is_uuid(m.id) for m in out[2:]) and len({m.id for m in out}) == 6
    assert all(m.id is None for m in bare)  # the caller's objects are copied, not given ids


def test_a_left_message_without_an_id_still_gets_one_when_right_is_bare():
    left = [M.human(content="a", id="1"), M.human(content="no id")]  # e.g. set by Overwrite
    out = add_messages(left, [M.ai(content="c")])
    assert [m.content for m in out] == ["a", "no id", "c"]
    assert out[1] is not left[1] and is_uuid(out[1].id) and left[1].id is None


def test_a_checked_result_changed_in_place_is_checked_again():
    """The append path remembers the lists it returned as checked; a list that was changed in
    place since (same length: an item replaced) must not pass as checked."""
    out = add_messages([M.human(content="a", id="1")], [M.ai(content="b")])
    out[0] = {"role": "user", "content": "a dict put in place"}
    again = add_messages(out, [M.ai(content="c")])
    assert type(again[0]) is type(M.human(content="x"))
    assert again[0].content == "a dict put in place"
    assert all(is_uuid(m.id) for m in again[:1]) and [m.content for m in again][1:] == ["b", "c"]

    out = add_messages([M.human(content="a", id="1")], [M.ai(content="b")])
    out[1] = M.ai(content="b")  # equal content, but no id
    again = add_messages(out, [M.ai(content="c")])
    assert is_uuid(again[1].id) and out[1].id is None


def test_a_result_grown_from_the_last_one_is_still_checked_after_a_change() -> None:
    """The copy kept of a result grows in place when the next call extends that very list;
    a change made to the result after that must still be caught."""
    out = add_messages([M.human(content="a", id="1")], [M.ai(content="b")])
    out = add_messages(out, [M.ai(content="c")])  # extends the list the first call returned
    out = add_messages(out, [M.ai(content="d")])
    out[1] = {"role": "assistant", "content": "a dict put in place"}
    again = add_messages(out, [M.ai(content="e")])
    assert type(again[1]) is type(M.ai(content="x")) and is_uuid(again[1].id)
    assert [m.content for m in again] == ["a", "a dict put in place", "c", "d", "e"]


def test_a_checked_result_equal_by_value_but_not_by_object_is_still_merged_right():
    first = add_messages([M.human(content="a", id="1")], [M.ai(content="b")])
    loaded = [copy.deepcopy(m) for m in first]  # as read back from a checkpoint
    out = add_messages(loaded, [M.ai(content="c")])
    assert out[0] is loaded[0] and out[1] is loaded[1] and [m.content for m in out] == list("abc")


def test_conversations_interleaved_keep_their_own_messages():
    a = add_messages([M.human(content="a0", id="a0")], [M.ai(content="a1")])
    b = add_messages([M.human(content="b0", id="b0")], [M.ai(content="b1")])
    for turn in range(2, 8):
        a = add_messages(a, [M.ai(content=f"a{turn}")])
        b = add_messages(b, [M.ai(content=f"b{turn}")])
    assert [m.content for m in a] == [f"a{i}" for i in range(8)]
    assert [m.content for m in b] == [f"b{i}" for i in range(8)]
    assert len({m.id for m in a + b}) == 16


def test_an_item_whose_comparison_fails_does_not_break_the_merge():
    class Grumpy:
        def __eq__(self, other):
            raise ValueError("cannot compare")

        __hash__ = object.__hash__

    out = add_messages([M.human(content="a", id="1")], [M.ai(content="b")])
    out[0] = Grumpy()  # not a message: the merge must name it, not fail comparing it
    with pytest.raises(InvalidUpdateError):
        add_messages(out, [M.ai(content="c")])


def test_missing_side_is_an_invalid_update():
    with pytest.raises(InvalidUpdateError, match="right is None"):
        add_messages([], None)
    with pytest.raises(InvalidUpdateError, match="left is None"):
        add_messages(None, [])


def test_bad_item_names_the_side_and_index():
    with pytest.raises(InvalidUpdateError, match=r"right\[1\]: cannot make a message from 42"):
        add_messages([], ["ok", 42])


def test_format_binding_and_unknown_format():
    reducer = add_messages(format=None)
    assert [m.content for m in reducer(["a"], ["b"])] == ["a", "b"]
    with pytest.raises(ConfigurationError, match="unknown format='xml'"):
        add_messages([], [], format="xml")  # type: ignore[call-overload]


def test_openai_format_without_langchain_is_a_clear_error():
    """Run where langchain-core cannot be imported (the test environment installs it)."""
    code = (
        "import sys\n"
        "sys.modules['langchain_core'] = None  # as if it were not installed\n"
        "from tether.errors import ConfigurationError\n"
        "from tether.graph import add_messages\n"
        "try:\n"
        "    add_messages([], ['a'], format='langchain-openai')\n"
        "except ConfigurationError as exc:\n"
        "    print('error:', exc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TETHER_MESSAGE_CLASSES"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "error:" in done.stdout and "needs langchain-core" in done.stdout


def test_large_merge_is_linear_and_correct():
    left = [M.human(content=str(i), id=str(i)) for i in range(5000)]
    right = [M.human(content="x", id=str(i)) for i in range(0, 5000, 2)] + ["new"]
    out = add_messages(left, right)
    assert len(out) == 5001
    assert [m.content for m in out[:4]] == ["x", "1", "x", "3"]


def test_messages_state_annotation():
    hints = get_type_hints(MessagesState, include_extras=True)
    list_type, reducer = get_args(hints["messages"])
    assert reducer is add_messages
    assert get_args(list_type) == (M.any_message,)
    assert Annotated[list[M.any_message], add_messages] == hints["messages"]


# --- tether's own classes -------------------------------------------------------------------


def test_tether_classes_attributes_and_types():
    assert [c.type for c in SERIALIZABLE_TYPES] == ["human", "ai", "system", "tool", "remove"]
    ai = tm.AIMessage("hi", id="1", tool_calls=[{"name": "f", "args": {}, "id": "c"}])
    assert (ai.content, ai.id, ai.name, ai.additional_kwargs, ai.response_metadata) == (
        "hi", "1", None, {}, {},
    )  # fmt: skip
    assert ai.usage_metadata is None and ai.invalid_tool_calls == []
    tool = tm.ToolMessage("r", tool_call_id="c")
    assert (tool.tool_call_id, tool.status, tool.artifact) == ("c", "success", None)
    assert tm.RemoveMessage("x").id == "x" and tm.RemoveMessage(id="x").content == ""
    with pytest.raises(ValueError, match="takes no content"):
        tm.RemoveMessage(id="x", content="boom")
    with pytest.raises(TypeError):
        tm.ToolMessage("missing tool_call_id")  # type: ignore[call-arg]


def test_tether_equality_is_by_value_and_class():
    assert tm.HumanMessage("a", id="1") == tm.HumanMessage("a", id="1")
    assert tm.HumanMessage("a", id="1") != tm.HumanMessage("a", id="2")
    assert tm.HumanMessage("a", id="1") != tm.AIMessage("a", id="1")
    assert tm.RemoveMessage("1") == tm.RemoveMessage("1")


def test_tether_repr_shows_only_non_default_fields():
    assert repr(tm.HumanMessage("hi", id="1")) == "HumanMessage(content='hi', id='1')"
    assert (
        repr(tm.ToolMessage("r", tool_call_id="c")) == "ToolMessage(content='r', tool_call_id='c')"
    )
    assert repr(tm.AIMessage("", name="bot")) == "AIMessage(content='', name='bot')"
    assert repr(tm.RemoveMessage("9")) == "RemoveMessage(content='', id='9')"


def test_tether_text_and_pretty_print(capsys):
    blocks = tm.HumanMessage(["a", {"type": "text", "text": "b"}, {"type": "image_url"}])
    assert blocks.text == "ab"
    tm.AIMessage(
        "hello", name="bot", tool_calls=[{"name": "f", "args": {"q": 1}, "id": "c"}]
    ).pretty_print()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "=" * 34 + " Ai Message " + "=" * 34
    assert printed[1:4] == ["Name: bot", "", "hello"]
    assert "  f (c)" in printed and "    q: 1" in printed


def test_tether_messages_copy_and_pickle_like_values():
    import pickle

    msg = tm.AIMessage("x", id="1", tool_calls=[{"name": "f", "args": {}, "id": "c"}])
    assert copy.copy(msg) == msg and copy.deepcopy(msg) == msg
    assert pickle.loads(pickle.dumps(msg)) == msg


def test_message_dict_round_trip():
    for msg in convert_to_messages(
        [
            {"role": "user", "content": "a", "id": "1", "name": "n"},
            {"role": "assistant", "content": "b", "id": "2", "tool_calls": [
                {"name": "f", "args": {"x": 1}, "id": "c"}]},
            {"role": "tool", "content": "r", "tool_call_id": "c", "id": "3"},
            {"role": "system", "content": "s", "id": "4"},
        ]
    ):  # fmt: skip
        d = message_to_dict(msg)
        assert d["type"] == msg.type and d["data"]["content"] == msg.content
        assert message_from_dict(d) == msg
    with pytest.raises(TypeError):
        message_to_dict("not a message")
    with pytest.raises(InvalidUpdateError, match="unknown message type"):
        message_from_dict({"type": "alien", "data": {}})


# --- family selection -----------------------------------------------------------------------


@pytest.fixture
def family_env(monkeypatch):
    """Set TETHER_MESSAGE_CLASSES for one test, re-deciding the family before and after."""

    def choose(value):
        monkeypatch.setenv("TETHER_MESSAGE_CLASSES", value)
        message_classes.cache_clear()
        return message_classes()

    yield choose
    monkeypatch.undo()
    message_classes.cache_clear()
    assert message_classes().family == M.family


def test_forced_tether_family(family_env):
    classes = family_env("tether")
    assert classes.family == "tether" and classes.human is tm.HumanMessage
    [msg] = add_messages([], ["hi"])
    assert type(msg) is tm.HumanMessage


def test_bad_family_choice_is_a_configuration_error(family_env):
    with pytest.raises(ConfigurationError, match="TETHER_MESSAGE_CLASSES='nope'"):
        family_env("nope")


def test_auto_family_prefers_langchain_when_installed(family_env):
    classes = family_env("auto")
    try:
        import langchain_core  # noqa: F401
    except ImportError:
        assert classes.family == "tether"
    else:
        assert classes.family == "langchain"


# --- langchain-core installed ---------------------------------------------------------------


def langchain_family():
    """langchain_core.messages, skipping unless it is installed and the active family."""
    lcm = pytest.importorskip("langchain_core.messages")
    if M.family != "langchain":
        pytest.skip("TETHER_MESSAGE_CLASSES chose tether's classes")
    return lcm


def test_langchain_family_produces_langchain_classes():
    lcm = langchain_family()
    assert M.family == "langchain"
    out = add_messages([("user", "a")], [{"role": "assistant", "content": "b"}, "c"])
    assert [type(m) for m in out] == [lcm.HumanMessage, lcm.AIMessage, lcm.HumanMessage]
    assert all(m.id for m in out)


def test_langchain_family_converts_tether_messages_and_chunks():
    lcm = langchain_family()
    calls = [{"name": "f", "args": {"a": 1}, "id": "c", "type": "tool_call"}]
    out = add_messages(
        [tm.HumanMessage("a", id="1")],
        [tm.AIMessage("b", id="2", tool_calls=calls), tm.ToolMessage("r", tool_call_id="c", id="3"),
         lcm.AIMessageChunk(content="chunk", id="4")],
    )  # fmt: skip
    assert [type(m) for m in out] == [
        lcm.HumanMessage,
        lcm.AIMessage,
        lcm.ToolMessage,
        lcm.AIMessage,
    ]
    assert out[1].tool_calls == calls and out[2].tool_call_id == "c"
    assert ids(add_messages(out, tm.RemoveMessage("2"))) == ["1", "3", "4"]


def test_langchain_remove_and_errors_are_tethers():
    lcm = langchain_family()
    left = [lcm.HumanMessage("a", id="1"), lcm.AIMessage("b", id="2")]
    assert ids(add_messages(left, [lcm.RemoveMessage(id="1")])) == ["2"]
    assert add_messages(left, [lcm.RemoveMessage(id=REMOVE_ALL_MESSAGES)]) == []
    with pytest.raises(InvalidUpdateError, match="names no message"):
        add_messages(left, [lcm.RemoveMessage(id="9")])
    with pytest.raises(InvalidUpdateError, match=r"right\[0\]: cannot make a message"):
        add_messages(left, [{"role": "wizard", "content": "x"}])


def test_langchain_bare_message_is_copied_not_mutated():
    lcm = langchain_family()
    bare = lcm.HumanMessage("a")
    [out] = add_messages([], [bare])
    assert bare.id is None and out.id and out.content == "a"


def test_langchain_openai_format():
    langchain_family()
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "1"}}
    out = add_messages([], [{"role": "user", "content": [{"type": "text", "text": "hi"}, block]}],
                       format="langchain-openai")  # fmt: skip
    assert out[0].content[1]["type"] == "image_url"
    assert out[0].id  # kept (LangGraph loses ids here)
    again = add_messages(out, [{"role": "user", "content": "edited", "id": out[0].id}],
                         format="langchain-openai")  # fmt: skip
    assert [(m.id, m.content) for m in again] == [(out[0].id, "edited")]


def test_forced_tether_family_translates_langchain_messages(family_env):
    lcm = pytest.importorskip("langchain_core.messages")
    family_env("tether")
    out = add_messages([lcm.HumanMessage("a", id="1")], [lcm.AIMessageChunk(content="b", id="2")])
    assert out == [tm.HumanMessage("a", id="1"), tm.AIMessage("b", id="2")]
