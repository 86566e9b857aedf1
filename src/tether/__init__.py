"""tether: durable graph workflows with a LangGraph-compatible API.

``tether.connect(url)`` opens the checkpoint saver a URL names and ``tether.connect_store(url)``
the store (``tether.backends``); ``tether.mask_url`` hides a URL's password for messages.
Importing tether loads no backend and no driver.
"""

from tether.backends import connect, connect_store
from tether.urls import mask_url

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "connect_store", "mask_url"]
