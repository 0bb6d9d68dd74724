"""Helpers shared by the type tests: map values through a one-field mapping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from conveyor.mapping.compiler import compile_mapping
from conveyor.mapping.spec import MappingSpec

BOOL_WORDS = "(true, t, yes, y, 1 / false, f, no, n, 0)"


@dataclass(frozen=True)
class Reject:
    reason: str


def outcome(rule: dict[str, Any], values: list[Any], dtype: Any = pl.String) -> list[object]:
    """Each input value's mapped value, or Reject(reason) without the 'v (V): ' prefix."""
    spec = MappingSpec.model_validate(
        {"target": {"table": "t"}, "fields": {"v": {"from": "V", **rule}}}
    )
    frame = pl.DataFrame(
        {"V": pl.Series(values, dtype=dtype), "__row": pl.int_range(len(values), eager=True)}
    )
    mapped = compile_mapping(spec).apply(frame)
    assert mapped.good.height + mapped.rejects.height == len(values)
    found: dict[int, object] = dict(zip(mapped.good["__row"], mapped.good["v"], strict=True))
    for row, reason in zip(mapped.rejects["__row"], mapped.rejects["_error"], strict=True):
        assert reason.startswith("v (V): ")
        found[row] = Reject(reason.removeprefix("v (V): "))
    return [found[i] for i in range(len(values))]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
