"""Connection URLs: the scheme that picks a backend, SQLite's URL form, and masked passwords.

Imports nothing from the engine or any backend, so every backend can use ``mask_url`` in its
messages and ``import tether`` stays light.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from tether.errors import ConfigurationError

__all__ = ["mask_url", "sqlite_path", "split_scheme"]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_QUERY_PASSWORD = re.compile(r"([?&;]password=)[^&#;]*", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_url(url: object) -> str:
    """``url`` with every password in it replaced by ``***``, for messages and logs.

    Masks the password of ``scheme://user:password@host`` (the user stays), a ``password=``
    query parameter, and a libpq ``password=...`` keyword in a string that is not a URL. When
    unsure where the password ends it hides more, never less: ``postgresql://u:p@h/db`` gives
    ``postgresql://u:***@h/db``.
    """
    text = str(url)
    match = _SCHEME.match(text)
    if match is None:
        return _KEYWORD_PASSWORD.sub(r"\1***", text)
    head, rest = text[: match.end()], text[match.end() :]
    at = rest.rfind("@")
    if at != -1:
        user, colon, _password = rest[:at].partition(":")
        if colon and not any(c in user for c in "/?#"):
            rest = f"{user}:***{rest[at:]}"
    return head + _QUERY_PASSWORD.sub(r"\1***", rest)


def split_scheme(url: str) -> tuple[str, str] | None:
    """``(scheme, rest)`` of ``scheme://rest``, the scheme lower-cased; None without one."""
    match = _SCHEME.match(url)
    if match is None:
        return None
    return match.group(1).lower(), url[match.end() :]


def sqlite_path(conn_string: str) -> str:
    """The file a SQLite connection string names: a path as is, or a ``sqlite://`` URL.

    ``sqlite:///relative.db`` (three slashes: relative to the working directory),
    ``sqlite:////abs/path.db`` (four), ``sqlite://``, ``sqlite://:memory:`` and
    ``sqlite:///:memory:`` (an in-memory database). The path is percent-decoded. A host
    (``sqlite://app.db``) or a query string is refused: options are keyword arguments.
    """
    split = split_scheme(conn_string)
    if split is None or split[0] != "sqlite":
        return conn_string
    rest = split[1]
    if rest in ("", "/", ":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise ConfigurationError(
            f"{conn_string!r} puts {rest.split('/')[0]!r} where a host would go, and SQLite "
            f"has no host: write sqlite:///{rest} (three slashes: a path relative to the working "
            f"directory) or sqlite:////absolute/path.db (four)"
        )
    if "?" in rest or "#" in rest:
        raise ConfigurationError(
            f"{conn_string!r} has a query string, which tether does not read: pass options as "
            f"keyword arguments (tether.connect(url, synchronous='FULL')), and write a '?' or "
            f"'#' in a file name as %3F or %23"
        )
    return unquote(rest[1:])
