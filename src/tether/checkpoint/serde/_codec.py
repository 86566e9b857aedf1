"""msgpack extension types: how non-JSON values become ``ormsgpack.Ext`` and back.

Plain data (dict, list, str, int, float, bool, None, bytes) is packed natively by ormsgpack and
never reaches this module. Everything else reaches ``Codec.default`` (the pack options make
ormsgpack pass tuples, subclasses, datetimes, UUIDs, enums, dataclasses and big ints through),
which returns ``Ext(code, packed payload)``. Payloads are packed with the same options, so
values nest freely.

Codes 1-31 are built-in value types, read without any lookup. Codes 32+ name a class as
``"module:qualname"`` and are rebuilt only through the allowlist. The codes are part of the
storage format: never renumber them.
"""

from __future__ import annotations

import datetime
import enum
import threading
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import ormsgpack

from tether.checkpoint.serde.allowlist import (
    Allowlist,
    Entry,
    kind_of,
    load_lazy_defaults,
    qualified_name,
)
from tether.checkpoint.serde.base import StoredException, UnstorableValue
from tether.errors import SerializationError

PACK_OPTIONS: Final = (
    ormsgpack.OPT_NON_STR_KEYS
    | ormsgpack.OPT_PASSTHROUGH_BIG_INT
    | ormsgpack.OPT_PASSTHROUGH_DATACLASS
    | ormsgpack.OPT_PASSTHROUGH_DATETIME
    | ormsgpack.OPT_PASSTHROUGH_ENUM
    | ormsgpack.OPT_PASSTHROUGH_SUBCLASS
    | ormsgpack.OPT_PASSTHROUGH_TUPLE
    | ormsgpack.OPT_PASSTHROUGH_UUID
    | ormsgpack.OPT_REPLACE_SURROGATES
)
UNPACK_OPTIONS: Final = ormsgpack.OPT_NON_STR_KEYS

# Built-in value types (payload decoded without any lookup).
DATETIME: Final = 1
DATE: Final = 2
TIME: Final = 3
TIMEDELTA: Final = 4
TIMEZONE: Final = 5
ZONEINFO: Final = 6
UUID: Final = 7
DECIMAL: Final = 8
SET: Final = 9
FROZENSET: Final = 10
TUPLE: Final = 11
BIGINT: Final = 12
EXCEPTION: Final = 13
# Named classes (payload starts with "module:qualname", rebuilt through the allowlist).
ENUM: Final = 32
DATACLASS: Final = 33
NAMEDTUPLE: Final = 34
PYDANTIC: Final = 35

KIND_CODES: Final = {
    "enum": ENUM,
    "dataclass": DATACLASS,
    "namedtuple": NAMEDTUPLE,
    "pydantic": PYDANTIC,
}
CONTAINER_CODES: Final = frozenset({SET, FROZENSET, TUPLE})
FIELD_CODES: Final = frozenset({DATACLASS, NAMEDTUPLE, PYDANTIC})

_utc_name = datetime.timezone.utc.tzname(None)


def _tz(tz: datetime.tzinfo | None, moment: datetime.datetime | None) -> Any:
    """A tzinfo we can store: timezone and keyed ZoneInfo as is, others as a fixed offset."""
    if tz is None or type(tz) is datetime.timezone:
        return tz
    if type(tz) is zoneinfo.ZoneInfo and tz.key is not None:
        return tz
    offset = tz.utcoffset(moment)
    if offset is None:
        return None
    name = tz.tzname(moment)
    return datetime.timezone(offset, name) if name else datetime.timezone(offset)


def _enc_datetime(v: datetime.datetime) -> tuple[int, Any]:
    tz = _tz(v.tzinfo, v)
    fields = [v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.fold, tz]
    return DATETIME, fields


def _enc_time(v: datetime.time) -> tuple[int, Any]:
    return TIME, [v.hour, v.minute, v.second, v.microsecond, v.fold, _tz(v.tzinfo, None)]


