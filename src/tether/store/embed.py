"""Embedding configuration: ``index={"dims": N, "embed": ..., "fields": [...]}``.

``embed`` may be

- a function ``texts -> vectors`` or an ``async`` one (used for documents and queries alike);
- a LangChain ``Embeddings`` object (anything with ``embed_documents`` and ``embed_query``):
  stored texts go through ``embed_documents`` and search queries through ``embed_query``
  (models that embed queries differently get what they expect);
- ``"tether:local"``: the offline embedder of ``tether[embeddings]`` (``tether.store.local``);
- another ``"provider:model"`` string, resolved by LangChain's ``init_embeddings``
  (``pip install langchain``).

``Embedder`` gives every store one sync and one async way to embed, de-duplicating texts
within a call (so a batch with the same text twice embeds it once) and checking that every
vector has ``dims`` numbers.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypedDict

from tether.errors import ConfigurationError, StorageError
from tether.store.paths import parse_path

__all__ = ["Embedder", "EmbeddingError", "IndexConfig", "make_embedder"]

Vector = list[float]


class IndexConfig(TypedDict, total=False):
    """How a store embeds items for ``search(query=...)``.

    ``dims``: length of every vector (filled in for ``"tether:local"``). ``embed``: see the
    module docstring. ``fields``: paths of the text to embed (default ``["$"]``, the whole
    value); ``put(..., index=[...])`` overrides them per item and ``index=False`` skips it.
    """

    dims: int
    embed: Any
    fields: list[str] | None


class EmbeddingError(StorageError):
    """The embedding function failed or returned vectors of the wrong shape."""


class Embedder:
    """Embeds documents and queries with the configured function, sync or async."""

    def __init__(
        self,
        documents: Callable[[list[str]], Any],
        query: Callable[[list[str]], Any],
        dims: int,
        name: str,
        *,
        adocuments: Callable[[list[str]], Awaitable[Any]] | None = None,
        aquery: Callable[[list[str]], Awaitable[Any]] | None = None,
    ) -> None:
        self._documents = documents
        self._query = query
        self._adocuments = adocuments
        self._aquery = aquery
        self.dims = dims
        self.name = name

    def embed_documents(self, texts: Sequence[str]) -> dict[str, Vector]:
        """Vectors of the distinct ``texts``, keyed by text."""
        return self._run_sync(self._documents, texts)

    def embed_queries(self, texts: Sequence[str]) -> dict[str, Vector]:
        """Query vectors of the distinct ``texts``, keyed by text."""
        return self._run_sync(self._query, texts)

    async def aembed_documents(self, texts: Sequence[str]) -> dict[str, Vector]:
        """Async twin of ``embed_documents``."""
        return await self._run_async(self._documents, self._adocuments, texts)

    async def aembed_queries(self, texts: Sequence[str]) -> dict[str, Vector]:
        """Async twin of ``embed_queries``."""
        return await self._run_async(self._query, self._aquery, texts)

    def _run_sync(self, func: Callable[[list[str]], Any], texts: Sequence[str]) -> dict:
        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return {}
        out = self._call(func, distinct)
        if inspect.isawaitable(out):
            out = _await_without_loop(out, self.name)
        return self._check(distinct, out)

    async def _run_async(
        self,
        func: Callable[[list[str]], Any],
        afunc: Callable[[list[str]], Awaitable[Any]] | None,
        texts: Sequence[str],
    ) -> dict:
        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return {}
        if afunc is not None:
            out = await self._call_async(afunc, distinct)
        else:
            out = await asyncio.to_thread(self._call, func, distinct)
        return self._check(distinct, out)

    def _call(self, func: Callable[[list[str]], Any], texts: list[str]) -> Any:
        try:
            return func(texts)
        except Exception as error:
            raise EmbeddingError(f"embedding with {self.name} failed: {error!r}") from error

    async def _call_async(
        self, func: Callable[[list[str]], Awaitable[Any]], texts: list[str]
    ) -> Any:
        try:
            return await func(texts)
        except Exception as error:
            raise EmbeddingError(f"embedding with {self.name} failed: {error!r}") from error

    def _check(self, texts: list[str], vectors: Any) -> dict[str, Vector]:
        vectors = [list(map(float, v)) for v in vectors]
        if len(vectors) != len(texts):
            raise EmbeddingError(
                f"{self.name} returned {len(vectors)} vectors for {len(texts)} texts; an "
                "embedding function must return one vector per text, in order"
            )
        for text, vector in zip(texts, vectors, strict=True):
            if len(vector) != self.dims or not all(map(math.isfinite, vector)):
                raise EmbeddingError(
                    f"{self.name} returned a vector of {len(vector)} numbers for {text[:40]!r}; "
                    f"the index has dims={self.dims} (every number must be finite)"
                )
        return dict(zip(texts, vectors, strict=True))


def _await_without_loop(awaitable: Awaitable[Any], name: str) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(awaitable))
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    raise ConfigurationError(
        f"the store's embed function {name} is async, and a sync store method was called "
        "inside a running event loop; call the async method (aput/asearch/abatch) instead"
    )


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _resolve(embed: Any) -> tuple[Any, int | None]:
    """Turn a model string into an object; ``tether:local`` also tells its dims."""
    if not isinstance(embed, str):
        return embed, None
    if embed == "tether:local":
        from tether.store.local import LocalEmbeddings

        model = LocalEmbeddings()
        return model, model.dims
    try:
        from langchain.embeddings import init_embeddings  # type: ignore[import-not-found]
    except ImportError as error:
        raise ConfigurationError(
            f"index embed={embed!r}: a 'provider:model' string needs LangChain's "
            "init_embeddings (pip install langchain and the provider's package), or use "
            "'tether:local' (pip install 'tether[embeddings]'), or pass a function"
        ) from error
    try:
        return init_embeddings(embed), None
    except Exception as error:
        raise ConfigurationError(
            f"index embed={embed!r}: LangChain's init_embeddings could not load it ({error}); "
            "write 'provider:model' with the provider's package installed, or 'tether:local'"
        ) from error


def make_embedder(config: Any, *, store: str) -> tuple[Embedder, tuple[tuple[str, ...], ...]]:
    """Check an ``index=`` config; return its embedder and the parsed default field paths."""
    if not isinstance(config, dict) or "embed" not in config:
        raise ConfigurationError(
            f'{store}(index=...) must be a dict like {{"dims": 256, "embed": "tether:local", '
            f'"fields": ["text"]}}, got {config!r}'
        )
    unknown = set(config) - {"dims", "embed", "fields"}
    if unknown:
        raise ConfigurationError(f"{store}(index=...): unknown keys {sorted(unknown)}")
    embed, known_dims = _resolve(config["embed"])
    dims = config.get("dims", known_dims)
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
        raise ConfigurationError(f"{store}(index=...): dims must be a positive int, got {dims!r}")
    fields = config.get("fields") or ["$"]
    if isinstance(fields, str):
        raise ConfigurationError(f"{store}(index=...): fields must be a list, e.g. [{fields!r}]")
    paths = tuple(parse_path(field) for field in fields)
    name = getattr(embed, "__qualname__", None) or type(embed).__name__
    if hasattr(embed, "embed_documents") and hasattr(embed, "embed_query"):
        return _langchain_embedder(embed, dims, name), paths
    if not callable(embed):
        raise ConfigurationError(
            f"{store}(index=...): embed must be a function, an async function, a LangChain "
            f"Embeddings object or a 'provider:model' string, got {type(embed).__name__}"
        )
    if inspect.iscoroutinefunction(embed):
        return Embedder(embed, embed, dims, name, adocuments=embed, aquery=embed), paths
    return Embedder(embed, embed, dims, name), paths


def _langchain_embedder(model: Any, dims: int, name: str) -> Embedder:
    """Documents through ``embed_documents``, queries through ``embed_query``."""

    def documents(texts: list[str]) -> Any:
        return model.embed_documents(texts)

    def queries(texts: list[str]) -> Any:
        return [model.embed_query(text) for text in texts]

    async def adocuments(texts: list[str]) -> Any:
        return await model.aembed_documents(texts)

    async def aqueries(texts: list[str]) -> Any:
        return [await model.aembed_query(text) for text in texts]

    if not (hasattr(model, "aembed_documents") and hasattr(model, "aembed_query")):
        return Embedder(documents, queries, dims, name)
    return Embedder(documents, queries, dims, name, adocuments=adocuments, aquery=aqueries)
