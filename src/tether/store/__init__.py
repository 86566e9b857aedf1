"""Long-term memory stores: the contract (``tether.store.base``), the filter rules
(``tether.store.filters``) and the backends (``tether.store.memory``, ...).

Import from the submodules; this package imports nothing so that loading one backend never
loads another.
"""
