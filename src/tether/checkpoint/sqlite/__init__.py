"""SQLite persistence: ``SqliteSaver`` (sync and async methods) in one file, the default backend."""

from tether.checkpoint.sqlite.saver import SqliteSaver

__all__ = ["SqliteSaver"]
