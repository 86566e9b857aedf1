"""Managed values: state keys the engine fills in for each task and never stores
(LangGraph's ``langgraph.managed``).

``remaining_steps: RemainingSteps`` in a state schema gives a node how many super-steps the run
may still take before ``GraphRecursionError``; ``is_last_step: IsLastStep`` is True in the last
one. They are computed when a task starts, are left out of checkpoints and of the output, and
writes to them are ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, NamedTuple, TypeVar, get_args, get_origin

V = TypeVar("V")


class StepInfo(NamedTuple):
    """Where a run is: this super-step, and the step at which the recursion limit stops it."""

    step: int
    stop: int


class ManagedValue(Generic[V]):
    """A value computed for each task from the run's ``StepInfo`` (subclass and define ``get``)."""

    @staticmethod
    def get(scratchpad: StepInfo) -> V:
        raise NotImplementedError


class IsLastStepManager(ManagedValue[bool]):
    @staticmethod
    def get(scratchpad: StepInfo) -> bool:
        return scratchpad.step == scratchpad.stop - 1


class RemainingStepsManager(ManagedValue[int]):
    @staticmethod
    def get(scratchpad: StepInfo) -> int:
        return scratchpad.stop - scratchpad.step


IsLastStep = Annotated[bool, IsLastStepManager]
RemainingSteps = Annotated[int, RemainingStepsManager]


def managed_value(annotation: Any) -> type[ManagedValue[Any]] | None:
    """The manager an annotation names (``Annotated[T, Manager]``, maybe inside ``NotRequired``)."""
    if get_origin(annotation) is Annotated:
        last = get_args(annotation)[-1]
        last = get_origin(last) or last
        if isinstance(last, type) and issubclass(last, ManagedValue):
            return last
        return None
    args = get_args(annotation)
    if get_origin(annotation) is not None and args:
        return managed_value(args[0])
    return None


__all__ = ["IsLastStep", "ManagedValue", "RemainingSteps", "StepInfo", "managed_value"]
