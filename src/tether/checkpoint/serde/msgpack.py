"""``MsgpackSerializer``: tether's default serializer (msgpack via ormsgpack, allowlisted types).

Type tags: ``"null"`` (None, empty bytes), ``"bytes"`` (raw bytes), ``"bytearray"`` (raw bytes,
read back as bytearray), ``"msgpack"`` (everything else). Plain JSON-like data is packed by
ormsgpack's native code with no Python callback, so it costs what ``ormsgpack.packb`` costs.

What else can be stored (see ``_codec`` for the wire format): datetime (naive and aware; a
``ZoneInfo`` keeps its key, other tzinfo classes such as pytz are stored as their fixed offset),
date, time, timedelta, timezone, UUID, Decimal, set, frozenset, tuple (read back as a tuple),
ints beyond 64 bits, exceptions (read back as ``StoredException``), and instances of allowlisted
Enum, dataclass, NamedTuple and pydantic v2 classes (stored by their fields; pydantic private
attributes are not stored, and models are rebuilt with ``model_construct``).

An instance of a subclass of str, int or float that is not an Enum member (``numpy.float64``)
is stored as the plain str/int/float; other subclasses of built-in types (a ``list`` or ``dict``
subclass, ``defaultdict``, ``OrderedDict``) are refused, since reading them back as the base
type would lose what the subclass adds.

A long list of objects (LangChain messages...) or of flat dicts decoded shortly before is not
decoded again: a read of bytes that equal or extend it decodes only the added elements and
returns a new list of the same element objects, or of fresh copies of the dicts
(``tether.checkpoint.serde.recent`` says what is shared).

Known limits, all inherited from ormsgpack: a dict key that is an Enum, UUID, date/datetime or
str subclass is stored as its plain value (str or int) and read back as that; a NamedTuple used
as a key reads back as a plain tuple; a bytearray inside a value reads back as bytes; strings
with lone surrogates are stored with ``?`` in their place.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Final, TypeVar

import ormsgpack

from tether.checkpoint.grown import Grown, flat
from tether.checkpoint.serde._codec import PACK_OPTIONS, UNPACK_OPTIONS, Codec
from tether.checkpoint.serde._paths import explain
from tether.checkpoint.serde.allowlist import DEFAULT_ALLOWLIST, Allowlist, load_lazy_defaults
from tether.checkpoint.serde.recent import RecentLists
from tether.errors import CorruptDataError, SerializationError

NULL_TAG: Final = "null"
BYTES_TAG: Final = "bytes"
BYTEARRAY_TAG: Final = "bytearray"
MSGPACK_TAG: Final = "msgpack"

_T = TypeVar("_T", bound=type)
_S = TypeVar("_S", bound="MsgpackSerializer")

_packb = ormsgpack.packb
_unpackb = ormsgpack.unpackb


class MsgpackSerializer:
    """Serializes checkpoint values to ``(tag, bytes)``; rebuilds only allowlisted classes.

    ``allowlist``: extra classes this serializer may store, on top of the process-wide default
    list (tether's own types plus whatever ``tether.checkpoint.serde.register`` added).

    Writing a value that is not allowed raises ``UnstorableValue`` (a ``SerializationError``)
    naming its path inside the written object; a saver that knows which channel it writes calls
    ``err.with_root("state.messages")`` to report ``state.messages[3].content: ...``.
    Reading bytes that name a class not on the allowlist raises ``SerializationError``; bytes
    that are not valid msgpack raise ``CorruptDataError``.
    """

    def __init__(self, *, allowlist: Iterable[type] = ()) -> None:
        self._allowlist = Allowlist(allowlist, parent=DEFAULT_ALLOWLIST)
        self._codec = Codec(self._allowlist)
        self._default = self._codec.default
        self._ext_hook = self._codec.ext_hook
        self._recent = RecentLists()

    @property
    def allowed_types(self) -> frozenset[type]:
        """Every class this serializer may store and rebuild (its own and the defaults).

        LangChain's message classes appear here only once a LangChain value has been seen.
        """
        load_lazy_defaults("")
        return self._allowlist.types()

    def with_allowlist(self: _S, types: Iterable[type]) -> _S:
        """A copy of this serializer that also allows ``types`` (this one is unchanged)."""
        new = copy.copy(self)
        new._allowlist = self._allowlist.copy(types)
        new._codec = Codec(new._allowlist)
        new._default = new._codec.default
        new._ext_hook = new._codec.ext_hook
        new._recent = RecentLists()  # what this one decoded passed another allowlist
        return new

    def register(self, cls: _T) -> _T:
        """Allow ``cls`` in this serializer (and copies made from it later); returns ``cls``."""
        self._allowlist.add(cls)
        return cls

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Encode ``obj`` as ``(tag, bytes)``; ``UnstorableValue`` names what cannot be stored."""
        if obj is None:
            return NULL_TAG, b""
        cls = type(obj)
        if cls is bytes:
            return BYTES_TAG, obj
        if cls is bytearray:
            return BYTEARRAY_TAG, bytes(obj)
        try:
            return MSGPACK_TAG, _packb(obj, default=self._default, option=PACK_OPTIONS)
        except TypeError as exc:  # ormsgpack.MsgpackEncodeError
            raise explain(self._codec, obj, exc) from None

    def loads_typed(self, data: tuple[str, bytes | Grown]) -> Any:
        """Decode a ``(tag, bytes)`` pair written by ``dumps_typed`` (the bytes of a msgpack
        list may be a ``Grown``: ``tether.checkpoint.appends.dump_grown``)."""
        tag, raw = data
        if tag == MSGPACK_TAG:
            return self._unpack(raw)
        if tag == NULL_TAG:
            return None
        if tag == BYTES_TAG:
            return bytes(flat(raw))
        if tag == BYTEARRAY_TAG:
            return bytearray(flat(raw))
        if tag == "pickle":
            raise SerializationError(
                "stored value has type tag 'pickle'; tether never unpickles stored data (it can "
                "run arbitrary code); re-write the value with a tether serializer"
            )
        raise SerializationError(
            f"stored value has unknown type tag {tag!r}; this serializer reads 'msgpack', "
            "'null', 'bytes' and 'bytearray' (was it written by another serializer?)"
        )

    def loads_map(self, raw: bytes) -> Any:
        """``loads_typed(("msgpack", raw))`` for bytes that are not a list (a saver's map of
        values): decoded at once, past the reuse of recently decoded lists."""
        return self._unpack_all(raw)

    def _unpack(self, raw: bytes | Grown) -> Any:
        return self._recent.decode(raw, self._unpack_all)

    def _unpack_all(self, raw: bytes) -> Any:
        # Top level first without OPT_NON_STR_KEYS, which costs ~5% on str-keyed data; a map
        # with a non-str key fails that pass (with no ext_hook error) and is decoded again.
        try:
            return _unpackb(raw, ext_hook=self._ext_hook)
        except ValueError:  # ormsgpack.MsgpackDecodeError
            cause = self._codec.pop_error()
            if cause is not None:
                raise _decode_error(cause) from None
        try:
            return _unpackb(raw, ext_hook=self._ext_hook, option=UNPACK_OPTIONS)
        except ValueError as exc:
            raise _decode_error(self._codec.pop_error() or exc) from None


def _decode_error(cause: BaseException) -> Exception:
    if isinstance(cause, SerializationError):
        return cause
    return CorruptDataError(f"stored msgpack value cannot be decoded: {cause}")
