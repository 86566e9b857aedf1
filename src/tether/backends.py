"""``tether.connect`` and ``tether.connect_store``: a URL picks a backend from a fixed table.

Each table maps a URL scheme to ``"module:Class"``. The module is imported only when a URL
with that scheme is opened (never one named by user input), so ``import tether`` loads no
backend and no driver. The class is built with ``from_conn_string(url, **options)``, or
``Class(**options)`` for the in-memory backends, whose URL carries nothing else.

Both functions return the backend itself: use it directly (``close()`` it when done), with
``with``, or with ``async with``; every saver and store here has sync and async methods.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from tether.errors import ConfigurationError, MissingDependency
from tether.urls import mask_url, split_scheme

if TYPE_CHECKING:
    from tether.checkpoint.base import BaseCheckpointSaver
    from tether.store.base import BaseStore

__all__ = ["SAVERS", "STORES", "connect", "connect_store"]

SAVERS: Mapping[str, str] = MappingProxyType(
    {
        "memory": "tether.checkpoint.memory:InMemorySaver",
        "sqlite": "tether.checkpoint.sqlite:SqliteSaver",
        "postgresql": "tether.checkpoint.postgres:PostgresSaver",
        "postgres": "tether.checkpoint.postgres:PostgresSaver",
        "redis": "tether.checkpoint.redis:RedisSaver",
        "rediss": "tether.checkpoint.redis:RedisSaver",
        "redis+cluster": "tether.checkpoint.redis:RedisSaver",
        "rediss+cluster": "tether.checkpoint.redis:RedisSaver",
    }
)
"""URL scheme -> the checkpoint saver ``tether.connect`` opens for it."""

STORES: Mapping[str, str] = MappingProxyType(
    {
        "memory": "tether.store.memory:InMemoryStore",
        "sqlite": "tether.store.sqlite:SqliteStore",
        "postgresql": "tether.store.postgres:PostgresStore",
        "postgres": "tether.store.postgres:PostgresStore",
        "redis": "tether.store.redis:RedisStore",
        "rediss": "tether.store.redis:RedisStore",
        "redis+cluster": "tether.store.redis:RedisStore",
        "rediss+cluster": "tether.store.redis:RedisStore",
    }
)
"""URL scheme -> the store ``tether.connect_store`` opens for it."""

_EXTRAS = {"postgres": "postgres", "redis": "redis"}
"""Backend package (the module path's last part) -> the pip extra holding its driver."""

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def connect(url: str | os.PathLike[str], /, **options: Any) -> BaseCheckpointSaver:
    """The checkpoint saver a URL names, opened with ``options``.

    ``memory://`` gives an ``InMemorySaver``; ``sqlite:///relative.db``,
    ``sqlite:////abs/path.db``, ``sqlite://:memory:``, a ``pathlib.Path`` or a path string
    ending in .db, .sqlite or .sqlite3 a ``SqliteSaver``; ``postgresql://`` and
    ``postgres://`` a ``PostgresSaver``; ``redis://``, ``rediss://``, ``redis+cluster://`` and
    ``rediss+cluster://`` a ``RedisSaver``. Options are the backend's ``from_conn_string``
    keywords (``serde``, ``lease_ttl``, ...).
    """
    return cast("BaseCheckpointSaver", _open(SAVERS, "tether.connect", url, options))


def connect_store(url: str | os.PathLike[str], /, **options: Any) -> BaseStore:
    """The store a URL names (the schemes of ``connect``), opened with ``options``
    (``index``, ``ttl``, ...): ``InMemoryStore``, ``SqliteStore``, ``PostgresStore`` and
    ``RedisStore``."""
    return cast("BaseStore", _open(STORES, "tether.connect_store", url, options))


def _open(table: Mapping[str, str], caller: str, url: object, options: dict[str, Any]) -> Any:
    scheme, conn_string, rest = _parse(table, caller, url)
    cls = _load(table[scheme], f"{caller}({mask_url(conn_string)!r})")
    opener = getattr(cls, "from_conn_string", None)
    if opener is None and rest:
        raise ConfigurationError(
            f"{caller}({mask_url(conn_string)!r}): a {scheme}:// URL names nothing after "
            f"'{scheme}://'; write {scheme}:// and pass options as keyword arguments"
        )
    try:
        return opener(conn_string, **options) if opener else cls(**options)
    except TypeError as exc:
        option = _unexpected_option(exc, options)
        if option is None:
            raise
        raise ConfigurationError(
            f"{cls.__name__} does not take the option {option!r}; see "
            f"help({cls.__module__}.{cls.__name__}) for the options it takes"
        ) from exc


def _parse(table: Mapping[str, str], caller: str, url: object) -> tuple[str, str, str]:
    """``(scheme, connection string, what follows scheme://)``; bare SQLite paths allowed."""
    if isinstance(url, os.PathLike):
        path = os.fspath(url)
        if isinstance(path, str):
            return "sqlite", path, path
    if not isinstance(url, str):
        raise ConfigurationError(
            f"{caller} needs a URL string such as 'sqlite:///app.db', not {type(url).__name__}"
        )
    split = split_scheme(url)
    if split is None:
        if url == ":memory:" or url.lower().endswith(_SQLITE_SUFFIXES):
            return "sqlite", url, url
        raise ConfigurationError(
            f"{caller}({mask_url(url)!r}): not a URL; write scheme://..., one of "
            f"{_known(table)} (for a SQLite file: sqlite:///{url})"
        )
    scheme, rest = split
    if scheme not in table:
        raise ConfigurationError(
            f"{caller}({mask_url(url)!r}): unknown URL scheme {scheme!r}; known schemes: "
            f"{_known(table)}"
        )
    return scheme, f"{scheme}://{rest}", rest


def _known(table: Mapping[str, str]) -> str:
    return ", ".join(f"{scheme}://" for scheme in table)


def _load(target: str, where: str) -> type:
    """The class ``target`` names; a clear error when its module or its driver is missing."""
    module_name, _, class_name = target.partition(":")
    backend = module_name.rsplit(".", 1)[-1]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
            extra = _EXTRAS.get(backend)
            how = f'pip install "tether[{extra}]"' if extra else f"pip install {exc.name}"
            raise MissingDependency(
                f"{where}: the {backend} backend needs the Python package {exc.name!r}, "
                f"which is not installed: {how}"
            ) from exc
        module = None
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        raise ConfigurationError(
            f"{where}: the {backend} backend ({module_name}.{class_name}) is not available in "
            f"this version of tether; use one it has, such as sqlite:/// or memory://"
        )
    return found


_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


def _unexpected_option(exc: TypeError, options: dict[str, Any]) -> str | None:
    """The option the caller passed that ``exc`` says the backend does not take, if any."""
    match = _UNEXPECTED.search(str(exc))
    return match.group(1) if match and match.group(1) in options else None
