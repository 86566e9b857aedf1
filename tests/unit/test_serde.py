"""Round trips through MsgpackSerializer: every supported type, alone and nested."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import random
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any, NamedTuple

import pydantic
import pytest

from tether.checkpoint.serde import (
    JsonPlusSerializer,
    MsgpackSerializer,
    SerializerProtocol,
    StoredException,
)
from tether.types import Command, Interrupt, Overwrite, Send


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.Flag):
    R = 1
    W = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str = ""
    cached: list[int] = dataclasses.field(default_factory=list, init=False)


@dataclasses.dataclass(frozen=True, slots=True)
class Frozen:
    when: datetime.datetime
    tags: frozenset[str]


class Pair(NamedTuple):
    left: Any
    right: Any = None


class Model(pydantic.BaseModel):
    name: str
    point: Point | None = None
    items: list[int] = []


class Loose(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    a: int


ALLOWED = [Color, Level, Perm, Point, Frozen, Pair, Model, Loose]


@pytest.fixture
def serde() -> MsgpackSerializer:
    return MsgpackSerializer(allowlist=ALLOWED)


def roundtrip(serde: MsgpackSerializer, value: Any) -> Any:
    tag, data = serde.dumps_typed(value)
    assert isinstance(tag, str) and isinstance(data, bytes)
    return serde.loads_typed((tag, data))


PARIS = zoneinfo.ZoneInfo("Europe/Paris")

SCALARS = {
    "str": "héllo ✓",
    "empty-str": "",
    "int": 42,
    "neg-int": -(2**63),
    "uint64": 2**64 - 1,
    "bigint": 2**200 + 7,
    "neg-bigint": -(2**100),
    "float": 1.5,
    "inf": float("inf"),
    "bool": True,
    "naive-datetime": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456),
    "utc-datetime": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
    "offset-datetime": datetime.datetime(
        2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-5, minutes=-30), "X")
    ),
    "zoneinfo-datetime": datetime.datetime(2024, 7, 1, 12, tzinfo=PARIS),
    "fold-datetime": datetime.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=PARIS),
    "date": datetime.date(1999, 12, 31),
    "time": datetime.time(23, 59, 59, 999),
    "aware-time": datetime.time(1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=3))),
    "timedelta": datetime.timedelta(days=-3, seconds=5, microseconds=7),
    "utc": datetime.timezone.utc,
    "named-timezone": datetime.timezone(datetime.timedelta(hours=2), "CEST"),
    "zoneinfo": PARIS,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": Decimal("1.10"),
    "decimal-huge": Decimal("-1E+400"),
    "set": {1, "a", (2, 3)},
    "frozenset": frozenset({"x", "y"}),
    "tuple": (1, "a", None),
    "empty-tuple": (),
    "enum": Color.BLUE,
    "int-enum": Level.HIGH,
    "flag-combo": Perm.R | Perm.W,
    "dataclass": Point(1, 2, "p"),
    "frozen-slots-dataclass": Frozen(datetime.datetime(2020, 1, 1), frozenset({"t"})),
    "namedtuple": Pair(1, (2, 3)),
    "pydantic": Model(name="m", point=Point(3, 4), items=[1, 2]),
    "send": Send("node", {"x": (1, 2)}),
    "interrupt": Interrupt({"q": "ok?"}, id="abc"),
    "command": Command(resume={"id1": Color.RED}, goto=[Send("a", 1), "b"], update={"k": 1}),
    "overwrite": Overwrite([1, 2]),
}


@pytest.mark.parametrize("value", list(SCALARS.values()), ids=list(SCALARS))
def test_roundtrip_each_type(serde: MsgpackSerializer, value: Any) -> None:
    out = roundtrip(serde, value)
    assert out == value
    assert type(out) is type(value)


def test_aware_datetimes_keep_their_tzinfo(serde: MsgpackSerializer) -> None:
    for value in (SCALARS["zoneinfo-datetime"], SCALARS["offset-datetime"]):
        out = roundtrip(serde, value)
        assert out.tzinfo == value.tzinfo
        assert out.utcoffset() == value.utcoffset()
        assert out.tzname() == value.tzname()
    assert roundtrip(serde, SCALARS["zoneinfo-datetime"]).tzinfo is PARIS
    assert roundtrip(serde, SCALARS["fold-datetime"]).fold == 1
    assert roundtrip(serde, SCALARS["naive-datetime"]).tzinfo is None


def test_foreign_tzinfo_is_stored_as_its_fixed_offset(serde: MsgpackSerializer) -> None:
    class Plus2(datetime.tzinfo):
        def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
            return datetime.timedelta(hours=2)

        def tzname(self, dt: datetime.datetime | None) -> str:
            return "P2"

        def dst(self, dt: datetime.datetime | None) -> datetime.timedelta:
            return datetime.timedelta(0)

    value = datetime.datetime(2024, 1, 1, 10, tzinfo=Plus2())
    out = roundtrip(serde, value)
    assert out == value
    assert out.tzinfo == datetime.timezone(datetime.timedelta(hours=2), "P2")


def test_tuples_stay_tuples_at_every_depth(serde: MsgpackSerializer) -> None:
    value = {"t": (1, (2, [3, (4,)]), {"inner": ()})}
    out = roundtrip(serde, value)
    assert out == value
    assert type(out["t"]) is tuple
    assert type(out["t"][1]) is tuple
    assert type(out["t"][1][1]) is list
    assert type(out["t"][1][1][1]) is tuple


def test_dicts_with_non_str_keys(serde: MsgpackSerializer) -> None:
    value = {1: "one", 2.5: "float", None: "none", False: "f", (1, 2): "tuple", "s": {3: [4]}}
    assert roundtrip(serde, value) == value
    assert roundtrip(serde, {"nested": {7: Point(1, 2)}}) == {"nested": {7: Point(1, 2)}}


def test_nested_containers_of_everything(serde: MsgpackSerializer) -> None:
    value = {
        "messages": [
            {"id": uuid.uuid4(), "at": datetime.datetime.now(datetime.timezone.utc)},
            Pair(Color.RED, {Level.LOW, Level.HIGH}),
            Model(name="x", point=Point(0, 0)),
        ],
        "by_id": {1: Send("n", Pair(Frozen(datetime.datetime(2000, 1, 1), frozenset()), None))},
        "money": [Decimal("0.1"), Decimal("-3")],
    }
    assert roundtrip(serde, value) == value


def test_dataclass_non_init_fields_and_pydantic_state(serde: MsgpackSerializer) -> None:
    point = Point(1, 2)
    point.cached.append(9)
    assert roundtrip(serde, point).cached == [9]

    model = Model(name="m")
    out = roundtrip(serde, model)
    assert out.model_fields_set == {"name"}
    loose = Loose(a=1, extra_field={"k": (1,)})
    out = roundtrip(serde, loose)
    assert out == loose
    assert out.__pydantic_extra__ == {"extra_field": {"k": (1,)}}


def test_type_tags(serde: MsgpackSerializer) -> None:
    assert serde.dumps_typed(None) == ("null", b"")
    assert serde.loads_typed(("null", b"")) is None
    assert serde.dumps_typed(b"\x00raw") == ("bytes", b"\x00raw")
    assert serde.loads_typed(("bytes", b"\x00raw")) == b"\x00raw"
    tag, data = serde.dumps_typed(bytearray(b"ab"))
    assert (tag, data) == ("bytearray", b"ab")
    assert type(serde.loads_typed((tag, data))) is bytearray
    for value in ("s", 1, [1], {"a": None}, Point(1, 2)):
        assert serde.dumps_typed(value)[0] == "msgpack"


def test_plain_data_is_plain_msgpack(serde: MsgpackSerializer) -> None:
    import ormsgpack

    value = {"a": [1, 2.5, "x", None, True], "b": {"c": b"bytes"}}
    assert serde.dumps_typed(value)[1] == ormsgpack.packb(value)
    assert serde.loads_typed(("msgpack", ormsgpack.packb(value))) == value


def test_exceptions_read_back_as_stored_exception(serde: MsgpackSerializer) -> None:
    out = roundtrip(serde, {"error": ValueError("boom")})["error"]
    assert isinstance(out, StoredException)
    assert not isinstance(out, ValueError)
    assert out.type_name == "builtins:ValueError"
    assert str(out) == "boom"
    assert repr(out) == "ValueError('boom')"
    # Written again (a thread copy), it keeps the original name.
    assert roundtrip(serde, out).type_name == "builtins:ValueError"

    class AppError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("cannot print")

    broken = roundtrip(serde, AppError())
    assert broken.short_type_name.endswith("AppError")
    assert "unprintable" in broken.message


def test_tether_message_dataclasses_are_allowed_by_default() -> None:
    messages = pytest.importorskip("tether.messages")
    serde = MsgpackSerializer()
    values = [messages.HumanMessage("hi", id="1"), messages.RemoveMessage("1")]
    values += [
        cls("x", id="2") for cls in messages.SERIALIZABLE_TYPES if cls.__name__ == "AIMessage"
    ]
    assert roundtrip(serde, values) == values


def test_satisfies_the_protocol() -> None:
    assert isinstance(MsgpackSerializer(), SerializerProtocol)
    assert isinstance(JsonPlusSerializer(), SerializerProtocol)


def test_jsonplus_reads_what_msgpack_writes() -> None:
    value = {"p": Point(1, 2), "when": datetime.date(2024, 1, 1)}
    written = MsgpackSerializer(allowlist=[Point]).dumps_typed(value)
    assert JsonPlusSerializer(allowed_msgpack_modules=[Point]).loads_typed(written) == value


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-(2**63), 2**64 - 1)
    if kind == 3:
        return rng.uniform(-1e300, 1e300)
    if kind == 4:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12)))
    if kind == 5:
        return rng.randbytes(rng.randrange(8))
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    if kind == 7:
        return tuple(_random_json(rng, depth + 1) for _ in range(rng.randrange(4)))
    keys = [rng.choice(["k", "id", "é", ""]) + str(i) for i in range(rng.randrange(5))]
    return {key: _random_json(rng, depth + 1) for key in keys}


def test_seeded_random_json_like_values_roundtrip(serde: MsgpackSerializer) -> None:
    rng = random.Random(1234)
    for _ in range(300):
        value = _random_json(rng)
        assert roundtrip(serde, value) == value


def test_langchain_messages_when_installed() -> None:
    lc = pytest.importorskip("langchain_core.messages")
    serde = MsgpackSerializer()
    values = [
        lc.HumanMessage("hi", id="1"),
        lc.AIMessage("", id="2", tool_calls=[{"name": "f", "args": {"a": (1,)}, "id": "c1"}]),
        lc.ToolMessage("done", tool_call_id="c1"),
        lc.RemoveMessage(id="1"),
    ]
    out = roundtrip(serde, {"messages": values})["messages"]
    assert out == values
    assert [type(m) for m in out] == [type(m) for m in values]


def test_scalar_subclasses_are_stored_as_plain_scalars(serde: MsgpackSerializer) -> None:
    class Score(float):
        pass

    class Name(str):
        def __str__(self) -> str:
            return "not the content"

    out = roundtrip(serde, {"score": Score(0.5), "name": Name("ada"), "n": Level.LOW})
    assert out == {"score": 0.5, "name": "ada", "n": Level.LOW}
    assert type(out["score"]) is float and type(out["name"]) is str
    assert type(out["n"]) is Level
