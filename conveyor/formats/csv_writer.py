"""CSV export writer: the shape PostgreSQL's ``COPY ... (FORMAT csv, HEADER)`` writes.

A header line with the column names, then one line per row; ``\\n`` line endings. NULL is an
empty unquoted field and an empty string ``""``, so the two stay apart; a field is quoted only
when it holds the delimiter, a quote, CR or LF. Values are written as ``writers.value_text``
says (decimals with their exact digits, ``true``/``false``), except datetimes, written as
PostgreSQL writes them with DateStyle ISO and TimeZone UTC: ``2024-01-02 03:04:05.5+00``, the
fraction trimmed of trailing zeros and left out when zero, aware ones in UTC with ``+00``,
naive ones without an offset. So a CSV export is the same bytes whether PostgreSQL's ``COPY``
wrote it or this writer did (the COPY path renders nothing itself, which keeps it as fast as a
plain ``COPY``).

Polars' ``write_csv`` writes each batch (the header once, at open). It writes UTF-8 only: for
another encoding the batch's text is re-encoded with one incremental encoder for the whole file
(so a BOM, for ``utf-16`` or ``utf-8-sig``, comes once at the start), and a character the
encoding cannot hold is a ConfigError naming its row and column.

A one-column export writes a NULL as an empty line, as COPY does; CSV readers (Conveyor's
among them) skip empty lines, so such a row does not come back.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from conveyor.errors import ConfigError
from conveyor.formats.writers import WriteOptions, check_frame, open_file, value_text
from conveyor.schema import Column

__all__ = ["CsvWriter", "copy_datetime_text", "open_writer"]


def open_writer(
    path: Path, fmt: str, columns: Sequence[Column], options: WriteOptions
) -> CsvWriter:
    """Open a CSV export (``fmt`` is always ``"csv"``; kept for one signature across formats)."""
    return CsvWriter(path, columns, options)


class CsvWriter:
    """Writes the header at once, then each batch as it comes; ``rows`` counts data rows."""

    def __init__(self, path: Path, columns: Sequence[Column], options: WriteOptions) -> None:
        self.rows = 0
        self._path = path
        self._columns = list(columns)
        self._delimiter = _delimiter(options.delimiter)
        self._codec = _codec(options.encoding)
        self._encoder = (
            None
            if self._codec == "utf-8"
            else codecs.getincrementalencoder(self._codec)(errors="strict")
        )
        _check_encodable(self._delimiter, self._codec, "the delimiter")
        for column in self._columns:
            _check_encodable(column.name, self._codec, f"the header (column {column.name!r})")
        header = pl.DataFrame(schema={c.name: pl.String for c in self._columns})
        self._fh = open_file(path)
        self._emit(header.write_csv(separator=self._delimiter))

    def write(self, frame: pl.DataFrame) -> None:
        """Append the rows of ``frame`` (the export's columns, in order)."""
        check_frame(frame, self._columns)
        if frame.height == 0:
            return
        texts = frame.select(_text(frame, c.name) for c in self._columns)
        if self._encoder is None:
            texts.write_csv(
                self._fh, include_header=False, separator=self._delimiter, null_value=""
            )
        else:
            try:
                self._emit(self._csv(texts))
            except UnicodeEncodeError:
                raise self._unencodable(texts) from None
        self.rows += frame.height

    def close(self) -> None:
        """Flush and close the file (the header alone when no row came)."""
        if not self._fh.closed:
            if self._encoder is not None:
                self._fh.write(self._encoder.encode("", final=True))
            self._fh.close()

    def abort(self) -> None:
        """Close the file as it is; the caller deletes it."""
        if not self._fh.closed:
            self._fh.close()

    def _csv(self, texts: pl.DataFrame) -> str:
        return texts.write_csv(include_header=False, separator=self._delimiter, null_value="")

    def _emit(self, text: str) -> None:
        self._fh.write(text.encode() if self._encoder is None else self._encoder.encode(text))

    def _unencodable(self, texts: pl.DataFrame) -> ConfigError:
        """The error naming the first value the encoding cannot hold (only on that path)."""
        for index, row in enumerate(texts.iter_rows()):
            for column, value in zip(self._columns, row, strict=True):
                try:
                    (value or "").encode(self._codec)
                except UnicodeEncodeError as exc:
                    char = (value or "")[exc.start]
                    return ConfigError(
                        f"{self._path}: row {self.rows + index + 1}, column {column.name!r}: "
                        f"the character {char!r} (U+{ord(char):04X}) cannot be written in "
                        f"{self._codec}; choose an encoding that holds it, such as utf-8"
                    )
        return ConfigError(f"{self._path}: a value cannot be written in {self._codec}")


def _text(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema[name]
    if isinstance(dtype, pl.Datetime):
        return copy_datetime_text(pl.col(name), naive=dtype.time_zone is None).alias(name)
    return value_text(frame, name)


def copy_datetime_text(col: pl.Expr, *, naive: bool) -> pl.Expr:
    """PostgreSQL's text of a timestamp (DateStyle ISO, TimeZone UTC): ``2024-01-02
    03:04:05.123456+00``, trailing zeros of the fraction trimmed, no fraction when zero."""
    utc = col if naive else col.dt.convert_time_zone("UTC")
    fraction = utc.dt.to_string("%.6f").str.strip_chars_end("0").str.strip_chars_end(".")
    parts = [utc.dt.to_string("%Y-%m-%d %H:%M:%S"), fraction]
    return pl.concat_str(parts if naive else [*parts, pl.lit("+00")])


def _delimiter(delimiter: str) -> str:
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
        raise ConfigError(
            f"the CSV delimiter {delimiter!r} cannot be used: give one ASCII character other "
            "than a quote or a line break, such as ',' ';' '|' or a tab"
        )
    return delimiter


def _codec(encoding: str) -> str:
    """The codec's canonical name; unknown or non-text codecs are a ConfigError."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ConfigError(
            f"unknown text encoding {encoding!r} for the CSV export; "
            "give a codec name such as utf-8, utf-8-sig, cp1252 or latin-1"
        )
    return info.name


def _check_encodable(text: str, codec: str, what: str) -> None:
    try:
        text.encode(codec)
    except UnicodeEncodeError as exc:
        char = text[exc.start]
        raise ConfigError(
            f"{what} holds {char!r} (U+{ord(char):04X}), which {codec} cannot write; "
            "choose an encoding that holds it, such as utf-8"
        ) from None
