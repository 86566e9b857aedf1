"""Key names of the Redis backend: every key of one thread under one hash tag.

A thread's keys are ``<prefix>{t<escaped thread id>}:<part>``; the ``{...}`` hash tag puts them
all in one cluster slot, so a step commits in one script on Redis Cluster too. Ids are escaped
(every byte outside ``[A-Za-z0-9._-]`` becomes ``%XX``), so a thread id cannot close the hash
tag, add a ``:`` part, or carry glob characters into a key.

Per thread: ``t`` (hash: created/updated, status, pinned), ``lease`` (the writer's owner token,
``SET NX PX``), ``epoch`` (fencing counter), ``ns`` (hash: escaped namespace -> namespace).
Per namespace ``n<escaped ns>``: ``ids`` (sorted set, checkpoint ids by lexical order), ``cp``,
``meta`` and ``need`` (hashes keyed by checkpoint id: body, metadata, the blob fields it reads),
``blobs`` and ``links`` (hashes keyed ``channel NUL version``: a row, and the field a chained
row continues at), ``writes`` (hash keyed ``checkpoint NUL task NUL idx``) and ``wk`` (the
same fields as a lexically ordered set, so one checkpoint's writes are one range).

Fields are built from parts escaped by ``part`` (NUL, ``\\x01`` and newline replaced) so the
NUL separator and the newline that joins ``need`` lists cannot occur inside a part. The Lua
scripts (``scripts``) escape the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tether.errors import ConfigurationError

NS_PARTS = ("ids", "cp", "meta", "need", "blobs", "links", "writes", "wk")
"""The keys of one namespace, in the order the scripts take them."""

_ALL_SAFE = re.compile(r"[A-Za-z0-9._-]*")
_UNSAFE = re.compile(rb"[^A-Za-z0-9._-]")
_PART_ESCAPES = str.maketrans({"\x01": "\x01\x01", "\x00": "\x01\x02", "\n": "\x01\x03"})
_SPECIAL = re.compile("[\x00\x01\n]")


def escape(text: str) -> str:
    """``text`` with every byte outside ``[A-Za-z0-9._-]`` as ``%XX`` (reversible, no braces,
    colons, spaces or glob characters)."""
    if _ALL_SAFE.fullmatch(text):
        return text
    raw = text.encode("utf-8", "surrogatepass")
    return _UNSAFE.sub(lambda m: b"%%%02X" % m[0][0], raw).decode("ascii")


def part(text: str) -> str:
    """A field part with NUL, ``\\x01`` and newline escaped (see the module docstring)."""
    if _SPECIAL.search(text):
        return text.translate(_PART_ESCAPES)
    return text


def field(*parts: str) -> str:
    """A hash field or set member made of escaped parts joined by NUL."""
    joined = "\x00".join(parts)
    if joined.count("\x00") == len(parts) - 1 and "\x01" not in joined and "\n" not in joined:
        return joined
    return "\x00".join(part(p) for p in parts)


def netstrings(items: Iterable[str | bytes]) -> bytes:
    """Items as one byte string of ``<length>:<bytes>`` (one script argument, not many)."""
    out = []
    for item in items:
        data = item.encode() if isinstance(item, str) else item
        out.append(b"%d:%s" % (len(data), data))
    return b"".join(out)


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
        raise ConfigurationError(
            f"key_prefix must be a string without '{{' or '}}' (they would change the hash "
            f"slot of every key), got {prefix!r}"
        )
    return prefix


class ThreadKeys:
    """The key names of one thread (and, through ``ns``, of its namespaces)."""

    __slots__ = ("base", "catalog", "epoch", "lease", "spaces", "thread")

    def __init__(self, prefix: str, thread_id: str) -> None:
        self.base = f"{prefix}{{t{escape(thread_id)}}}"
        self.thread = self.base + ":t"
        self.lease = self.base + ":lease"
        self.epoch = self.base + ":epoch"
        self.spaces = self.base + ":ns"
        self.catalog = prefix + "threads"

    def ns(self, ns: str) -> list[str]:
        """The keys of namespace ``ns``, in ``NS_PARTS`` order."""
        root = f"{self.base}:{ns_tag(ns)}:"
        return [root + name for name in NS_PARTS]

    def all_ns(self, tags: Iterable[str]) -> list[str]:
        """The keys of every namespace whose escaped tag is in ``tags``."""
        return [f"{self.base}:{tag}:{name}" for tag in tags for name in NS_PARTS]


def ns_tag(ns: str) -> str:
    """The key segment of a namespace (never empty: the root namespace is ``n``)."""
    return "n" + escape(ns)
