"""The checkpoint serializer: msgpack with an allowlist of classes, never pickle.

``MsgpackSerializer`` is the default; ``JsonPlusSerializer`` is the same under LangGraph's name.
Classes are stored by name and rebuilt only if allowlisted: ``register(cls)`` (process-wide),
``serializer.with_allowlist([cls])`` (one serializer) or ``allowlist_from_schema(State)``
(what a graph's state schema can hold).
"""

from tether.checkpoint.serde.allowlist import (
    DEFAULT_ALLOWLIST,
    Allowlist,
    qualified_name,
    register,
)
from tether.checkpoint.serde.base import (
    SerializerProtocol,
    StoredException,
    UnstorableValue,
    format_path,
)
from tether.checkpoint.serde.jsonplus import JsonPlusSerializer
from tether.checkpoint.serde.msgpack import MsgpackSerializer
from tether.checkpoint.serde.schema import allowlist_from_schema

__all__ = [
    "DEFAULT_ALLOWLIST",
    "Allowlist",
    "JsonPlusSerializer",
    "MsgpackSerializer",
    "SerializerProtocol",
    "StoredException",
    "UnstorableValue",
    "allowlist_from_schema",
    "format_path",
    "qualified_name",
    "register",
]
