"""XLSX rejects writer: the source's sheets and header row, so the fixed file imports as is.

xlsxwriter in ``constant_memory`` mode: each worksheet flushes a row to its own temporary file
as soon as a later row of that worksheet is started, so rows must reach each sheet in row
order. They do: a sink only ever appends below the last row it wrote to a sheet, and
xlsxwriter keeps one row buffer per worksheet, so records of several sheets may arrive
interleaved. Memory stays at one row per sheet whatever the number of rejects.

Layout: one worksheet per sheet read (``SourceInfo.sheets``, same names, same order; when the
source sheet was chosen by 0-based index, empty sheets named after the source's earlier sheets
come first so the same index finds it). The header sits at ``options.header_row`` (rows above
empty), with the sheet's source columns, then ``_row`` and ``_error``. Values are written typed:
numbers, booleans, dates and datetimes (with a date format), durations as ``[h]:mm:ss``; text
always as text (never turned into a formula or a link).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException

from conveyor.errors import ConfigError
from conveyor.formats.base import SourceInfo
from conveyor.schema import REJECT_ERROR, REJECT_ROW, ROW_COL, SHEET_COL

__all__ = ["XlsxRejectSink", "open_rejects"]

_MAX_TEXT = 32_767  # Excel's limit for one cell
_EXACT_INT = 2**53  # larger integers lose digits as Excel numbers: written as text
_FIRST_DATE = dt.date(1900, 1, 1)  # Excel cannot show earlier dates: written as ISO text
_FORMATS = {
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "time": "hh:mm:ss",
    "duration": "[h]:mm:ss",
}


def open_rejects(path: Path, info: SourceInfo) -> XlsxRejectSink:
    """Open an XLSX rejects file laid out like the source described by ``info``."""
    return XlsxRejectSink(Path(path), info)


class XlsxRejectSink:
    """Writes rejected records to the sheet named by their ``__sheet``."""

    def __init__(self, path: Path, info: SourceInfo) -> None:
        self._path = path
        self._info = info
        self._header_row = info.options.header_row
        self._columns = _sheet_columns(info)
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self._formats = {
            key: self._book.add_format({"num_format": f}) for key, f in _FORMATS.items()
        }
        self._sheets: dict[str, tuple[Any, list[str]]] = {}
        self._next_row: dict[str, int] = {}
        self._default = info.sheets[0] if info.sheets else "Sheet1"
        for name in _placeholders(info):
            self._book.add_worksheet(name)
        for name in info.sheets or [self._default]:
            self._sheet(name)

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        if SHEET_COL not in frame.columns:
            self._write_rows(self._default, frame)
            return
        names = frame.get_column(SHEET_COL).fill_null(self._default)
        for name, part in frame.with_columns(names.alias(SHEET_COL)).group_by(
            SHEET_COL, maintain_order=True
        ):
            self._write_rows(str(name[0]), part)

    def close(self) -> None:
        try:
            self._book.close()
        except (XlsxWriterException, OSError) as exc:
            raise ConfigError(
                f"{self._path}: the rejects file cannot be written ({exc}); "
                "check that its folder exists and is writable"
            ) from exc

    def _sheet(self, name: str) -> tuple[Any, list[str]]:
        if name not in self._sheets:
            source = self._columns.get(name, self._info.columns)
            columns = [c for c in source if c not in (REJECT_ROW, REJECT_ERROR)]
            columns += [REJECT_ROW, REJECT_ERROR]
            sheet = self._book.add_worksheet(name)
            for col, title in enumerate(columns):
                sheet.write_string(self._header_row - 1, col, title)
            self._sheets[name] = (sheet, columns)
            self._next_row[name] = self._header_row
        return self._sheets[name]

    def _write_rows(self, name: str, frame: pl.DataFrame) -> None:
        sheet, columns = self._sheet(name)
        row_source = ROW_COL if ROW_COL in frame.columns else REJECT_ROW
        sources = [row_source if c == REJECT_ROW else c for c in columns]
        picked = frame.select(pl.col(s) if s in frame.columns else pl.lit(None) for s in sources)
        row = self._next_row[name]
        for values in picked.iter_rows():
            notes = [
                f"column {columns[i]!r} was cut to {_MAX_TEXT} characters (Excel's limit)"
                for i, v in enumerate(values)
                if isinstance(v, str) and len(v) > _MAX_TEXT
            ]
            cells = list(values)
            if notes:
                cells[-1] = "; ".join([str(cells[-1] or ""), *notes]).lstrip("; ")
            for col, value in enumerate(cells):
                self._cell(sheet, row, col, value)
            row += 1
        self._next_row[name] = row

    def _cell(self, sheet: Any, row: int, col: int, value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float | Decimal):
            self._number(sheet, row, col, value)
        elif isinstance(value, dt.datetime):
            self._datetime(sheet, row, col, value)
        elif isinstance(value, dt.date):
            if value < _FIRST_DATE:
                sheet.write_string(row, col, value.isoformat())
            else:
                sheet.write_datetime(row, col, value, self._formats["date"])
        elif isinstance(value, dt.time):
            sheet.write_datetime(row, col, value.replace(tzinfo=None), self._formats["time"])
        elif isinstance(value, dt.timedelta):
            sheet.write_datetime(row, col, value, self._formats["duration"])
        elif isinstance(value, str):
            sheet.write_string(row, col, value[:_MAX_TEXT])
        else:
            sheet.write_string(row, col, json.dumps(value, default=str)[:_MAX_TEXT])

    def _number(self, sheet: Any, row: int, col: int, value: float | Decimal) -> None:
        exact = (
            math.isfinite(value)
            if isinstance(value, float)
            else abs(value) < _EXACT_INT and (not isinstance(value, Decimal) or _short(value))
        )
        if exact:
            sheet.write_number(row, col, float(value) if isinstance(value, Decimal) else value)
        else:
            sheet.write_string(row, col, str(value))

    def _datetime(self, sheet: Any, row: int, col: int, value: dt.datetime) -> None:
        if value.tzinfo is not None:  # Excel has no time zones: written as UTC
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        if value.date() < _FIRST_DATE:
            sheet.write_string(row, col, value.isoformat(sep=" "))
        else:
            sheet.write_datetime(row, col, value, self._formats["datetime"])


def _short(value: Decimal) -> bool:
    return value.is_finite() and len(value.as_tuple().digits) <= 15


def _sheet_columns(info: SourceInfo) -> dict[str, list[str]]:
    raw = info.extra.get("sheet_columns")
    if not isinstance(raw, dict):
        return {}
    return {str(k): [str(c) for c in v] for k, v in raw.items() if isinstance(v, list)}


def _placeholders(info: SourceInfo) -> list[str]:
    """Empty sheets to put first so a 0-based sheet index still finds the read sheet."""
    index = info.options.sheet
    names = info.extra.get("workbook_sheets")
    if not isinstance(index, int) or not isinstance(names, list) or len(names) <= index:
        return []
    return [str(n) for n in names[:index] if n not in info.sheets]
