"""Failures on demand for the reference connector, so tests can prove how the engine copes.

A test plans the next calls of an operation to fail (with any error, or an HTTP status mapped the
way real connectors map it), rules that refuse written rows, or a random share of failing calls.
The connector asks :meth:`Faults.trip` once per call; the store asks :func:`rejection_reason` per
written row.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from conveyor.errors import RecordError
from conveyor.retry import error_for_status

__all__ = ["FaultOp", "Faults", "Predicate", "rejection_reason"]

#: The calls a fault can hit; "any" is whichever call comes next.
FaultOp = Literal["read", "write", "delete", "scan", "check", "describe", "any"]
Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass
class _Fault:
    op: FaultOp
    error: Exception
    remaining: int


@dataclass
class Faults:
    """Failures on demand: the next calls of an operation, rows matching a rule, or at random.

    A ``RecordError`` planned for ``write`` or ``delete`` fails every row of that call (the
    remote refused the batch's rows); other errors are raised by the call.
    """

    fail_rate: float = 0.0
    seed: int | None = None
    planned: list[_Fault] = field(default_factory=list)
    rejections: list[tuple[Predicate, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def fail_next(self, op: FaultOp, error: Exception, times: int = 1) -> None:
        """The next ``times`` calls of ``op`` fail with ``error``."""
        if op not in get_args(FaultOp):
            raise ValueError(f"unknown operation {op!r}; one of {get_args(FaultOp)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self.planned.append(_Fault(op, error, times))

    def fail_status(
        self, op: FaultOp, status: int, retry_after: float | None = None, times: int = 1
    ) -> None:
        """The next calls of ``op`` answer HTTP ``status`` (mapped by conveyor.retry)."""
        error = error_for_status(status, "injected by the reference connector", retry_after)
        self.fail_next(op, error, times)

    def reject_when(self, predicate: Predicate, reason: str = "refused by a remote rule") -> None:
        """Written rows whose values (as they would be stored) match fail with ``reason``."""
        self.rejections.append((predicate, reason))

    def clear(self) -> None:
        self.planned.clear()
        self.rejections.clear()
        self.fail_rate = 0.0

    def trip(self, op: FaultOp) -> RecordError | None:
        """Raise the failure due for this call of ``op``; a row failure is returned instead."""
        for fault in self.planned:
            if fault.op in (op, "any"):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.planned.remove(fault)
                if isinstance(fault.error, RecordError) and op in ("write", "delete"):
                    return fault.error
                raise fault.error
        if self.fail_rate and self._random.random() < self.fail_rate:
            raise error_for_status(503, f"random failure of a {op} call (fail_rate)", 0.0)
        return None


def rejection_reason(
    values: Mapping[str, Any], rules: Sequence[tuple[Predicate, str]]
) -> str | None:
    """The reason of the first rule ``values`` match, or None when the row may be written."""
    return next((reason for rule, reason in rules if rule(values)), None)
