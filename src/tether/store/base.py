"""The long-term memory store contract: items, operations and ``BaseStore``.

A store keeps JSON-like dicts under ``(namespace, key)``, shared by every thread of a graph.
A namespace is a tuple of labels such as ``("users", "u1", "memories")``; searches take a
namespace prefix. Names and signatures follow LangGraph's ``langgraph.store.base`` so code
ports by changing the import prefix.

The contract every backend keeps (``tests/contract/test_store_contract.py`` checks it):

- ``batch(ops)`` validates every op first (``validate_ops``) and raises before applying any;
  then it applies the ops **in order**, each seeing the writes of the ops before it, and
  returns one result per op. (LangGraph's stores answer a batch's reads from the state before
  its writes; nothing in the convenience API can tell the difference.)
- ``put`` keeps ``created_at`` of an existing item and moves ``updated_at`` strictly forward.
- ``search`` returns items whose namespace starts with the prefix and whose value matches the
  filter (rules in ``tether.store.filters``), in the backend's order, then ``offset`` and
  ``limit``. With ``query=`` and an embedding index (``tether.store.embed``), items are ranked
  by exact cosine similarity (``score``, highest first; items with nothing embedded follow,
  scored ``None``); without an index the query is ignored and ``score`` is ``None``.
- ``list_namespaces`` lists namespaces holding at least one item, sorted, after prefix/suffix
  matching (``"*"`` matches one label), truncation to ``max_depth`` and de-duplication.
- TTL (``tether.store.ttl``): an expired item is never returned, swept or not. Stores without
  TTL (``supports_ttl = False``) refuse ``put(..., ttl=<minutes>)``; without an index,
  ``put(..., index=...)`` has no effect (LangGraph documents the same).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, NamedTuple, cast

from tether.errors import (
    ConfigurationError,
    InvalidNamespaceError,
    InvalidStoreOperation,
    SerializationError,
)
from tether.store.embed import IndexConfig
from tether.store.filters import check_filter
from tether.store.ttl import TTLConfig

__all__ = [
    "NOT_PROVIDED",
    "BaseStore",
    "GetOp",
    "IndexConfig",
    "InvalidNamespaceError",
    "InvalidStoreOperation",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NamespaceMatchType",
    "NamespacePath",
    "NotProvided",
    "Op",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "TTLConfig",
    "validate_namespace",
    "validate_ops",
]


class NotProvided:
    """Type of ``NOT_PROVIDED``: an argument the caller left out (``None`` means something)."""

    def __repr__(self) -> str:
        return "NOT_PROVIDED"


NOT_PROVIDED = NotProvided()
_PAGE = 500


def _as_datetime(value: datetime | str, field: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    raise SerializationError(f"Item.{field} must be a datetime or an ISO string, got {value!r}")


class Item:
    """A stored value with its address and timestamps.

    ``value`` is the stored dict, ``key`` its id within ``namespace``; ``created_at`` is when
    the key was first written, ``updated_at`` when it was last written. ISO strings are
    accepted for the timestamps (items read back from JSON).
    """

    __slots__ = ("created_at", "key", "namespace", "updated_at", "value")

    def __init__(
        self,
        *,
        value: dict[str, Any],
        key: str,
        namespace: tuple[str, ...],
        created_at: datetime,
        updated_at: datetime,
    ) -> None:
        self.value = value
        self.key = key
        self.namespace = tuple(namespace)
        self.created_at = _as_datetime(created_at, "created_at")
        self.updated_at = _as_datetime(updated_at, "updated_at")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item):
            return NotImplemented
        return (
            self.value == other.value
            and self.key == other.key
            and self.namespace == other.namespace
            and self.created_at == other.created_at
            and self.updated_at == other.updated_at
        )

    def __hash__(self) -> int:
        return hash((self.namespace, self.key))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.dict().items())
        return f"{type(self).__name__}({fields})"

    def dict(self) -> dict[str, Any]:
        """The item as JSON-ready data: namespace as a list, timestamps as ISO strings."""
        return {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class SearchItem(Item):
    """An ``Item`` returned by ``search``, with the relevance ``score`` of a semantic query.

    ``score`` is ``None`` when the search had no query or the store has no embedding index.
    """

    __slots__ = ("score",)

    def __init__(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        created_at: datetime,
        updated_at: datetime,
        score: float | None = None,
    ) -> None:
        super().__init__(
            value=value,
            key=key,
            namespace=namespace,
            created_at=created_at,
            updated_at=updated_at,
        )
        self.score = score

    def dict(self) -> dict[str, Any]:
        """``Item.dict()`` plus ``score``."""
        return {**super().dict(), "score": self.score}


NamespacePath = tuple[str, ...]
"""A namespace pattern for ``list_namespaces``; the label ``"*"`` matches any one label."""
NamespaceMatchType = Literal["prefix", "suffix"]


class GetOp(NamedTuple):
    """Read the item at ``(namespace, key)``; the result is an ``Item`` or ``None``."""

    namespace: tuple[str, ...]
    key: str
    refresh_ttl: bool = True
    """Restart the item's TTL on read (ignored by stores without TTL)."""