def _enc_timezone(v: datetime.timezone) -> tuple[int, Any]:
    offset = v.utcoffset(None)
    name = v.tzname(None)
    default_name = datetime.timezone(offset).tzname(None)
    return TIMEZONE, [
        offset.days,
        offset.seconds,
        offset.microseconds,
        (name != default_name and name) or None,
    ]


def _enc_zoneinfo(v: zoneinfo.ZoneInfo) -> tuple[int, Any]:
    if v.key is None:
        raise UnstorableValue(
            "cannot store a ZoneInfo made from a file (it has no key); use ZoneInfo(key)",
            value_type=type(v),
        )
    return ZONEINFO, v.key


def _enc_bigint(v: int) -> tuple[int, Any]:
    return BIGINT, v.to_bytes(v.bit_length() // 8 + 1, "big", signed=True)


_BUILTIN_ENCODERS: Final[dict[type, Callable[[Any], tuple[int, Any]]]] = {
    datetime.datetime: _enc_datetime,
    datetime.date: lambda v: (DATE, [v.year, v.month, v.day]),
    datetime.time: _enc_time,
    datetime.timedelta: lambda v: (TIMEDELTA, [v.days, v.seconds, v.microseconds]),
    datetime.timezone: _enc_timezone,
    zoneinfo.ZoneInfo: _enc_zoneinfo,
    uuid.UUID: lambda v: (UUID, v.bytes),
    Decimal: lambda v: (DECIMAL, str(v)),
    set: lambda v: (SET, list(v)),
    frozenset: lambda v: (FROZENSET, list(v)),
    tuple: lambda v: (TUPLE, list(v)),
    int: _enc_bigint,
}


_SCALAR_DOWNCASTS: Final[tuple[tuple[type, Callable[[Any], Any]], ...]] = (
    (str, str.__str__),
    (int, int.__int__),
    (float, float.__float__),
)


def plain_scalar(obj: Any) -> tuple[bool, Any]:
    """``(True, value)`` with ``obj`` as a plain str/int/float if it is an instance of a
    subclass of one (``numpy.float64``...) that is not an Enum member, else ``(False, None)``.
    """
    if isinstance(obj, enum.Enum):
        return False, None
    for base, convert in _SCALAR_DOWNCASTS:
        if isinstance(obj, base):
            return True, convert(obj)
    return False, None


def _exception_payload(exc: BaseException) -> list[str]:
    if isinstance(exc, StoredException):
        return [exc.type_name, exc.message]
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    return [qualified_name(type(exc)), message]


def _fields(obj: Any, entry: Entry) -> dict[str, Any]:
    if entry.kind == "dataclass":
        return {name: getattr(obj, name) for name in entry.fields}
    if entry.kind == "namedtuple":
        return dict(zip(obj._fields, obj, strict=True))
    names = _field_names(type(obj))
    stored = obj.__dict__
    if tuple(stored) == names:  # the usual case: the instance dict is the fields, in order
        values = dict(stored)
    else:
        values = {name: getattr(obj, name) for name in names}
    extra = getattr(obj, "__pydantic_extra__", None)
    return {**values, **extra} if extra else values


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: Any) -> tuple[str, ...]:
    """A pydantic model's field names in declaration order (looked up once per class: the
    ``model_fields`` property costs more than copying a message's fields)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(
            getattr(cls, "__pydantic_fields__", None) or cls.model_fields
        )
    return names


def _not_allowed(cls: type) -> UnstorableValue:
    if kind_of(cls) is not None:
        name = cls.__name__
        reason = (
            f"cannot store {cls!r}; register it with tether.checkpoint.serde.register({name}) "
            f"or serializer.with_allowlist([{name}]), or make it part of the graph's state schema"
        )
    else:
        reason = (
            f"cannot store {cls!r}; tether stores dict, list, str, int, float, bool, None, bytes, "
            "datetime/date/time/timedelta/timezone, UUID, Decimal, set, frozenset, tuple, "
            "exceptions and registered Enum, dataclass, NamedTuple and pydantic classes: "
            "convert the value to one of these"
        )
    return UnstorableValue(reason, value_type=cls)


_MODEL_SHAPES: dict[type, tuple[frozenset[str], bool] | None] = {}
_UNKNOWN: Any = object()


def _construct_model(cls: Any, values: dict[str, Any], fields_set: list[str]) -> Any:
    """A pydantic model from stored fields, without validation (what ``model_construct`` does).

    When the stored fields are exactly the model's fields and it has no private attributes,
    the instance is assembled directly, about three times faster than ``model_construct``;
    anything else goes through ``model_construct``.
    """
    shape = _MODEL_SHAPES.get(cls, _UNKNOWN)
    if shape is _UNKNOWN:
        fields = frozenset(getattr(cls, "__pydantic_fields__", None) or cls.model_fields)
        shape = (
            None
            if cls.__private_attributes__
            else (fields, cls.model_config.get("extra") == "allow")
        )
        _MODEL_SHAPES[cls] = shape
    if shape is None or values.keys() != shape[0]:
        return cls.model_construct(_fields_set=set(fields_set), **values)
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields_set))
    object.__setattr__(obj, "__pydantic_extra__", {} if shape[1] else None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


class _Stash(threading.local):
    error: BaseException | None = None


class Codec:
    """Encodes and decodes extension types against one allowlist."""

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist
        self._stash = _Stash()
        self._entries: dict[tuple[int, str], Entry] = {}

    def to_ext(self, obj: Any) -> tuple[int, Any]:
        """The (code, payload) ``obj`` is stored as; ``UnstorableValue`` if not allowed."""
        cls = type(obj)
        encode = _BUILTIN_ENCODERS.get(cls)
        if encode is not None:
            return encode(obj)
        entry = self.allowlist.by_type(cls)
        if entry is None and load_lazy_defaults(cls.__module__):
            entry = self.allowlist.by_type(cls)
        if entry is not None:
            code = KIND_CODES[entry.kind]
            if code == ENUM:
                return code, [entry.name, obj.value]
            if code == PYDANTIC:
                return code, [entry.name, _fields(obj, entry), sorted(obj.model_fields_set)]
            return code, [entry.name, _fields(obj, entry)]
        if isinstance(obj, BaseException):
            return EXCEPTION, _exception_payload(obj)
        raise _not_allowed(cls)

    def default(self, obj: Any) -> Any:
        """ormsgpack's ``default`` hook: an ``Ext``, or a plain scalar for a scalar subclass."""
        try:
            code, payload = self.to_ext(obj)
        except UnstorableValue:
            is_scalar, value = plain_scalar(obj)
            if is_scalar:
                return value
            raise
        return ormsgpack.Ext(
            code, ormsgpack.packb(payload, default=self.default, option=PACK_OPTIONS)
        )

    def ext_hook(self, code: int, data: bytes) -> Any:
        """ormsgpack's ``ext_hook``; remembers the first error, since ormsgpack hides it."""
        try:
            payload = ormsgpack.unpackb(data, ext_hook=self.ext_hook, option=UNPACK_OPTIONS)
            if code == PYDANTIC and (entry := self._entries.get((code, payload[0]))) is not None:
                # The hot case (every message of a LangChain message list): a class looked up
                # before, rebuilt without the general dispatch; anything odd takes it below.
                try:
                    return _construct_model(entry.cls, payload[1], payload[2])
                except Exception:  # not contextlib.suppress: this runs per message
                    pass
            return self.from_ext(code, payload)
        except Exception as exc:
            if self._stash.error is None:
                self._stash.error = exc
            raise

    def pop_error(self) -> BaseException | None:
        """The error an ``ext_hook`` call hit during the last failed decode (then forget it)."""
        error, self._stash.error = self._stash.error, None
        return error

    def from_ext(self, code: int, payload: Any) -> Any:
        """Rebuild a value from its (code, payload)."""
        decode = _BUILTIN_DECODERS.get(code)
        if decode is not None:
            return decode(payload)
        if code not in FIELD_CODES and code != ENUM:
            raise SerializationError(
                f"stored data uses msgpack extension code {code}, which this tether does not "
                "know; it was written by a newer tether or the bytes were tampered with"
            )
        return self._rebuild(code, self._entry(code, payload[0]), payload)

    def _entry(self, code: int, name: str) -> Entry:
        found = self._entries.get((code, name))
        if found is not None:
            return found
        entry = self._lookup(code, name)
        self._entries[(code, name)] = entry
        return entry

    def _lookup(self, code: int, name: str) -> Entry:
        entry = self.allowlist.by_name(name)
        if entry is None and load_lazy_defaults(name):
            entry = self.allowlist.by_name(name)
        if entry is None:
            raise SerializationError(
                f"stored data names the type {name!r}, which is not on this serializer's "
                "allowlist, so it is not rebuilt; if you trust the data, allow the class with "
                "tether.checkpoint.serde.register(cls) or serializer.with_allowlist([cls])"
            )
        if KIND_CODES[entry.kind] != code:
            raise SerializationError(
                f"stored data names the type {name!r} as a different kind of class than the "
                f"allowed {entry.cls!r} ({entry.kind}); the bytes were tampered with or the class "
                "changed kind"
            )
        return entry

    def _rebuild(self, code: int, entry: Entry, payload: list[Any]) -> Any:
        cls: Any = entry.cls
        try:
            if code == ENUM:
                return cls(payload[1])
            values: dict[str, Any] = payload[1]
            if code == NAMEDTUPLE:
                return cls(**{k: v for k, v in values.items() if k in cls._fields})
            if code == PYDANTIC:
                return _construct_model(cls, values, payload[2])
            if values.keys() <= entry.init_fields:  # the usual case: every field is an init arg
                return cls(**values)
            obj = cls(**{k: v for k, v in values.items() if k in entry.init_fields})
            for name in entry.fields:
                if name not in entry.init_fields and name in values:
                    object.__setattr__(obj, name, values[name])
            return obj
        except Exception as exc:
            raise SerializationError(
                f"cannot rebuild {entry.name!r} from its stored fields ({exc}); the class "
                "changed incompatibly since the value was written"
            ) from exc


