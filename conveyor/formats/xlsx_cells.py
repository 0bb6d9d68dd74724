"""Streaming scans of a worksheet's XML, for what calamine does not report.

calamine (through fastexcel) turns Excel error cells (``#N/A``, ``#DIV/0!`` ...) into nulls
without a trace, and does not say where a sheet's first row is; these scans read the sheet part
with lxml ``iterparse`` (elements released as they are passed, so memory stays flat). The error
scan first looks for a ``t="e"`` attribute in the raw bytes and parses nothing when there is
none, which is the common case.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from conveyor.errors import SourceError
from conveyor.formats.xlsx_header import column_letter
from conveyor.formats.xlsx_package import Package, SheetEntry

__all__ = ["ErrorCells", "error_cells", "row_columns"]

#: (1-based sheet row, 0-based sheet column) -> the error literal, e.g. "#N/A".
ErrorCells = dict[tuple[int, int], str]

_ERROR_ATTR = re.compile(rb"\st\s*=\s*[\"']e[\"']")
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)")
_CHUNK = 1 << 20
_BROKEN = (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError)


def row_columns(package: Package, entry: SheetEntry, row: int) -> set[int] | None:
    """0-based columns of the cells with a value in sheet ``row`` (None: part not found).

    Streams the sheet only up to that row.
    """
    if entry.part is None:
        return None
    found: set[int] = set()
    try:
        for at, col, _kind, _value in _cells(package.path, entry.part):
            if at > row:
                break
            if at == row:
                found.add(col)
    except _BROKEN as exc:
        raise _damaged(package, entry, exc) from exc
    return found


def error_cells(
    package: Package, entry: SheetEntry, after_row: int
) -> tuple[ErrorCells, list[str]]:
    """Error cells below ``after_row``, and the references of cells holding a picture.

    An in-cell picture (or another rich value) is stored as ``#VALUE!`` with a ``vm``
    attribute; it is no error of the data.
    """
    if entry.part is None:
        return {}, []
    errors: ErrorCells = {}
    pictures: list[str] = []
    try:
        if not _mentions_errors(package.path, entry.part):
            return {}, []
        for row, col, kind, value in _cells(package.path, entry.part):
            if kind == "e" and row > after_row:
                errors[(row, col)] = value
            elif kind == "picture" and row > after_row:
                pictures.append(f"{column_letter(col)}{row}")
    except _BROKEN as exc:
        raise _damaged(package, entry, exc) from exc
    return errors, pictures


def _damaged(package: Package, entry: SheetEntry, exc: Exception) -> SourceError:
    return SourceError(
        package.path,
        f"sheet {entry.name!r} is damaged and cannot be read ({exc}); re-save it from Excel",
    )


def _mentions_errors(path: Path, part: str) -> bool:
    tail = b""
    with zipfile.ZipFile(path) as archive, archive.open(part) as fh:
        while chunk := fh.read(_CHUNK):
            if _ERROR_ATTR.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


def _cells(path: Path, part: str) -> Iterator[tuple[int, int, str, str]]:
    """(row, column, type attribute, text) of each cell with a value, in file order."""
    row, col = 0, -1
    with zipfile.ZipFile(path) as archive, archive.open(part) as fh:
        events = etree.iterparse(
            fh,
            events=("start", "end"),
            tag=("{*}row", "{*}c"),
            resolve_entities=False,
            no_network=True,
        )
        for event, elem in events:
            if _local(elem.tag) == "row":
                if event == "start":
                    row = _int(elem.get("r"), row + 1)
                    col = -1
                else:
                    _release(elem)
                continue
            if event == "start":
                continue
            row, col = _position(elem.get("r"), row, col + 1)
            value, kind = _cell_value(elem), str(elem.get("t") or "n")
            if kind == "e" and elem.get("vm") is not None:
                kind = "picture"
            elem.clear()
            if value is not None:
                yield row, col, kind, value


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default


def _position(ref: str | None, row: int, col: int) -> tuple[int, int]:
    match = _CELL_REF.fullmatch(ref or "")
    if match is None:
        return row, col
    number = 0
    for letter in match.group(1).upper():
        number = number * 26 + ord(letter) - 64
    return int(match.group(2)), number - 1


def _cell_value(cell: etree._Element) -> str | None:
    for child in cell:
        name = _local(child.tag)
        if name == "v":
            return child.text or ""
        if name == "is":
            return "".join(str(text) for text in child.itertext())
    return None


def _release(elem: etree._Element) -> None:
    # Keep memory flat while streaming: drop the finished row and its earlier siblings.
    elem.clear()
    parent = elem.getparent()
    while parent is not None and elem.getprevious() is not None:
        del parent[0]