class SearchOp(NamedTuple):
    """List items under ``namespace_prefix`` matching ``filter``; the result is a list."""

    namespace_prefix: tuple[str, ...]
    filter: dict[str, Any] | None = None
    limit: int = 10
    offset: int = 0
    query: str | None = None
    """Natural-language query for semantic search; ignored by stores without an index."""
    refresh_ttl: bool = True


class PutOp(NamedTuple):
    """Write ``value`` at ``(namespace, key)``, or delete the item when ``value`` is ``None``."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any] | None
    index: Literal[False] | list[str] | None = None  # type: ignore[assignment]
    """Fields to embed (``False``: none; ``None``: the store's default). No effect without
    an index. (LangGraph's name; it shadows ``tuple.index``.)"""
    ttl: float | None = None
    """Minutes until the item expires; ``None`` keeps it forever."""


class MatchCondition(NamedTuple):
    """One namespace pattern of ``ListNamespacesOp``: a prefix or a suffix path."""

    match_type: NamespaceMatchType
    path: NamespacePath


class ListNamespacesOp(NamedTuple):
    """List namespaces matching every condition, truncated to ``max_depth`` labels."""

    match_conditions: tuple[MatchCondition, ...] | None = None
    max_depth: int | None = None
    limit: int = 100
    offset: int = 0


Op = GetOp | SearchOp | PutOp | ListNamespacesOp
Result = Item | list[Item] | list[SearchItem] | list[tuple[str, ...]] | None


def validate_namespace(
    namespace: Any,
    *,
    what: str = "namespace",
    allow_empty: bool = False,
) -> tuple[str, ...]:
    """Return ``namespace`` as a tuple, or raise ``InvalidNamespaceError`` saying what is wrong.

    A namespace is a tuple (a list is accepted) of non-empty string labels without ``"."``
    (SQL stores join labels with dots). ``allow_empty`` admits ``()`` (a search of every
    namespace, an empty ``list_namespaces`` pattern).
    """
    if isinstance(namespace, str) or not isinstance(namespace, (tuple, list)):
        hint = f"; write ({namespace!r},)" if isinstance(namespace, str) else ""
        raise InvalidNamespaceError(
            f"{what} must be a tuple of string labels, got {type(namespace).__name__} "
            f"{namespace!r}{hint}"
        )
    labels = tuple(namespace)
    if not labels and not allow_empty:
        raise InvalidNamespaceError(f"{what} cannot be empty: give at least one label")
    for label in labels:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"{what} {labels!r}: label {label!r} is a {type(label).__name__}; "
                "labels must be strings"
            )
        if not label:
            raise InvalidNamespaceError(f"{what} {labels!r}: labels cannot be empty strings")
        if "." in label:
            raise InvalidNamespaceError(
                f"{what} {labels!r}: label {label!r} contains '.'; labels cannot contain "
                "periods (use another separator, or split it into two labels)"
            )
    return labels


def _check_key(key: Any, op: str) -> None:
    if not isinstance(key, str):
        raise InvalidStoreOperation(f"{op}: key must be a str, got {type(key).__name__} {key!r}")


def _check_count(value: Any, name: str, op: str, *, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidStoreOperation(f"{op}: {name} must be an int >= {minimum}, got {value!r}")


def _check_put(op: PutOp, supports_ttl: bool, store: str) -> PutOp:
    namespace = validate_namespace(op.namespace, what="PutOp.namespace")
    _check_key(op.key, "PutOp")
    where = f"put({namespace!r}, {op.key!r})"
    if op.value is not None and not isinstance(op.value, dict):
        raise SerializationError(
            f"{where}: the value must be a dict, got {type(op.value).__name__}; "
            "wrap it, e.g. {'value': ...}"
        )
    fields_ok = isinstance(op.index, list) and all(isinstance(f, str) for f in op.index)
    if op.index is not None and op.index is not False and not fields_ok:
        raise InvalidStoreOperation(
            f"{where}: index must be False, None or a list of field paths, got {op.index!r}"
        )
    if op.ttl is not None and not supports_ttl:
        raise ConfigurationError(
            f"{where}: ttl={op.ttl!r} given, but {store} does not support TTL "
            "(supports_ttl is False); drop ttl= or use a store with TTL support"
        )
    if op.ttl is not None and (not isinstance(op.ttl, (int, float)) or op.ttl <= 0):
        raise InvalidStoreOperation(f"{where}: ttl must be a positive number of minutes")
    return op._replace(namespace=namespace)


def _check_search(op: SearchOp) -> SearchOp:
    prefix = validate_namespace(
        op.namespace_prefix, what="SearchOp.namespace_prefix", allow_empty=True
    )
    check_filter(op.filter)
    _check_count(op.limit, "limit", "search")
    _check_count(op.offset, "offset", "search")
    if op.query is not None and not isinstance(op.query, str):
        raise InvalidStoreOperation(f"search: query must be a str, got {op.query!r}")
    return op._replace(namespace_prefix=prefix)


def _check_list_namespaces(op: ListNamespacesOp) -> ListNamespacesOp:
    conditions = []
    for condition in op.match_conditions or ():
        match_type, path = condition
        if match_type not in ("prefix", "suffix"):
            raise InvalidStoreOperation(
                f"list_namespaces: match_type must be 'prefix' or 'suffix', got {match_type!r}"
            )
        what = f"list_namespaces {match_type}"
        labels = validate_namespace(path, what=what, allow_empty=True)
        conditions.append(MatchCondition(match_type, labels))
    if op.max_depth is not None:
        _check_count(op.max_depth, "max_depth", "list_namespaces", minimum=1)
    _check_count(op.limit, "limit", "list_namespaces")
    _check_count(op.offset, "offset", "list_namespaces")
    return op._replace(match_conditions=tuple(conditions))


def validate_ops(
    ops: Iterable[Op], *, supports_ttl: bool = False, store: str = "this store"
) -> list[Op]:
    """Check every op of a batch and return them normalized (namespaces as tuples).

    Backends call it at the top of ``batch``/``abatch`` so a bad op fails the whole batch
    before anything is written. ``store`` names the backend in error messages.
    """
    checked: list[Op] = []
    for op in ops:
        if isinstance(op, PutOp):
            checked.append(_check_put(op, supports_ttl, store))
        elif isinstance(op, GetOp):
            namespace = validate_namespace(op.namespace, what="GetOp.namespace")
            _check_key(op.key, "GetOp")
            checked.append(op._replace(namespace=namespace))
        elif isinstance(op, SearchOp):
            checked.append(_check_search(op))
        elif isinstance(op, ListNamespacesOp):
            checked.append(_check_list_namespaces(op))
        else:
            raise InvalidStoreOperation(
                f"unknown store operation {op!r}; expected GetOp, SearchOp, PutOp or "
                "ListNamespacesOp"
            )
    return checked


def _list_namespaces_op(
    prefix: NamespacePath | None,
    suffix: NamespacePath | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> ListNamespacesOp:
    conditions = []
    if prefix:
        conditions.append(MatchCondition("prefix", prefix))
    if suffix:
        conditions.append(MatchCondition("suffix", suffix))
    return ListNamespacesOp(tuple(conditions), max_depth, limit, offset)


class BaseStore(ABC):
    """A key-value store for long-term memory shared across threads.

    Backends implement ``batch`` and ``abatch`` (see the module docstring for the contract);
    everything else is built on them. ``supports_ttl`` says whether ``put(..., ttl=...)``
    works; ``ttl_config`` holds the store's TTL defaults (``default_ttl``, ``refresh_on_read``).
    """

    supports_ttl: bool = False
    ttl_config: TTLConfig | None = None

    def _refresh_default(self, refresh_ttl: bool | None) -> bool:
        if refresh_ttl is not None:
            return refresh_ttl
        return (self.ttl_config or {}).get("refresh_on_read", True)

    def _ttl_default(self, ttl: float | NotProvided | None) -> float | None:
        if isinstance(ttl, NotProvided):
            return (self.ttl_config or {}).get("default_ttl")
        return ttl

    @abstractmethod
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Validate, then apply ``ops`` in order; one result per op, in input order."""

    @abstractmethod
    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async twin of ``batch``."""

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The item at ``(namespace, key)``, or ``None``."""
        op = GetOp(namespace, key, self._refresh_default(refresh_ttl))
        return cast("Item | None", self.batch([op])[0])

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Items under ``namespace_prefix`` matching ``filter``, in the backend's order:
        insertion order for InMemoryStore, newest first for database stores (as LangGraph's).
        With ``query`` and an embedding index, the best cosine matches first, with ``score``.

        Mind the default ``limit=10``; ``list(namespace)`` returns every item.
        """
        op = SearchOp(
            namespace_prefix, filter, limit, offset, query, self._refresh_default(refresh_ttl)
        )
        return cast("list[SearchItem]", self.batch([op])[0])

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Create or replace the item at ``(namespace, key)``; ``ttl`` is in minutes."""
        self.batch([PutOp(namespace, key, value, index, self._ttl_default(ttl))])

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        """Delete the item at ``(namespace, key)``; deleting a missing item is not an error."""
        self.batch([PutOp(namespace, key, None)])

    def list_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Sorted namespaces matching ``prefix``/``suffix`` (``"*"`` = any label), each cut to
        ``max_depth`` labels and de-duplicated."""
        op = _list_namespaces_op(prefix, suffix, max_depth, limit, offset)
        return cast("list[tuple[str, ...]]", self.batch([op])[0])

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """Async twin of ``get``."""
        op = GetOp(namespace, key, self._refresh_default(refresh_ttl))
        return cast("Item | None", (await self.abatch([op]))[0])

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Async twin of ``search``."""
        op = SearchOp(
            namespace_prefix, filter, limit, offset, query, self._refresh_default(refresh_ttl)
        )
        return cast("list[SearchItem]", (await self.abatch([op]))[0])

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        """Async twin of ``put``."""
        await self.abatch([PutOp(namespace, key, value, index, self._ttl_default(ttl))])

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        """Async twin of ``delete``."""
        await self.abatch([PutOp(namespace, key, None)])

    async def alist_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Async twin of ``list_namespaces``."""
        op = _list_namespaces_op(prefix, suffix, max_depth, limit, offset)
        return cast("list[tuple[str, ...]]", (await self.abatch([op]))[0])

    def list(
        self, namespace: tuple[str, ...], /, *, filter: dict[str, Any] | None = None
    ) -> builtins.list[SearchItem]:
        """Every item under ``namespace`` (sub-namespaces included) matching ``filter``, in
        ``search`` order, without ``search``'s default ``limit=10``.

        A tether convenience (LangGraph has no ``store.list``): it pages through ``search``,
        so writes made while it runs may be missed or seen twice.
        """
        found: builtins.list[SearchItem] = []
        while page := self.search(namespace, filter=filter, limit=_PAGE, offset=len(found)):
            found.extend(page)
        return found

    async def alist(
        self, namespace: tuple[str, ...], /, *, filter: dict[str, Any] | None = None
    ) -> builtins.list[SearchItem]:
        """Async twin of ``list``."""
        found: builtins.list[SearchItem] = []
        while page := await self.asearch(namespace, filter=filter, limit=_PAGE, offset=len(found)):
            found.extend(page)
        return found