def _dec_timezone(p: list[Any]) -> datetime.timezone:
    offset = datetime.timedelta(p[0], p[1], p[2])
    return datetime.timezone(offset, p[3]) if p[3] else datetime.timezone(offset)


def _dec_datetime(p: list[Any]) -> datetime.datetime:
    year, month, day, hour, minute, second, micro, fold, tz = p
    return datetime.datetime(year, month, day, hour, minute, second, micro, tz, fold=fold)


def _dec_time(p: list[Any]) -> datetime.time:
    hour, minute, second, micro, fold, tz = p
    return datetime.time(hour, minute, second, micro, tz, fold=fold)


def _dec_bigint(p: bytes) -> int:
    return int.from_bytes(p, "big", signed=True)


_BUILTIN_DECODERS: Final[dict[int, Callable[[Any], Any]]] = {
    DATETIME: _dec_datetime,
    DATE: lambda p: datetime.date(*p),
    TIME: _dec_time,
    TIMEDELTA: lambda p: datetime.timedelta(p[0], p[1], p[2]),
    TIMEZONE: _dec_timezone,
    ZONEINFO: zoneinfo.ZoneInfo,
    UUID: lambda p: uuid.UUID(bytes=p),
    DECIMAL: Decimal,
    SET: set,
    FROZENSET: frozenset,
    TUPLE: tuple,
    BIGINT: _dec_bigint,
    EXCEPTION: lambda p: StoredException(p[0], p[1]),
}
