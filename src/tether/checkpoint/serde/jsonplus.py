"""``JsonPlusSerializer``: LangGraph's serializer name, so ported code constructs it unchanged.

It is ``MsgpackSerializer`` with LangGraph's constructor keywords. tether never pickles and never
reconstructs a class that is not allowlisted, so ``pickle_fallback=True`` and
``allowed_msgpack_modules=True`` are refused with a ``ConfigurationError``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from tether.checkpoint.serde.msgpack import MsgpackSerializer
from tether.errors import ConfigurationError

AllowedEntry = type | tuple[str, str]
"""A class, or LangGraph's ``(module, name)`` pair naming one (resolved when constructed)."""


class JsonPlusSerializer(MsgpackSerializer):
    """tether's msgpack serializer under LangGraph's name; same wire format as the default.

    ``allowed_msgpack_modules``: extra classes to allow, as classes or ``(module, name)`` pairs.
    A pair is imported once here, from your own configuration, never from stored bytes.
    """

    def __init__(
        self,
        *,
        pickle_fallback: bool = False,
        allowed_msgpack_modules: Iterable[AllowedEntry] | bool | None = None,
        allowlist: Iterable[type] = (),
    ) -> None:
        if pickle_fallback:
            raise ConfigurationError(
                "JsonPlusSerializer(pickle_fallback=True) is not supported: tether never pickles "
                "(unpickling stored bytes can run arbitrary code); allow the classes you store "
                "with tether.checkpoint.serde.register(cls) or serializer.with_allowlist([cls])"
            )
        if allowed_msgpack_modules is True:
            raise ConfigurationError(
                "JsonPlusSerializer(allowed_msgpack_modules=True) is not supported: tether only "
                "rebuilds allowlisted classes; pass the classes to allow instead"
            )
        extra = allowed_msgpack_modules or []
        super().__init__(allowlist=[*allowlist, *(_resolve(entry) for entry in extra)])


def _resolve(entry: Any) -> type:
    if isinstance(entry, type):
        return entry
    if not (
        isinstance(entry, tuple) and len(entry) == 2 and all(isinstance(p, str) for p in entry)
    ):
        raise ConfigurationError(
            f"allowed_msgpack_modules entry {entry!r} is neither a class nor a (module, name) pair"
        )
    module_name, name = entry
    try:
        obj: Any = importlib.import_module(module_name)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"allowed_msgpack_modules entry {entry!r} does not name an importable class: {exc}"
        ) from exc
    if not isinstance(obj, type):
        raise ConfigurationError(f"allowed_msgpack_modules entry {entry!r} is not a class")
    return obj
