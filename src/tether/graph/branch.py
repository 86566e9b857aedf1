"""Conditional edges: a path function whose answer picks the next node(s) or ``Send``s."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from tether.constants import END, TASKS
from tether.engine import observe
from tether.errors import InvalidUpdateError
from tether.graph.node import adapt
from tether.types import Send


@dataclasses.dataclass(slots=True)
class Branch:
    """``add_conditional_edges(source, path, path_map)`` as the compiler keeps it."""

    path: Callable[..., Any]
    path_map: dict[Hashable, str] | None
    call: Callable[[Any, dict[str, Any]], Any] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.call = adapt(self.path)

    def targets(self) -> list[str] | None:
        """The nodes this branch can reach, when a path_map says so."""
        return list(self.path_map.values()) if self.path_map is not None else None

    def writes(
        self, state: Any, config: dict[str, Any], source: str, position: int
    ) -> list[tuple[str, Any]]:
        """Run the path function and turn its answer into trigger writes; ``position`` is the
        branch's place in its node's sequence (a tracer's ``seq:step:N`` tag)."""
        name = getattr(self.path, "__name__", "Branch")
        answer = observe.traced_call(name, self.call, state, config, position)
        items = answer if isinstance(answer, list | tuple) else [answer]
        out: list[tuple[str, Any]] = []
        for item in items:
            if isinstance(item, Send):
                out.append((TASKS, item))
                continue
            target = self._resolve(item, source)
            if target != END:
                out.append((f"branch:to:{target}", None))
        return out

    def _resolve(self, item: Any, source: str) -> str:
        if self.path_map is None:
            if not isinstance(item, str):
                raise InvalidUpdateError(
                    f"the conditional edge from {source!r} returned {item!r}; without a path_map "
                    f"it must return node names, END or Send objects"
                )
            return item
        try:
            return self.path_map[item]
        except (KeyError, TypeError):
            raise InvalidUpdateError(
                f"the conditional edge from {source!r} returned {item!r}, which is not a key of "
                f"its path_map {sorted(map(repr, self.path_map))}"
            ) from None


def normalize_path_map(
    path_map: Mapping[Hashable, str] | Sequence[str] | None,
) -> dict[Hashable, str] | None:
    if path_map is None:
        return None
    if isinstance(path_map, Mapping):
        return dict(path_map)
    return {name: name for name in path_map}
