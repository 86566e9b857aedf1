"""The serializer as a security boundary: allowlists, write-time path errors, read-time refusals."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import operator
import sys
from typing import Annotated, Any, Literal, NamedTuple, Optional, TypedDict

import ormsgpack
import pydantic
import pytest

from tether.checkpoint.serde import (
    JsonPlusSerializer,
    MsgpackSerializer,
    UnstorableValue,
    allowlist_from_schema,
    qualified_name,
    register,
)
from tether.errors import ConfigurationError, CorruptDataError, SerializationError


class Foo:
    """An arbitrary class: never storable."""


@dataclasses.dataclass
class Note:
    text: Any


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class Dumb(pydantic.BaseModel):
    value: int


def test_unregistered_class_fails_at_write_with_its_path() -> None:
    serde = MsgpackSerializer(allowlist=[Note])
    state = {"messages": ["a", "b", {"role": "x"}, Note(text={"content": [1, Foo()]})]}
    with pytest.raises(UnstorableValue) as info:
        serde.dumps_typed(state)
    err = info.value
    assert isinstance(err, SerializationError)
    assert err.path == ("messages", 3, "text", "content", 1)
    assert err.value_type is Foo
    assert str(err).startswith(f"value.messages[3].text.content[1]: cannot store {Foo!r}")
    rooted = err.with_root("state")
    assert str(rooted).startswith("state.messages[3].text.content[1]: cannot store")
    assert rooted.location == "state.messages[3].text.content[1]"


def test_registrable_but_unregistered_class_says_how_to_register() -> None:
    serde = MsgpackSerializer()
    with pytest.raises(UnstorableValue) as info:
        serde.dumps_typed({"mood": [Mood.HAPPY]})
    message = str(info.value)
    assert message.startswith("value.mood[0]: cannot store")
    assert "register(Mood)" in message and "with_allowlist([Mood])" in message


@pytest.mark.parametrize(
    ("value", "location"),
    [
        (Foo(), "value"),
        ({"k": (1, {Foo()})}, "value.k[1]"),  # inside a set inside a tuple
        ({"two words": Foo()}, "value['two words']"),
        ({5: [Foo()]}, "value[5][0]"),
        ({"d": Dumb(value=1)}, "value.d"),
        ([Note(text=Dumb(value=1))], "value[0]"),  # Note itself is not allowed here
    ],
)
def test_path_rendering(value: Any, location: str) -> None:
    with pytest.raises(UnstorableValue) as info:
        MsgpackSerializer().dumps_typed(value)
    assert info.value.location.startswith(location)


def test_subclasses_of_builtins_are_not_silently_downcast() -> None:
    class Tags(list[str]):
        pass

    with pytest.raises(UnstorableValue) as info:
        MsgpackSerializer().dumps_typed({"tags": Tags(["a"])})
    assert info.value.location == "value.tags"


def test_bad_dict_key_cycle_and_depth_are_reported() -> None:
    serde = MsgpackSerializer()
    with pytest.raises(UnstorableValue, match=r"^value\.m: cannot store a dict key"):
        serde.dumps_typed({"m": {frozenset({1}): 1}})
    cyclic: dict[str, Any] = {}
    cyclic["self"] = [cyclic]
    with pytest.raises(UnstorableValue, match=r"^value\.a\.self\[0\]: circular reference"):
        serde.dumps_typed({"a": cyclic})
    deep: list[Any] = []
    for _ in range(400):
        deep = [deep]
    with pytest.raises(UnstorableValue, match="levels deep"):
        serde.dumps_typed(deep)


def test_unknown_type_name_fails_at_read_without_importing() -> None:
    payload = ormsgpack.packb(["antigravity:fly", {"arg": 1}])
    data = ormsgpack.packb({"x": ormsgpack.Ext(33, payload)})
    with pytest.raises(SerializationError, match="'antigravity:fly'.*not on this serializer's"):
        MsgpackSerializer().loads_typed(("msgpack", data))
    assert "antigravity" not in sys.modules


def test_value_written_by_a_wider_allowlist_is_refused_by_a_narrower_one() -> None:
    written = MsgpackSerializer(allowlist=[Note]).dumps_typed([Note("hi")])
    with pytest.raises(SerializationError) as info:
        MsgpackSerializer().loads_typed(written)
    assert qualified_name(Note) in str(info.value)
    assert "register" in str(info.value)


def test_tampered_kind_unknown_code_and_corrupt_bytes() -> None:
    serde = MsgpackSerializer(allowlist=[Note])
    as_enum = ormsgpack.packb(ormsgpack.Ext(32, ormsgpack.packb([qualified_name(Note), 1])))
    with pytest.raises(SerializationError, match="different kind"):
        serde.loads_typed(("msgpack", as_enum))
    unknown_code = ormsgpack.packb([ormsgpack.Ext(99, b"\x90")])
    with pytest.raises(SerializationError, match="extension code 99"):
        serde.loads_typed(("msgpack", unknown_code))
    with pytest.raises(CorruptDataError):
        serde.loads_typed(("msgpack", b"\xc1"))
    bad_uuid = ormsgpack.packb(ormsgpack.Ext(7, ormsgpack.packb(b"short")))
    with pytest.raises(CorruptDataError):
        serde.loads_typed(("msgpack", bad_uuid))
    wrong_fields = ormsgpack.packb(ormsgpack.Ext(33, ormsgpack.packb([qualified_name(Note), {}])))
    with pytest.raises(SerializationError, match="cannot rebuild"):
        serde.loads_typed(("msgpack", wrong_fields))


def test_pickle_and_unknown_tags_are_refused() -> None:
    import pickle

    serde = MsgpackSerializer()
    with pytest.raises(SerializationError, match="never unpickles"):
        serde.loads_typed(("pickle", pickle.dumps(Foo())))
    with pytest.raises(SerializationError, match="unknown type tag 'json'"):
        serde.loads_typed(("json", b"{}"))


def test_with_allowlist_returns_a_new_serializer() -> None:
    base = MsgpackSerializer()
    wider = base.with_allowlist([Note, Mood])
    assert Note in wider.allowed_types and Note not in base.allowed_types
    assert wider.loads_typed(wider.dumps_typed(Note(Mood.SAD))) == Note(Mood.SAD)
    with pytest.raises(UnstorableValue):
        base.dumps_typed(Note("x"))
    jp = JsonPlusSerializer().with_allowlist([Note])
    assert type(jp) is JsonPlusSerializer
    assert jp.loads_typed(jp.dumps_typed(Note(1))) == Note(1)


def test_instance_and_module_register() -> None:
    @dataclasses.dataclass
    class Local:
        n: int

    serde = MsgpackSerializer()
    assert serde.register(Local) is Local
    assert serde.loads_typed(serde.dumps_typed(Local(1))) == Local(1)
    with pytest.raises(UnstorableValue):
        MsgpackSerializer().dumps_typed(Local(1))

    @register
    @dataclasses.dataclass
    class Everywhere:
        n: int

    fresh = MsgpackSerializer()
    assert fresh.loads_typed(fresh.dumps_typed(Everywhere(2))) == Everywhere(2)


@pytest.mark.parametrize("cls", [Foo, dict, ValueError, int])
def test_only_field_based_classes_can_be_registered(cls: type) -> None:
    with pytest.raises(SerializationError, match="cannot register"):
        MsgpackSerializer().with_allowlist([cls])


def test_jsonplus_refuses_pickle_and_allow_all() -> None:
    with pytest.raises(ConfigurationError, match="never pickles"):
        JsonPlusSerializer(pickle_fallback=True)
    with pytest.raises(ConfigurationError, match="allowlisted"):
        JsonPlusSerializer(allowed_msgpack_modules=True)
    serde = JsonPlusSerializer(allowed_msgpack_modules=[(__name__, "Note")])
    assert Note in serde.allowed_types
    with pytest.raises(ConfigurationError, match="does not name an importable class"):
        JsonPlusSerializer(allowed_msgpack_modules=[("no_such_module_xyz", "X")])


# --- allowlist_from_schema -------------------------------------------------------------


class Priority(enum.IntEnum):
    LOW = 1


class Stage(enum.Enum):
    A = "a"
    B = "b"


class Address(pydantic.BaseModel):
    city: str
    stage: Stage | None = None


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree]
    where: Address | None = None


class Coord(NamedTuple):
    x: float
    priority: Priority


class Inner(TypedDict):
    coords: dict[str, tuple[Coord, ...]]


class Unrelated(enum.Enum):
    X = 1


class State(TypedDict):
    messages: Annotated[list[Tree], operator.add]
    inner: Inner
    maybe: Optional[Address]  # noqa: UP045 - the old spelling is what we test
    literal: Literal[Unrelated.X, "plain"]
    plain: int


def test_allowlist_from_typed_dict_schema() -> None:
    found = allowlist_from_schema(State)
    assert found == {Tree, Address, Stage, Coord, Priority, Unrelated}


def test_allowlist_from_schema_makes_state_types_storable() -> None:
    serde = MsgpackSerializer().with_allowlist(allowlist_from_schema(State))
    value = {
        "messages": [Tree("root", [Tree("leaf", [], Address(city="x", stage=Stage.B))])],
        "inner": {"coords": {"a": (Coord(1.0, Priority.LOW),)}},
        "literal": Unrelated.X,
    }
    assert serde.loads_typed(serde.dumps_typed(value)) == value


def test_allowlist_from_dataclass_and_pydantic_schemas() -> None:
    assert allowlist_from_schema(Tree) == {Tree, Address, Stage}

    class PState(pydantic.BaseModel):
        tree: Tree
        tags: set[Stage] = set()

    assert allowlist_from_schema(PState) == {PState, Tree, Address, Stage}
    assert allowlist_from_schema(list[Coord | None]) == {Coord, Priority}


def test_allowlist_from_schema_skips_unresolvable_hints() -> None:
    class Partial(TypedDict):
        ok: Stage
        missing: NoSuchClass  # type: ignore[name-defined]  # noqa: F821

    assert allowlist_from_schema(Partial) == {Stage}


def test_unregistered_str_enum_is_refused_not_downcast() -> None:
    class Role(str, enum.Enum):
        USER = "user"

    with pytest.raises(UnstorableValue, match=r"^value\.role: cannot store"):
        MsgpackSerializer().dumps_typed({"role": Role.USER})


def test_container_subclasses_are_refused() -> None:
    from collections import OrderedDict, defaultdict

    with pytest.raises(UnstorableValue, match=r"^value\.counts: cannot store .*defaultdict"):
        MsgpackSerializer().dumps_typed({"counts": defaultdict(int)})
    with pytest.raises(UnstorableValue, match=r"^value\[0\]: cannot store .*OrderedDict"):
        MsgpackSerializer().dumps_typed([OrderedDict(a=1)])


def test_value_whose_encoding_raises_is_reported_with_its_path() -> None:
    class BadTz(datetime.tzinfo):
        def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
            raise RuntimeError("no offset")

    value = {"when": [datetime.datetime(2024, 1, 1, tzinfo=BadTz())]}
    with pytest.raises(UnstorableValue, match=r"^value\.when\[0\]: .*RuntimeError\('no offset'\)"):
        MsgpackSerializer().dumps_typed(value)
