"""Crash and multi-process tests for the durable backends (real processes, real files)."""
