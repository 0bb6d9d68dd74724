"""Records of a JSON file gathered into typed batches (the JSON reader's ``Batch`` builder)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from conveyor.errors import SourceError
from conveyor.formats.nested import FlattenCollision, flatten, json_text
from conveyor.formats.records import VALUE_COL, RecordBatcher
from conveyor.schema import INTERNAL_COLUMNS

__all__ = ["VALUE_COL", "BatchBuilder"]


_INT64 = (-(2**63), 2**63 - 1)


class BatchBuilder(RecordBatcher):
    """Gathers records into a ``Batch``: objects flattened, other values rejected, columns typed."""

    def __init__(self, path: Path, depth: int | None, json_columns: list[str]) -> None:
        super().__init__(json_columns)
        self.path = path
        self.depth = depth

    def add(self, number: int, value: object) -> None:
        if not isinstance(value, dict):
            reason = f"record {number} is {_kind(value)}, not a JSON object"
            self.reject(number, json_text(value), reason)
            return
        try:
            row = flatten(value, self.depth)
        except FlattenCollision as exc:
            reason = f"record {number}: two keys give the column {exc.name!r} once flattened"
            self.reject(number, json_text(value), reason)
            return
        reserved = [name for name in row if name in INTERNAL_COLUMNS]
        if reserved:
            raise SourceError(
                self.path,
                f"record {number} has the key {reserved[0]!r}, which Conveyor uses itself; "
                "rename it in the file",
            )
        self.add_row(number, row)

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
