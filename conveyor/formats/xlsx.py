"""XLSX reader (fastexcel/calamine) and rejects writer (xlsxwriter, in ``xlsx_rejects``).

Reading
    ``read`` opens the package (``xlsx_package``: clear errors for files that are not
    workbooks, chart sheets, the date system), picks the sheets (``options.sheet``: a name, a
    0-based index, ``"*"`` for every worksheet in workbook order, or None for the first
    worksheet) and loads each through fastexcel (``xlsx_sheet``). Values stay typed (Int64,
    Float64, Boolean, Date, Datetime, Duration, String; a column of mixed cell types is String).
    Formulas give their cached value; the 1900 and 1904 date systems are both honoured.
    Entirely empty rows (no cell, or only empty strings) are skipped; a row holding an Excel
    error cell (``#N/A``, ``#DIV/0!`` ...) goes to ``Batch.rejects`` instead of the data, with the
    data's dtypes, ``__row``, ``__sheet`` and ``_error`` naming each column and literal
    (``xlsx_cells`` finds them). Merged regions keep their value in the top-left cell only.
    ``t="d"`` cells (ISO dates stored as text) are read as that text. An in-cell picture reads
    as empty, with a warning.

openpyxl is not used: what calamine cannot tell (error cells, chart sheets, the first row's
position, a misread 1904 flag) comes from streaming the package XML with lxml, because openpyxl
``read_only`` loads every shared string up front and parses cells about ten times slower.

Memory bound
    calamine parses a whole sheet at once (Excel caps a sheet at 1,048,576 rows x 16,384
    columns): the peak is calamine's cells for one sheet plus its Arrow/Polars columns, then one
    Polars copy of the sheet (the cells are freed) plus one batch of ``batch_size`` rows being
    typed. Batches are zero-copy slices of that frame, so no further copies are kept. Only one
    sheet is held at a time: with ``sheet="*"`` each other sheet is parsed once up front to
    learn its columns (``SourceInfo.columns`` is their union) and parsed again when its turn
    comes, trading time for memory. Error cells are found by streaming the sheet XML (constant
    memory), and only when a byte scan sees one.

``Batch.position`` is the file size times the share of sheet XML bytes done (rows done within a
sheet). ``SourceInfo.extra`` holds ``sheet_columns`` (sheet -> its columns) and
``workbook_sheets`` (every sheet name, in order) for the rejects writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fastexcel

from conveyor.errors import SourceError
from conveyor.formats.base import Batch, ReadResult, SourceInfo, SourceOptions
from conveyor.formats.xlsx_package import Package, SheetEntry, open_package
from conveyor.formats.xlsx_rejects import XlsxRejectSink, open_rejects
from conveyor.formats.xlsx_sheet import LoadedSheet, load_sheet, sheet_batches

__all__ = ["XlsxRejectSink", "open_rejects", "read"]

_NO_CELLS = {"chartsheet": "a chart sheet", "dialogsheet": "a dialog sheet"}


def read(path: Path, options: SourceOptions) -> ReadResult:
    """Describe the workbook at ``path`` and return a lazy iterator of its batches."""
    path = Path(path)
    package = open_package(path)
    selected, warnings = _select(package, options.sheet)
    reader = _open_reader(path)
    first, sheet_columns = _describe(reader, package, selected, options.header_row, warnings)
    columns = list(dict.fromkeys(c for names in sheet_columns.values() for c in names))
    info = SourceInfo(
        path=path,
        format="xlsx",
        columns=columns,
        options=options.model_copy(
            update={"format": "xlsx", "sheet": selected[0].name}
            if options.sheet is None
            else {"format": "xlsx"}
        ),
        size=path.stat().st_size,
        sheets=[entry.name for entry in selected],
        warnings=warnings,
        extra={
            "sheet_columns": sheet_columns,
            "workbook_sheets": [entry.name for entry in package.sheets],
        },
    )
    batches = _batches(reader, package, selected, first, options, info.size)
    return ReadResult(info=info, batches=batches)


def _select(package: Package, wanted: str | int | None) -> tuple[list[SheetEntry], list[str]]:
    """The sheets to read and warnings about the ones skipped."""
    sheets = package.sheets
    readable = [entry for entry in sheets if entry.kind not in _NO_CELLS]
    names = ", ".join(repr(entry.name) for entry in sheets) or "none"
    if wanted is None or wanted == "*":
        if not readable:
            raise SourceError(package.path, f"has no worksheet to read (sheets: {names})")
        if wanted is None:
            return readable[:1], []
        skipped = [entry for entry in sheets if entry.kind in _NO_CELLS]
        return readable, [
            f"Sheet {entry.name!r} is {_NO_CELLS[entry.kind]} (no cells); it is skipped."
            for entry in skipped
        ]
    entry = _find(sheets, wanted)
    if entry is None:
        what = f"sheet number {wanted} (0-based)" if isinstance(wanted, int) else f"{wanted!r}"
        raise SourceError(
            package.path, f"has no sheet {what}; its sheets are: {names}. Fix the sheet option."
        )
    if entry.kind in _NO_CELLS:
        raise SourceError(
            package.path,
            f"sheet {entry.name!r} is {_NO_CELLS[entry.kind]} and holds no cells; "
            f"choose a worksheet among: {names}",
        )
    return [entry], []


def _find(sheets: list[SheetEntry], wanted: str | int) -> SheetEntry | None:
    if isinstance(wanted, int):
        return sheets[wanted] if 0 <= wanted < len(sheets) else None
    exact = [entry for entry in sheets if entry.name == wanted]
    # Excel sheet names are unique regardless of case, so a case-blind match is unambiguous.
    loose = [entry for entry in sheets if entry.name.casefold() == wanted.casefold()]
    matches = exact or loose
    return matches[0] if matches else None


def _open_reader(path: Path) -> fastexcel.ExcelReader:
    try:
        return fastexcel.read_excel(path)
    except fastexcel.FastExcelError as exc:
        first_line = str(exc).splitlines()[0]
        raise SourceError(
            path, f"cannot be read as an Excel workbook ({first_line}); re-save it from Excel"
        ) from exc


def _describe(
    reader: fastexcel.ExcelReader,
    package: Package,
    selected: list[SheetEntry],
    header_row: int,
    warnings: list[str],
) -> tuple[LoadedSheet, dict[str, list[str]]]:
    """Learn every selected sheet's columns; the first sheet, loaded last, is kept for reading.

    One sheet is held at a time: the others are parsed here and again when read.
    """
    learnt: dict[str, tuple[list[str], list[str]]] = {}
    for entry in selected[1:]:
        _learn(load_sheet(reader, package, entry, header_row), learnt)
    first = load_sheet(reader, package, selected[0], header_row)
    _learn(first, learnt)
    sheet_columns = {}
    for entry in selected:
        sheet_columns[entry.name], sheet_warnings = learnt[entry.name]
        warnings.extend(sheet_warnings)
    return first, sheet_columns


def _learn(sheet: LoadedSheet, learnt: dict[str, tuple[list[str], list[str]]]) -> None:
    warnings = list(sheet.warnings)
    if not sheet.columns:
        warnings.append(f"Sheet {sheet.name!r} has no data at or below row {sheet.header_row}.")
    learnt[sheet.name] = (sheet.columns, warnings)


def _batches(
    reader: fastexcel.ExcelReader,
    package: Package,
    selected: list[SheetEntry],
    first: LoadedSheet,
    options: SourceOptions,
    size: int,
) -> Iterator[Batch]:
    weights = [max(entry.size, 1) for entry in selected]
    total = sum(weights)
    done = 0
    pending: LoadedSheet | None = first
    for entry, weight in zip(selected, weights, strict=True):
        sheet = pending or load_sheet(reader, package, entry, options.header_row)
        pending = None
        progress = (size * done // total, size * weight // total)
        yield from sheet_batches(sheet, options.batch_size, progress)
        del sheet
        done += weight
