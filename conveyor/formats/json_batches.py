"""Records of a JSON file gathered into typed batches (the JSON reader's ``Batch`` builder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from conveyor.errors import SourceError
from conveyor.formats.base import Batch
from conveyor.formats.nested import FlattenCollision, flatten, json_text
from conveyor.schema import INTERNAL_COLUMNS, REJECT_ERROR, ROW_COL

__all__ = ["VALUE_COL", "BatchBuilder"]

VALUE_COL = "_value"  # reader rejects: a record that is not an object, as JSON text

_INT64 = (-(2**63), 2**63 - 1)


@dataclass
class BatchBuilder:
    """Gathers records into a ``Batch``: objects flattened, other values rejected, columns typed."""

    path: Path
    depth: int | None
    json_columns: list[str]
    rows: list[dict[str, object]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    rejects: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.numbers) + len(self.rejects)

    def add(self, number: int, value: object) -> None:
        if not isinstance(value, dict):
            reason = f"record {number} is {_kind(value)}, not a JSON object"
            self.rejects.append((json_text(value), number, reason))
            return
        try:
            row = flatten(value, self.depth)
        except FlattenCollision as exc:
            reason = f"record {number}: two keys give the column {exc.name!r} once flattened"
            self.rejects.append((json_text(value), number, reason))
            return
        reserved = [name for name in row if name in INTERNAL_COLUMNS]
        if reserved:
            raise SourceError(
                self.path,
                f"record {number} has the key {reserved[0]!r}, which Conveyor uses itself; "
                "rename it in the file",
            )
        self.rows.append(row)
        self.numbers.append(number)

    def take(self, position: int) -> Batch:
        seen: dict[str, object] = {}
        for row in self.rows:
            seen.update(row)  # keeps first-seen key order, at C speed
        names = list(seen)
        columns = [self._series(name, [row.get(name) for row in self.rows]) for name in names]
        data = pl.DataFrame([*columns, pl.Series(ROW_COL, self.numbers, pl.Int64)])
        rejects = None
        if self.rejects:
            values, numbers, reasons = zip(*self.rejects, strict=True)
            rejects = pl.DataFrame(
                {VALUE_COL: list(values), ROW_COL: list(numbers), REJECT_ERROR: list(reasons)},
                schema={VALUE_COL: pl.String, ROW_COL: pl.Int64, REJECT_ERROR: pl.String},
            )
        self.rows, self.numbers, self.rejects = [], [], []
        return Batch(data=data, rejects=rejects, position=position)

    def _series(self, name: str, values: list[object]) -> pl.Series:
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if kinds == {bool}:
            return pl.Series(name, values, pl.Boolean)
        if kinds == {int}:
            ints = [v for v in values if isinstance(v, int)]
            if _INT64[0] <= min(ints) and max(ints) <= _INT64[1]:
                return pl.Series(name, values, pl.Int64)
        if name not in self.json_columns and (list in kinds or dict in kinds):
            self.json_columns.append(name)
        texts = [v if v is None or type(v) is str else _text(v) for v in values]
        return pl.Series(name, texts, pl.String)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | list | dict):
        return json_text(value)
    return str(value)


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
