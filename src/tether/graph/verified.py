"""Message lists ``add_messages`` recently returned, so the next call need not check them again.

``add_messages`` appends fresh messages without indexing the state only when every message of
the state (``left``) is a message object of the active family with an id. Checking that reads
the type and the ``id`` of every message at every step, which costs more as a conversation
grows (most of it in cache misses: each message is a separate object). The list a step returns
is ``left`` plus messages that were just coerced, so a later ``left`` holding the very same
objects in the same order passes without being looked at.

``VerifiedLists`` keeps a private copy of the last few such results and finds the one a later
``left`` equals. ``list.__eq__`` compares identical items by pointer without calling their
``__eq__``, so a match costs a pass over two arrays of pointers. Where an item is not the same
object, the comparison falls to ``__eq__``, which for the family's message classes (pydantic
models and dataclasses) is true only for a message of the same class with the same fields, the
id included: such a list passes the check as well. The copies keep their messages alive until
a newer result pushes them out (``MAX_LISTS``).
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from tether.engine.reuse import same_items

MAX_LISTS = 4


class Checked(NamedTuple):
    """A checked list: ``kept``, a private copy of ``returned`` (the list the caller got)."""

    kept: list[Any]
    returned: list[Any]


class VerifiedLists:
    """The last ``MAX_LISTS`` checked message lists, newest last (safe across threads)."""

    def __init__(self) -> None:
        self._lists: list[Checked] = []
        self._lock = threading.Lock()

    def take(self, items: list[Any]) -> Checked | None:
        """The kept list that equals ``items``, if any (it is then dropped: the caller keeps
        its result instead)."""
        with self._lock:
            for i in range(len(self._lists) - 1, -1, -1):
                kept = self._lists[i].kept
                if len(kept) == len(items) and same_items(kept, items):
                    return self._lists.pop(i)
        return None

    def keep(self, checked: Checked) -> None:
        """Keep ``checked`` as the newest checked list."""
        with self._lock:
            self._lists.append(checked)
            del self._lists[:-MAX_LISTS]

    def clear(self) -> None:
        with self._lock:
            self._lists.clear()
