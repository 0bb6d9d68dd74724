"""Load one worksheet through fastexcel (calamine) and cut it into typed batches.

Typing: fastexcel is asked to type every column from all its rows (``schema_sample_rows=None``)
with ``dtype_coercion="strict"``, so a column of several cell types raises instead of being
coerced silently (in "coerce" mode a boolean among numbers would become 0/1); such a column is
then loaded as text (numbers as "3", "1.5"; booleans as "true"; dates as "2021-01-01" or
"2021-01-01 10:10:10"). Whole-number float columns become Int64 and datetime columns whose
values all fall on midnight become Date; both are decided on the whole sheet, so every batch of
a sheet has the same dtypes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import fastexcel
import polars as pl

from conveyor.errors import SourceError
from conveyor.formats.base import Batch
from conveyor.formats.xlsx_cells import ErrorCells, error_cells, row_columns
from conveyor.formats.xlsx_header import column_letter, name_columns
from conveyor.formats.xlsx_package import Package, SheetEntry
from conveyor.schema import REJECT_ERROR, ROW_COL, SHEET_COL

# fastexcel logs "Could not determine dtype for column N, falling back to string" at WARNING
# for every mixed column; this module settles column types itself and reports what matters in
# SourceInfo.warnings, so those lines would only be noise on the user's terminal.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

__all__ = ["LoadedSheet", "load_sheet", "sheet_batches"]

_COLUMN_IN_ERROR = re.compile(r"could not determine dtype for column (.+?)\s*$")
_TYPES_IN_ERROR = re.compile(r"column contains \{([^}]*)\}")
_NUMERIC = {"Int", "Float"}
_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"
_INT64_LIMIT = 2.0**63


class _Placement(NamedTuple):
    header_row: int | None  # fastexcel's 0-based header row
    skip_rows: int | None


@dataclass
class LoadedSheet:
    """A sheet held in memory (calamine reads whole sheets) with what the batches need."""

    name: str
    header_row: int
    frame: pl.DataFrame  # the kept columns, already renamed; dtypes as fastexcel gave them
    columns: list[str]
    casts: list[pl.Expr]  # applied batch by batch
    errors: dict[int, list[tuple[str, str]]]  # sheet row -> [(column, error literal)]
    warnings: list[str] = field(default_factory=list)


def load_sheet(
    reader: fastexcel.ExcelReader, package: Package, entry: SheetEntry, header_row: int
) -> LoadedSheet:
    """Read ``entry`` whole, name its columns and find its error cells."""
    header_cells = row_columns(package, entry, header_row)
    loaded = _load_typed(reader, package, entry.name, _placement(header_row, header_cells))
    if loaded is None:
        return LoadedSheet(entry.name, header_row, pl.DataFrame(), [], [], {})
    sheet, mixed_dates, warnings = loaded
    infos = sheet.selected_columns
    raw = _raw_header(reader, entry.name, header_row, infos, header_cells)
    frame = sheet.to_polars()
    del sheet  # frees calamine's copy of the cells
    errors, pictures = error_cells(package, entry, after_row=header_row)
    if pictures:
        warnings.append(
            f"Sheet {entry.name!r}: {len(pictures)} cell(s) hold a picture, not a value "
            f"(first: {pictures[0]}); they are read as empty."
        )
    error_columns = {col for _row, col in errors}
    keep = [
        (info, text)
        for info, text in zip(infos, raw, strict=True)
        if text.strip()
        or info.absolute_index in error_columns
        or frame.get_column(info.name).null_count() < frame.height
    ]
    names, renamed = name_columns(entry.name, [(i.absolute_index, text) for i, text in keep])
    frame = frame.select(pl.col(i.name).alias(n) for (i, _t), n in zip(keep, names, strict=True))
    by_index = {i.absolute_index: n for (i, _t), n in zip(keep, names, strict=True)}
    mixed = {n for (i, _t), n in zip(keep, names, strict=True) if i.name in mixed_dates}
    shift = package.date_shift_days
    if shift and mixed:
        warnings.append(
            f"Sheet {entry.name!r}: the dates in column(s) {sorted(mixed)} are read as text in "
            f"the wrong date system (calamine misreads this workbook's 1904 flag)."
        )
    return LoadedSheet(
        name=entry.name,
        header_row=header_row,
        frame=frame,
        columns=names,
        casts=[_cast(frame.get_column(n), n in mixed, shift) for n in names],
        errors=_errors_by_row(errors, by_index),
        warnings=warnings + renamed,
    )


def sheet_batches(
    sheet: LoadedSheet, batch_size: int, progress: tuple[int, int]
) -> Iterator[Batch]:
    """Batches of at most ``batch_size`` rows; ``progress`` = (bytes before, bytes of sheet)."""
    done, weight = progress
    height = sheet.frame.height
    first = sheet.header_row + 1
    for start in range(0, height, batch_size):
        chunk = sheet.frame.slice(start, batch_size)
        rows = pl.int_range(first + start, first + start + chunk.height, dtype=pl.Int64)
        typed = chunk.select(
            *sheet.casts, rows.alias(ROW_COL), pl.lit(sheet.name, pl.String).alias(SHEET_COL)
        )
        data, rejects = _split(typed, sheet)
        position = done + weight * min(start + batch_size, height) // max(height, 1)
        if data.height or rejects is not None:
            yield Batch(data=data, rejects=rejects, position=position)


def _placement(header_row: int, header_cells: set[int] | None) -> _Placement:
    # fastexcel's header_row is an absolute 0-based row, except 0, which means "the first
    # non-empty row"; when sheet row 1 is empty the header is empty and data starts at row 2.
    if header_row > 1 or header_cells is None or header_cells:
        return _Placement(header_row - 1, None)
    return _Placement(None, 1)


def _load_typed(
    reader: fastexcel.ExcelReader, package: Package, name: str, placement: _Placement
) -> tuple[fastexcel.ExcelSheet, set[str], list[str]] | None:
    """Load with strict typing, turning each column of several cell types into text.

    None when the sheet has no rows below the header (fastexcel refuses to skip past its end).
    """
    dtypes: dict[str | int, fastexcel.DType] = {}
    mixed_dates: set[str] = set()
    while True:
        try:
            sheet = reader.load_sheet(
                name,
                schema_sample_rows=None,
                dtype_coercion="strict",
                dtypes=dtypes or None,
                header_row=placement.header_row,
                skip_rows=placement.skip_rows,
            )
            return sheet, mixed_dates, []
        except (
            fastexcel.UnsupportedColumnTypeCombinationError,
            fastexcel.CalamineCellError,
        ) as exc:
            column, kinds = _failed_column(str(exc))
            if column is None or column in dtypes:
                break
            dtypes[column] = "float" if kinds and kinds <= _NUMERIC else "string"
            if "DateTime" in kinds:
                mixed_dates.add(column)
        except fastexcel.InvalidParametersError as exc:
            if "Too many rows skipped" in str(exc):
                return None
            raise SourceError(package.path, _sheet_problem(name, exc)) from exc
        except fastexcel.FastExcelError as exc:
            raise SourceError(package.path, _sheet_problem(name, exc)) from exc
    try:
        sheet = reader.load_sheet(
            name,
            schema_sample_rows=None,
            dtypes="string",
            header_row=placement.header_row,
            skip_rows=placement.skip_rows,
        )
    except fastexcel.FastExcelError as exc:
        raise SourceError(package.path, _sheet_problem(name, exc)) from exc
    warning = (
        f"Sheet {name!r}: the cell types could not be sorted out; every value is read as text."
    )
    return sheet, set(), [warning]


def _failed_column(message: str) -> tuple[str | None, set[str]]:
    column = _COLUMN_IN_ERROR.search(message)
    kinds = _TYPES_IN_ERROR.search(message)
    found = {k.strip() for k in kinds.group(1).split(",")} if kinds else set()
    return (column.group(1) if column else None), found


def _sheet_problem(name: str, exc: Exception) -> str:
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"sheet {name!r} cannot be read ({first_line}); re-save the file from Excel"


def _raw_header(
    reader: fastexcel.ExcelReader,
    name: str,
    header_row: int,
    infos: list[fastexcel.ColumnInfo],
    header_cells: set[int] | None,
) -> list[str]:
    """The header cells as written.

    fastexcel suffixes repeated names ("a", "a_1") and generates names for header cells that
    are not text (a date, a duration); either case reads the header row again, as text.
    """
    raw = ["" if i.column_name_from == "generated" else i.name for i in infos]
    cells = header_cells or set()
    seen: set[str] = set()
    ambiguous = any(i.column_name_from == "generated" and i.absolute_index in cells for i in infos)
    for text in raw:
        base = re.sub(r"_\d+$", "", text)
        ambiguous = ambiguous or (base != text and base in seen)
        seen.add(text)
    if not ambiguous:
        return raw
    header = reader.load_sheet(
        name, header_row=None, skip_rows=header_row - 1, n_rows=1, dtypes="string"
    )
    row = header.to_polars()
    values = row.row(0) if row.height else (None,) * row.width
    by_index = {
        i.absolute_index: value for i, value in zip(header.selected_columns, values, strict=True)
    }
    return [re.sub(_MIDNIGHT, r"\1", str(by_index.get(i.absolute_index) or "")) for i in infos]


def _cast(column: pl.Series, mixed_dates: bool, shift_days: int) -> pl.Expr:
    expr = pl.col(column.name)
    dtype = column.dtype
    if shift_days and isinstance(dtype, pl.Datetime):
        expr = expr + pl.duration(days=shift_days)
    if dtype == pl.Null:
        return expr.cast(pl.String)
    if dtype == pl.Float64:
        values = column.drop_nulls()
        whole = (values.floor() == values) & (values.abs() < _INT64_LIMIT)
        return expr.cast(pl.Int64) if values.len() and whole.all() else expr
    if isinstance(dtype, pl.Datetime):
        values = column.drop_nulls()
        return (
            expr.cast(pl.Date)
            if values.len() and (values.dt.truncate("1d") == values).all()
            else expr
        )
    if dtype == pl.String and mixed_dates:
        return expr.str.replace(_MIDNIGHT, "${1}")
    return expr


def _errors_by_row(
    errors: ErrorCells, by_index: dict[int, str]
) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for (row, col), literal in sorted(errors.items()):
        column = by_index.get(col, f"column_{col + 1} ({column_letter(col)})")
        out.setdefault(row, []).append((column, literal))
    return out


def _split(typed: pl.DataFrame, sheet: LoadedSheet) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Drop entirely empty rows; move rows holding Excel error cells to the rejects."""
    rows = typed.get_column(ROW_COL)
    error_rows = [r for r in sheet.errors if rows.len() and rows[0] <= r <= rows[-1]]
    schema = typed.schema  # built per access: once here keeps wide sheets linear
    has_value = [
        pl.col(c).is_not_null() & (pl.col(c) != "")
        if schema[c] == pl.String
        else pl.col(c).is_not_null()
        for c in sheet.columns
    ]
    is_error = pl.col(ROW_COL).is_in(error_rows)
    keep = (pl.any_horizontal(has_value) if has_value else pl.lit(False)) & ~is_error
    data = typed.filter(keep)
    if not error_rows:
        return data, None
    reasons = [
        "; ".join(
            f"Excel error {literal} in column {column!r}" for column, literal in sheet.errors[r]
        )
        for r in error_rows
    ]
    rejects = typed.filter(is_error).with_columns(
        pl.col(ROW_COL)
        .replace_strict(error_rows, reasons, default=None, return_dtype=pl.String)
        .alias(REJECT_ERROR)
    )
    return data, rejects
