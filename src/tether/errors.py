"""Every error tether raises, in one tree.

    TetherError
    ├── ConfigurationError          bad setup: missing driver, bad URL, bad option     (ValueError)
    │   ├── MissingConfigKey        config lacks thread_id / checkpoint_id              (KeyError)
    │   ├── InvalidContextError     get_config()/interrupt() outside a node, ...    (RuntimeError)
    │   └── MissingDependency       an optional package is not installed             (ImportError)
    ├── GraphError                  the graph definition or a run is wrong
    │   ├── InvalidGraphError       compile-time validation (unknown node, ...)        (ValueError)
    │   ├── InvalidUpdateError      an update a channel cannot take                    (ValueError)
    │   ├── EmptyInputError         a run with no input and nothing to resume
    │   ├── GraphRecursionError     more super-steps than ``recursion_limit``      (RecursionError)
    │   └── InvalidResumeError      a resume value that matches no pending interrupt (RuntimeError)
    ├── StorageError                a saver or store failed
    │   ├── BackendUnavailable      the database cannot be reached
    │   ├── CheckpointNotFound      a checkpoint id that does not exist in the thread (LookupError)
    │   ├── ConflictError           a concurrent writer won
    │   │   └── ThreadBusy          another run holds the thread's lease
    │   ├── SchemaVersionError      stored data written by another format version
    │   ├── CorruptDataError        stored bytes that cannot be decoded
    │   └── InvalidStoreOperation   a store call with bad arguments (filter, ...)      (ValueError)
    │       └── InvalidNamespaceError  a store namespace that is not valid
    └── SerializationError          a value that cannot be stored, a type not allowed   (TypeError)

A built-in in brackets is an extra base: where LangGraph raises that built-in for the same
mistake, tether raises a subclass of it, so ``except ValueError`` (and so on) ports unchanged.

``GraphInterrupt`` is not a ``TetherError``: it is control flow, raised inside a node by
``interrupt()`` and caught by the engine.

Messages name the object (thread id, checkpoint id, channel, state path) and say what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class TetherError(Exception):
    """Root of every error tether raises on purpose."""


class ConfigurationError(TetherError, ValueError):
    """tether is set up wrongly: a missing driver, a bad URL, a config without a thread_id."""


class MissingConfigKey(ConfigurationError, KeyError):
    """A config lacks a key the call needs (``thread_id``, ``checkpoint_id``).

    A ``KeyError`` as LangGraph's state calls and savers raise, and a ``ValueError`` as its runs
    raise; the message reads as written (no ``KeyError`` quoting).
    """

    def __str__(self) -> str:
        return Exception.__str__(self)


class InvalidContextError(ConfigurationError, RuntimeError):
    """A call made where it cannot work: ``get_config()`` or ``interrupt()`` outside a running
    node, ``checkpointer=True`` on a root graph (LangGraph raises ``RuntimeError``)."""


class MissingDependency(ConfigurationError, ImportError):
    """A feature needs an optional package that is not installed; the message names the extra
    to install (``pip install "tether[langchain]"``)."""


class GraphError(TetherError):
    """A graph definition or a run of it is wrong."""


class InvalidGraphError(GraphError, ValueError):
    """The graph does not compile: it names an unknown node, has no entry point, and so on."""


class InvalidUpdateError(GraphError, ValueError):
    """A channel cannot take an update (two values in one step for a last-value key, ...)."""


class EmptyInputError(GraphError):
    """A run was given no input and there is nothing to resume."""


class GraphRecursionError(GraphError, RecursionError):
    """A run took more super-steps than its ``recursion_limit``."""


class InvalidResumeError(GraphError, RuntimeError):
    """A resume value matches no pending interrupt of the thread."""


class StorageError(TetherError):
    """A saver or store failed."""


class BackendUnavailable(StorageError):
    """The database cannot be reached or opened."""


class CheckpointNotFound(StorageError, LookupError):
    """A checkpoint id that does not exist in the thread."""


class ConflictError(StorageError):
    """A concurrent writer changed the thread first."""


class ThreadBusy(ConflictError):
    """Another run holds the thread's lease."""


class SchemaVersionError(StorageError):
    """Stored data was written in a format version this tether cannot read as is."""


class CorruptDataError(StorageError):
    """Stored bytes cannot be decoded."""


class InvalidStoreOperation(StorageError, ValueError):
    """A store call with bad arguments: an unknown filter operator, a negative limit, ..."""


class InvalidNamespaceError(InvalidStoreOperation):
    """A store namespace that is not a tuple of non-empty string labels without ``"."``."""


class SerializationError(TetherError, TypeError):
    """A value cannot be serialized, or a stored type is not on the allowlist."""


class GraphInterrupt(Exception):
    """Raised inside a run to pause it; carries the ``Interrupt`` values. Internal control flow."""

    def __init__(self, interrupts: Sequence[Any] = ()) -> None:
        super().__init__(tuple(interrupts))
        self.interrupts: tuple[Any, ...] = tuple(interrupts)


class ParentCommand(Exception):
    """Carries a ``Command(graph=Command.PARENT)`` from a subgraph to its parent. Internal."""

    def __init__(self, command: Any) -> None:
        super().__init__(command)
        self.command = command


# LangGraph spells this one NodeInterrupt in older code; kept as an alias where users catch it.
NodeInterrupt = GraphInterrupt

__all__ = [
    "BackendUnavailable",
    "CheckpointNotFound",
    "ConfigurationError",
    "ConflictError",
    "CorruptDataError",
    "EmptyInputError",
    "GraphError",
    "GraphInterrupt",
    "GraphRecursionError",
    "InvalidContextError",
    "InvalidGraphError",
    "InvalidNamespaceError",
    "InvalidResumeError",
    "InvalidStoreOperation",
    "InvalidUpdateError",
    "MissingConfigKey",
    "NodeInterrupt",
    "ParentCommand",
    "SchemaVersionError",
    "SerializationError",
    "StorageError",
    "TetherError",
    "ThreadBusy",
]
