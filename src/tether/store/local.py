"""``"tether:local"``: an embedder that runs offline, from weights shipped on PyPI.

It uses WordLlama's ``l2_supercat`` model (256 dimensions): a table of token embeddings
distilled from large language models, averaged over a text's tokens. The weights and the
tokenizer are files inside the ``wordllama`` wheel, loaded from site-packages: no network,
no API key, no download at run time (``pip install "tether[embeddings]"``).

What it is good for: ranking short memories ("likes Python", "allergic to peanuts") by the
words and topics they share with a query, on a laptop or in CI. It has no sense of word order
or negation ("likes tea" and "does not like tea" come out close); for question answering over
long documents use a transformer model through ``"provider:model"``.
"""

from __future__ import annotations

from typing import Any

from tether.errors import ConfigurationError

__all__ = ["LocalEmbeddings"]

_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
_MODEL: Any = None


def _load() -> Any:
    """Build the WordLlama model from the files in its wheel (once per process)."""
    global _MODEL  # noqa: PLW0603
    if _MODEL is not None:
        return _MODEL
    try:
        from importlib.resources import files

        from safetensors import safe_open
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference
    except ImportError as error:
        raise ConfigurationError(
            'index embed="tether:local" needs the offline model: pip install "tether[embeddings]"'
        ) from error
    root = files("wordllama")
    weights = root.joinpath(_WEIGHTS[0]).joinpath(_WEIGHTS[1])
    tokenizer = root.joinpath(_TOKENIZER[0]).joinpath(_TOKENIZER[1])
    if not (weights.is_file() and tokenizer.is_file()):
        raise ConfigurationError(
            f"the installed wordllama package has no {'/'.join(_WEIGHTS)} or "
            f"{'/'.join(_TOKENIZER)}; reinstall it: pip install 'tether[embeddings]'"
        )
    with safe_open(str(weights), framework="np") as f:
        table = f.get_tensor("embedding.weight")
    _MODEL = WordLlamaInference(table, Tokenizer.from_file(str(tokenizer)))
    return _MODEL


class LocalEmbeddings:
    """The offline model with LangChain's ``Embeddings`` methods (unit-length vectors)."""

    dims = 256

    def __init__(self) -> None:
        self._model = _load()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One 256-number vector per text (all zeros for a text with no tokens)."""
        if not texts:
            return []
        import numpy as np

        with np.errstate(all="ignore"):  # a text without tokens divides 0 by 0
            matrix = self._model.embed(list(texts), norm=True)
        vectors: list[list[float]] = np.nan_to_num(matrix, nan=0.0).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """The vector of one query (the model embeds queries and documents alike)."""
        return self.embed_documents([text])[0]
