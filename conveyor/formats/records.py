"""Flat records (dicts) gathered into a ``Batch``: shared by the JSON and XML readers."""

from __future__ import annotations

from abc import ABC, abstractmethod

import polars as pl

from conveyor.formats.base import Batch
from conveyor.schema import REJECT_ERROR, ROW_COL

__all__ = ["VALUE_COL", "RecordBatcher"]

VALUE_COL = "_value"  # reader rejects: the record as JSON or XML text


class RecordBatcher(ABC):
    """Collects records and reader rejects; ``take`` turns them into one typed ``Batch``."""

    def __init__(self, json_columns: list[str]) -> None:
        self.json_columns = json_columns  # shared with SourceInfo.extra; grows as columns appear
        self.rows: list[dict[str, object]] = []
        self.numbers: list[int] = []
        self.rejects: list[tuple[str, int, str]] = []

    @property
    def count(self) -> int:
        return len(self.numbers) + len(self.rejects)

    def add_row(self, number: int, row: dict[str, object]) -> None:
        self.rows.append(row)
        self.numbers.append(number)

    def reject(self, number: int, text: str, reason: str) -> None:
        self.rejects.append((text, number, reason))

    def take(self, position: int) -> Batch:
        seen: dict[str, object] = {}
        for row in self.rows:
            seen.update(row)  # keeps first-seen key order, at C speed
        columns = [self._series(name, [row.get(name) for row in self.rows]) for name in seen]
        data = pl.DataFrame([*columns, pl.Series(ROW_COL, self.numbers, pl.Int64)])
        rejects = None
        if self.rejects:
            texts, numbers, reasons = zip(*self.rejects, strict=True)
            rejects = pl.DataFrame(
                {VALUE_COL: list(texts), ROW_COL: list(numbers), REJECT_ERROR: list(reasons)},
                schema={VALUE_COL: pl.String, ROW_COL: pl.Int64, REJECT_ERROR: pl.String},
            )
        self.rows, self.numbers, self.rejects = [], [], []
        return Batch(data=data, rejects=rejects, position=position)

    @abstractmethod
    def _series(self, name: str, values: list[object]) -> pl.Series:
        """One column of the batch, typed by the format's policy."""
