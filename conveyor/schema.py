"""The shape of a target table, shared by the mapping (which produces it) and the loaders.

A mapped batch is a Polars DataFrame whose columns follow these kinds:

=========  ==============================  ==========================
kind       Polars dtype in a mapped batch  stored as
=========  ==============================  ==========================
string     pl.String                       TEXT / VARCHAR(max_length)
integer    pl.Int64                        BIGINT
decimal    pl.Decimal(precision, scale)    NUMERIC(p, s)
float      pl.Float64                      DOUBLE PRECISION / REAL
boolean    pl.Boolean                      BOOLEAN
date       pl.Date                         DATE
datetime   pl.Datetime("us", "UTC")        TIMESTAMP WITH TIME ZONE (UTC)
json       pl.String (JSON text)           JSONB (PostgreSQL) / TEXT
=========  ==============================  ==========================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

FieldKind = Literal["string", "integer", "decimal", "float", "boolean", "date", "datetime", "json"]

#: Internal columns carried beside the data; never written to a target.
ROW_COL = "__row"  # the record's row number in the source file (1-based, header included)
SHEET_COL = "__sheet"  # XLSX sheet name (null for other formats)
SEQ_COL = "__seq"  # global arrival order across batches and sheets
INTERNAL_COLUMNS = (ROW_COL, SHEET_COL, SEQ_COL)

#: Columns added to a rejects file (in the source's own format).
REJECT_ROW = "_row"
REJECT_ERROR = "_error"


@dataclass(frozen=True)
class Column:
    name: str
    kind: FieldKind
    precision: int | None = None  # decimal only
    scale: int | None = None  # decimal only
    max_length: int | None = None  # string only, from a max_length check
    nullable: bool = True

    def polars_dtype(self) -> pl.DataType:
        if self.kind == "decimal":
            return pl.Decimal(self.precision or 38, self.scale or 0)
        return _DTYPES[self.kind]


_DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int64(),
    "float": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us", "UTC"),
    "json": pl.String(),
}


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)
