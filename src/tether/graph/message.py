"""``add_messages``, the reducer of chat histories, and ``MessagesState``, the state that uses it.

The message classes re-exported here are those of the active family (LangChain's when
``langchain_core`` is installed, else tether's; see ``tether.messages.message_classes``), so
``isinstance`` checks on state values work. Type checkers see tether's classes.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, overload

from typing_extensions import TypedDict

from tether.engine.reuse import APPEND_REDUCERS
from tether.errors import ConfigurationError, InvalidUpdateError
from tether.graph.verified import Checked, VerifiedLists
from tether.messages import (
    REMOVE_ALL_MESSAGES,
    MessageClasses,
    coerce_messages,
    message_classes,
)

if TYPE_CHECKING:
    from tether.messages import (
        AIMessage,
        AnyMessage,
        BaseMessage,
        HumanMessage,
        RemoveMessage,
        SystemMessage,
        ToolMessage,
    )
else:
    _active = message_classes()
    AnyMessage = _active.any_message
    BaseMessage = _active.base
    HumanMessage = _active.human
    AIMessage = _active.ai
    SystemMessage = _active.system
    ToolMessage = _active.tool
    RemoveMessage = _active.remove

Messages: TypeAlias = Any
"""Either side of ``add_messages``: a list of message-likes or a single one (any value)."""

MessageFormat: TypeAlias = Literal["langchain-openai"]


@overload
def add_messages(
    left: Messages, right: Messages, *, format: MessageFormat | None = None
) -> list[Any]: ...


@overload
def add_messages(
    left: None = None, right: None = None, *, format: MessageFormat | None = None
) -> Callable[[Messages, Messages], list[Any]]: ...


def add_messages(
    left: Messages | None = None,
    right: Messages | None = None,
    *,
    format: MessageFormat | None = None,
) -> list[Any] | Callable[[Messages, Messages], list[Any]]:
    """Merge ``right`` into ``left`` by message id and return a new list.

    Both sides are coerced to messages (``tether.messages.coerce_messages``: message objects,
    role/content dicts, ``(role, content)`` pairs, strings; a single item counts as a list of
    one) and every message without an id gets a fresh uuid4 id. A ``right`` message whose id is
    already present replaces that message in place; a new id is appended, in order;
    ``RemoveMessage(id=...)`` deletes that id; ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` drops
    everything before it. Inputs are not mutated. O(len(left) + len(right)).

    Called with neither side (``add_messages(format="langchain-openai")``) it returns the
    reducer with that format bound, for ``Annotated[list, add_messages(format=...)]``.
    ``format="langchain-openai"`` re-renders incoming messages in OpenAI's content format, keeping
    their ids (LangGraph's loses them), and needs ``langchain-core``.

    Raises ``InvalidUpdateError`` for a value that is not a message, a ``RemoveMessage`` of an
    id that is not there, or a missing side (LangGraph raises ``ValueError`` for these), and
    ``ConfigurationError`` for an unknown ``format``.
    """
    if format is not None and format != "langchain-openai":
        raise ConfigurationError(
            f"add_messages: unknown format={format!r}; use 'langchain-openai' or None"
        )
    if left is None and right is None:
        return functools.partial(add_messages, format=format)
    if left is None or right is None:
        missing = "left" if left is None else "right"
        raise InvalidUpdateError(
            f"add_messages needs both 'left' and 'right'; {missing} is None. "
            "Return a list of messages ([] for no change) instead of None."
        )
    return _merge(left, right, format)


APPEND_REDUCERS.add(add_messages)  # a new list; old messages are kept or replaced, never changed


def _merge(left: Messages, right: Messages, format: MessageFormat | None) -> list[Any]:
    classes = message_classes()
    incoming = right if isinstance(right, list) else [right]
    fresh = _all_without_ids(incoming)
    new = coerce_messages(incoming, assign_ids=True, where="right")
    if format:
        new = _to_openai_format(new, classes)
    elif (
        fresh
        and isinstance(left, list)
        and classes.remove not in map(type, new)
        and ((found := _CHECKED.take(left)) is not None or _usable_as_is(left, classes))
    ):
        # Fresh uuid4 ids replace nothing: no index of ``left`` needed.
        merged = [*left, *new]
        if _usable_as_is(new, classes):  # then the result needs no check next time
            if found is not None and found.returned is left:  # the list we gave: grow its copy
                found.kept.extend(new)
                _CHECKED.keep(Checked(found.kept, merged))
            else:  # the very objects, so the next match is by pointer
                _CHECKED.keep(Checked(merged.copy(), merged))
        return merged
    merged, position = _indexed(left if isinstance(left, list) else [left], classes)
    remove_cls = classes.remove
    for i in range(len(new) - 1, -1, -1):
        if new[i].id == REMOVE_ALL_MESSAGES and isinstance(new[i], remove_cls):
            merged, position, new = [], {}, new[i + 1 :]
            break
    removed: set[str] = set()
    for m in new:
        at = position.get(m.id)
        if isinstance(m, remove_cls):
            if at is None:
                raise InvalidUpdateError(
                    f"add_messages: RemoveMessage(id={m.id!r}) names no message in the state "
                    f"({len(merged)} messages). Remove only ids that are present, e.g. "
                    "[RemoveMessage(id=m.id) for m in state['messages'][:-2]]."
                )
            removed.add(m.id)
        elif at is None:
            position[m.id] = len(merged)
            merged.append(m)
        else:
            removed.discard(m.id)
            merged[at] = m
    if removed:
        merged = [m for m in merged if m.id not in removed]
    return merged


_ID = operator.attrgetter("id")
_CHECKED = VerifiedLists()
"""Results of the append path whose messages are all usable as is (``_usable_as_is``)."""


def _all_without_ids(items: list[Any]) -> bool:
    """Whether no item carries an id (message objects, dicts, pairs, strings), so coercion
    gives each message a fresh uuid4 id (the usual node output: ``[AIMessage(content=...)]``
    or ``[{"role": "assistant", "content": ...}]``)."""
    return all(
        (item.get("id") if type(item) is dict else getattr(item, "id", None)) is None
        for item in items
    )


def _of_family(items: list[Any], classes: MessageClasses) -> bool:
    """Whether every item is a message object of the family (coercion passes it through)."""
    return classes.plain.issuperset(map(type, items))


def _usable_as_is(items: list[Any], classes: MessageClasses) -> bool:
    """Whether coercing ``items`` would change nothing: messages of the family, all with ids."""
    return _of_family(items, classes) and all(map(_ID, items))  # an id "" takes the slow path


def _indexed(items: list[Any], classes: MessageClasses) -> tuple[list[Any], dict[Any, int]]:
    """A fresh list of ``items`` as messages with ids, and each id's position in it."""
    if _of_family(items, classes):  # the usual left side: the current state
        position = dict(zip(map(_ID, items), range(len(items)), strict=True))
        if None not in position:  # a later duplicate id wins, as in the fallback below
            return list(items), position
    merged = coerce_messages(items, assign_ids=True, where="left")
    return merged, {m.id: i for i, m in enumerate(merged)}


def _to_openai_format(messages: list[Any], classes: MessageClasses) -> list[Any]:
    """Re-render each message in OpenAI's content format, keeping its id.

    Only the incoming side is formatted (the state was formatted when it came in). A message
    that renders as several (tool results split out) keeps its id on the first; the others get
    ``"<id>:<n>"``, so a later update of the same message replaces all of them.
    """
    lc = classes.lc
    if lc is None or not hasattr(lc, "convert_to_openai_messages"):
        raise ConfigurationError(
            "add_messages(format='langchain-openai') needs langchain-core>=0.3.11: "
            "run `pip install 'tether[langchain]'` or drop the format argument"
        )
    out: list[Any] = []
    for m in messages:
        if isinstance(m, classes.remove):
            out.append(m)
            continue
        for n, part in enumerate(lc.convert_to_messages(lc.convert_to_openai_messages([m]))):
            part.id = m.id if n == 0 else f"{m.id}:{n}"
            out.append(part)
    return out


class MessagesState(TypedDict):
    """A state with one key, ``messages``, merged by :func:`add_messages`. Subclass to add keys."""

    messages: Annotated[list[AnyMessage], add_messages]


__all__ = [
    "AIMessage",
    "AnyMessage",
    "BaseMessage",
    "HumanMessage",
    "MessagesState",
    "REMOVE_ALL_MESSAGES",
    "RemoveMessage",
    "SystemMessage",
    "ToolMessage",
    "add_messages",
]
