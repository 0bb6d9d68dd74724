"""CSV rejects writer: the source's own dialect, so a fixed rejects file imports as is.

Same encoding (with a BOM when the source had one, in the same byte order), same delimiter,
quote character and line ending, and ``header_row - 1`` empty lines before the header. Values
the encoding cannot hold (only possible for text added after reading, such as error messages)
are written as backslash escapes rather than failing the run.
"""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import polars as pl

from conveyor.errors import ConfigError
from conveyor.formats.base import ClosingSink, SourceInfo
from conveyor.schema import REJECT_ERROR, REJECT_ROW, ROW_COL

__all__ = ["CsvRejectSink", "open_rejects"]

_NESTED = (pl.List, pl.Array, pl.Struct)


def open_rejects(path: Path, info: SourceInfo) -> CsvRejectSink:
    """Open a rejects file beside (or anywhere for) the CSV source described by ``info``."""
    return CsvRejectSink(Path(path), info)


class CsvRejectSink(ClosingSink):
    """Writes rejected records; the header is written at once, so an unused sink is valid."""

    def __init__(self, path: Path, info: SourceInfo) -> None:
        self.path = path
        self.columns = [c for c in info.columns if c not in (REJECT_ROW, REJECT_ERROR)]
        codec, bom = _write_encoding(info)
        terminator = info.extra.get("line_terminator")
        self._terminator = terminator if terminator in ("\n", "\r", "\r\n") else "\r\n"
        try:
            self._fh = path.open("w", encoding=codec, newline="", errors="backslashreplace")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot write the rejects file: {exc.strerror}") from exc
        delimiter = info.delimiter or info.options.delimiter or ","
        quote = info.options.quote_char
        self._minimal = csv.writer(
            self._fh, delimiter=delimiter, quotechar=quote, lineterminator=self._terminator
        )
        # The csv module quotes only the line-break characters of its own line terminator: a
        # value holding the other one (a lone CR under LF endings) goes through a quote-all
        # writer, or it would read back as two lines.
        self._all = csv.writer(
            self._fh,
            delimiter=delimiter,
            quotechar=quote,
            lineterminator=self._terminator,
            quoting=csv.QUOTE_ALL,
        )
        self._unquoted_breaks = "\r\n".replace(self._terminator, "")
        if bom:
            self._fh.write("\ufeff")
        self._fh.write(self._terminator * (info.options.header_row - 1))
        self._row([*self.columns, REJECT_ROW, REJECT_ERROR])

    def write(self, frame: pl.DataFrame) -> None:
        """Append the records of ``frame`` (source columns, ``__row``, ``_error``)."""
        if frame.height == 0:
            return
        empty = [""] * frame.height
        columns = [_text(frame[c]) if c in frame.columns else empty for c in self.columns]
        row_source = ROW_COL if ROW_COL in frame.columns else REJECT_ROW
        columns.append(_text(frame[row_source]) if row_source in frame.columns else empty)
        columns.append(_text(frame[REJECT_ERROR]) if REJECT_ERROR in frame.columns else empty)
        for record in zip(*columns, strict=True):
            self._row(list(record))

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def _row(self, values: list[str]) -> None:
        breaks = self._unquoted_breaks
        if breaks and any(ch in v for v in values for ch in breaks):
            self._all.writerow(values)
        else:
            self._minimal.writerow(values)


def _write_encoding(info: SourceInfo) -> tuple[str, bool]:
    """(codec to encode with, write a BOM first) for the source's encoding."""
    name = info.encoding or info.options.encoding or "utf-8"
    canonical = codecs.lookup(name).name
    bom = info.extra.get("bom") is True
    if canonical == "utf-8-sig":
        return "utf-8", True
    if canonical in ("utf-16", "utf-32"):
        order = info.extra.get("byte_order")
        if order in ("little", "big"):
            return f"{canonical}-{'le' if order == 'little' else 'be'}", True
        return canonical, False  # Python's codec writes a BOM in the machine's byte order
    return name, bom


def _text(series: pl.Series) -> list[str]:
    """Any column as text, nulls as empty strings."""
    if series.dtype == pl.String:
        values: list[str | None] = series.to_list()
    elif isinstance(series.dtype, _NESTED):
        values = [None if v is None else json.dumps(v, default=str) for v in series.to_list()]
    else:
        try:
            values = series.cast(pl.String).to_list()
        except pl.exceptions.PolarsError:
            values = [None if v is None else str(v) for v in series.to_list()]
    return ["" if v is None else v for v in values]
