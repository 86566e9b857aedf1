"""The one error every ``tether.prebuilt`` module raises when langchain-core is missing."""

from __future__ import annotations

from tether.errors import MissingDependency


def missing_langchain(module: str) -> MissingDependency:
    """The error for importing ``module`` without langchain-core installed."""
    return MissingDependency(
        f"{module} runs LangChain tools and chat models, so it needs langchain-core: "
        f'run `pip install "tether[langchain]"`'
    )
