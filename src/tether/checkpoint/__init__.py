"""Checkpoint savers: the contract (``tether.checkpoint.base``), the serializer
(``tether.checkpoint.serde``) and the backends (``tether.checkpoint.memory``, ...).

Import from the submodules; this package imports nothing so that loading one backend never
loads another.
"""
