"""Rows a target refuses, found with Polars expressions before anything reaches the database.

A value the table cannot hold (NULL in a NOT NULL column, text longer than VARCHAR(n), a number
out of an INTEGER column's range, a NUL character on PostgreSQL) would fail the whole batch's
statement; here it becomes a reject with its reason and the rest of the batch goes on.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from conveyor.load.base import Existing, WriteMode
from conveyor.schema import REJECT_ERROR, ROW_COL, SHEET_COL, Column, TableSchema

__all__ = ["IDX_COL", "key_found_errors", "reject_frame", "split_invalid"]

#: Arrival position of a row inside one batch (``__row`` repeats across XLSX sheets).
IDX_COL = "__conveyor_idx"
_REASON = "__conveyor_reason"

_INT_BITS: tuple[tuple[type[sa.types.TypeEngine[Any]], int], ...] = (
    (sa.SmallInteger, 16),
    (sa.BigInteger, 64),
    (sa.Integer, 32),
)


def split_invalid(
    frame: pl.DataFrame, schema: TableSchema, table: sa.Table | None, dialect: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``frame`` (with IDX_COL) into rows to write and rejects (IDX_COL, __row, __sheet,
    _error). The first failed check of a row gives its reason."""
    checks = _checks(schema, table, dialect)
    if not checks:
        return frame, reject_frame(frame.clear(), pl.lit(None, pl.String))
    # The first failing check names the reason: coalesce over "message if failed else null".
    reason = pl.coalesce(
        [pl.when(condition).then(message).otherwise(None) for condition, message in checks]
    )
    marked = frame.with_columns(reason.cast(pl.String).alias(_REASON))
    bad = marked.filter(pl.col(_REASON).is_not_null())
    good = marked.filter(pl.col(_REASON).is_null()).drop(_REASON)
    return good, reject_frame(bad, pl.col(_REASON))


def key_found_errors(
    frame: pl.DataFrame,
    schema: TableSchema,
    mode: WriteMode,
    existing: Existing = "update",
    *,
    present: bool,
) -> pl.DataFrame:
    """Rejects for rows whose key exists (insert, ``existing: error``) or is missing
    (update_only, delete) in the table."""
    verb = "already exists in" if present else "not found in"
    why = f"mode {mode}" if mode == "insert" or not present else f"existing: {existing}"
    message = pl.concat_str(
        [pl.lit("key "), _key_text(schema), pl.lit(f" {verb} {schema.name} ({why})")]
    )
    return reject_frame(frame, message)


def reject_frame(frame: pl.DataFrame, error: pl.Expr) -> pl.DataFrame:
    """The rejects layout of LoadResult, plus IDX_COL to restore arrival order."""
    sheet = pl.col(SHEET_COL) if SHEET_COL in frame.columns else pl.lit(None)
    return frame.select(
        pl.col(IDX_COL).cast(pl.Int64),
        pl.col(ROW_COL).cast(pl.Int64),
        sheet.cast(pl.String).alias(SHEET_COL),
        error.cast(pl.String).alias(REJECT_ERROR),
    )


def _checks(
    schema: TableSchema, table: sa.Table | None, dialect: str
) -> list[tuple[pl.Expr, pl.Expr]]:
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    for name in schema.key:
        checks.append((pl.col(name).is_null(), pl.lit(f"key column {name!r} is empty")))
    if schema.key:
        duplicate = ~pl.struct(list(schema.key)).is_first_distinct()
        checks.append(
            (
                duplicate,
                pl.concat_str(
                    [pl.lit("key "), _key_text(schema), pl.lit(" appears twice in this batch")]
                ),
            )
        )
    if table is None:
        return checks
    for column in schema.columns:
        existing = table.c.get(column.name)
        if existing is not None:
            checks.extend(_column_checks(column, existing, schema.name, dialect))
    return checks


def _column_checks(
    column: Column, existing: sa.Column[Any], table_name: str, dialect: str
) -> list[tuple[pl.Expr, pl.Expr]]:
    value = pl.col(column.name)
    label = repr(column.name)
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if not existing.nullable:
        checks.append(
            (value.is_null(), pl.lit(f"column {label} is empty but NOT NULL in {table_name}"))
        )
    if dialect != "postgresql":
        return checks  # SQLite stores any text length and 64-bit integers in every column
    if column.kind in ("string", "json"):
        checks.append(
            (
                value.str.contains("\x00", literal=True),
                pl.lit(f"column {label} contains a NUL character, which PostgreSQL cannot store"),
            )
        )
    length = getattr(existing.type, "length", None)
    if column.kind == "string" and isinstance(length, int):
        checks.append(
            (
                value.str.len_chars() > length,
                pl.format(
                    "column {} has {} characters; {} allows at most {}",
                    pl.lit(label),
                    value.str.len_chars(),
                    pl.lit(table_name),
                    pl.lit(length),
                ),
            )
        )
    limits = _integer_limits(existing.type)
    if column.kind == "integer" and limits is not None:
        checks.append(
            (
                (value < limits[0]) | (value > limits[1]),
                pl.format(
                    "column {} value {} is out of range for {}",
                    pl.lit(label),
                    value,
                    pl.lit(f"{existing.type} in {table_name}"),
                ),
            )
        )
    return checks


def _integer_limits(type_: sa.types.TypeEngine[Any]) -> tuple[int, int] | None:
    """Smallest and largest integer the column type holds (None: Int64 always fits)."""
    for cls, bits in _INT_BITS:
        if isinstance(type_, cls):
            return None if bits == 64 else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float) and type_.precision:
        largest = 10 ** (type_.precision - (type_.scale or 0)) - 1
        return (-largest, largest) if largest < 2**63 - 1 else None
    return None


def _key_text(schema: TableSchema) -> pl.Expr:
    """``email='x'`` or ``region='EU', code=7``: the key as a person reads it."""
    parts: list[pl.Expr] = []
    for position, name in enumerate(schema.key):
        value = pl.col(name).cast(pl.String)
        if schema.column(name).kind == "string":
            value = pl.concat_str([pl.lit("'"), value, pl.lit("'")])
        prefix = ", " if position else ""
        parts.extend([pl.lit(f"{prefix}{name}="), value])
    return pl.concat_str(parts)
