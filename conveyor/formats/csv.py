"""Streaming CSV reader (and the rejects writer, from ``csv_rejects``).

The file is decoded by ``io.TextIOWrapper`` (``newline=""``, so LF, CRLF and CR all end a line
and line endings inside quoted fields are kept) and parsed by the C ``csv`` module; records are
gathered into batches of at most ``batch_size`` rows and turned column-wise into Polars frames.

Decisions:
- Every value is text (``pl.String``); an empty field is ``""`` (the parser cannot tell an
  empty quoted field from an unquoted one). Header names are kept as written (no trimming).
- ``__row`` is the physical line where a record starts, counting CR, LF and CRLF as one line
  ending each, so it matches what an editor or a spreadsheet shows.
- The header is the first non-blank record at or after line ``header_row``.
- A header-only file yields zero batches. ``Batch.rejects`` is ``None`` when a batch has none.
- Blank lines (and, under a header of several columns, a line holding one empty field) are
  skipped: neither records nor rejects.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from conveyor.errors import ConfigError, SourceError
from conveyor.formats.base import Batch, ReadResult, SourceInfo, SourceOptions
from conveyor.formats.csv_decode import decode_error, garbling_warning
from conveyor.formats.csv_detect import (
    SAMPLE_BYTES,
    Encoding,
    check_text,
    codec_family,
    detect_encoding,
    detect_line_terminator,
    name_columns,
    sample_text,
    sniff_delimiter,
)
from conveyor.formats.csv_rejects import CsvRejectSink, open_rejects
from conveyor.schema import REJECT_ERROR, ROW_COL

__all__ = ["CsvRejectSink", "open_rejects", "read"]

_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}

#: Longest field, in characters. Python's default (131,072) refused real data (a long note, an
#: embedded document); a longer field than this is almost surely a quote never closed, and
#: the csv module cannot resume after one, so it fails the file with the line it starts on.
#: The limit is process-wide (``csv.field_size_limit``); it is only ever raised here.
MAX_FIELD_CHARS = 256 << 20
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
#: A line after the file's last: a lone surrogate, which decoded text never holds.
END_MARK = "\udfff"


@dataclass(frozen=True)
class _Plan:
    """Everything needed to (re)open the file at its first record."""

    path: Path
    encoding: Encoding
    delimiter: str
    quote_char: str
    header_row: int


def read(path: Path, options: SourceOptions) -> ReadResult:
    """Describe the CSV file at ``path`` and return a lazy iterator of its batches."""
    path = Path(path)
    plan, extra, notes = _plan(path, options)
    raw_header = _header(plan)
    columns, warnings = name_columns(raw_header)
    warnings.extend(notes)
    resolved = options.model_copy(
        update={"format": "csv", "encoding": plan.encoding.name, "delimiter": plan.delimiter}
    )
    info = SourceInfo(
        path=path,
        format="csv",
        columns=columns,
        options=resolved,
        size=path.stat().st_size,
        encoding=plan.encoding.name,
        delimiter=plan.delimiter,
        warnings=warnings,
        extra=extra,
    )
    return ReadResult(info=info, batches=_batches(plan, columns, options.batch_size))


def _plan(path: Path, options: SourceOptions) -> tuple[_Plan, dict[str, object], list[str]]:
    quote_char = _one_char(path, "quote_char", options.quote_char)
    try:
        with path.open("rb") as fh:
            head = fh.read(SAMPLE_BYTES)
            complete = fh.read(1) == b""
    except OSError as exc:
        raise SourceError(path, f"cannot open: {exc.strerror}") from exc
    if not head:
        raise SourceError(path, "is empty: no header row")
    encoding = detect_encoding(path, head, complete, options.encoding)
    check_text(path, head, encoding)
    text = sample_text(head, complete, encoding, options.header_row - 1)
    if options.delimiter is not None:
        declared = _DELIMITER_NAMES.get(options.delimiter.lower(), options.delimiter)
        delimiter = _one_char(path, "delimiter", declared)
    else:
        delimiter = sniff_delimiter(text, quote_char)
    if delimiter == quote_char:
        raise ConfigError(f"{path}: delimiter and quote_char are both {delimiter!r}")
    extra: dict[str, object] = {
        "line_terminator": detect_line_terminator(text),
        "bom": encoding.bom,
        "byte_order": encoding.byte_order,
    }
    garbled = garbling_warning(head, codec_family(encoding.codec), encoding.name)
    plan = _Plan(path, encoding, delimiter, quote_char, options.header_row)
    return plan, extra, [garbled] if garbled else []


def _one_char(path: Path, option: str, value: str) -> str:
    if len(value) != 1 or value in "\r\n":
        hint = ' (for a tab write "\\t" or tab)' if option == "delimiter" else ""
        raise ConfigError(
            f"{path}: {option} must be a single character other than a line break, "
            f"got {value!r}{hint}"
        )
    return value


def _header(plan: _Plan) -> list[str]:
    with _records(plan) as (_, records):
        for _, record in records:
            if record:
                return record
    if plan.header_row == 1:
        raise SourceError(plan.path, "is empty: no header row")
    raise SourceError(
        plan.path, f"is empty from line {plan.header_row} (header_row) on: no header row"
    )


def _batches(plan: _Plan, columns: list[str], batch_size: int) -> Iterator[Batch]:
    """The records in batches: through ``csv_fast`` (same records, faster) where it applies."""
    from conveyor.formats import csv_fast  # here, not on top: csv_fast builds on this module

    if csv_fast.applies(plan):
        yield from csv_fast.batches(plan, columns, batch_size)
        return
    width = len(columns)
    with _records(plan) as (raw, records):
        header_seen = False
        good: list[list[str]] = []
        good_rows: list[int] = []
        bad: list[tuple[int, list[str]]] = []
        for line, record in records:
            if not header_seen:
                header_seen = bool(record)
                continue
            if not record or (width > 1 and record == [""]):
                continue
            if len(record) == width:
                good.append(record)
                good_rows.append(line)
            else:
                bad.append((line, record))
            if len(good) + len(bad) >= batch_size:
                yield _batch(columns, good, good_rows, bad, raw.tell())
                good, good_rows, bad = [], [], []
        if good or bad:
            yield _batch(columns, good, good_rows, bad, raw.tell())


def _batch(
    columns: list[str],
    good: list[list[str]],
    good_rows: list[int],
    bad: list[tuple[int, list[str]]],
    position: int,
) -> Batch:
    values = list(zip(*good, strict=True)) if good else [() for _ in columns]
    data = pl.DataFrame(
        [
            pl.Series(name, list(col), dtype=pl.String)
            for name, col in zip(columns, values, strict=True)
        ]
        + [pl.Series(ROW_COL, good_rows, dtype=pl.Int64)]
    )
    return Batch(data=data, rejects=_rejects(columns, bad) if bad else None, position=position)


def _rejects(columns: list[str], bad: list[tuple[int, list[str]]]) -> pl.DataFrame:
    """Ragged records: the source columns (padded with nulls or cut), ``__row`` and ``_error``."""
    width = len(columns)
    padded: list[list[str | None]] = [
        [*record[:width], *([None] * (width - len(record)))] for _, record in bad
    ]
    cols = list(zip(*padded, strict=True))
    series = [
        pl.Series(name, list(col), dtype=pl.String)
        for name, col in zip(columns, cols, strict=True)
        if name != REJECT_ERROR  # replaced by the reader's reason, like the rejects writer does
    ]
    series.append(pl.Series(ROW_COL, [line for line, _ in bad], dtype=pl.Int64))
    series.append(
        pl.Series(REJECT_ERROR, [_ragged(record, columns) for _, record in bad], dtype=pl.String)
    )
    return pl.DataFrame(series)


def _ragged(record: list[str], columns: list[str]) -> str:
    count = len(record)
    fields = "field" if count == 1 else "fields"
    head = f"row has {count} {fields} but the header has {len(columns)}"
    if count > len(columns):
        extra = ", ".join(repr(v) for v in record[len(columns) :])
        return f"{head}; extra values: {extra}"
    missing = ", ".join(repr(c) for c in columns[count:])
    return f"{head}; no values for: {missing}"


@contextmanager
def _records(plan: _Plan) -> Iterator[tuple[BinaryIO, Iterator[tuple[int, list[str]]]]]:
    """Open the file and iterate (line where the record starts, fields) from line header_row."""
    try:
        raw = plan.path.open("rb")
    except OSError as exc:
        raise SourceError(plan.path, f"cannot open: {exc.strerror}") from exc
    raw.seek(plan.encoding.skip)
    text = io.TextIOWrapper(raw, encoding=plan.encoding.codec, newline="")
    try:
        yield raw, _parse(plan, text)
    finally:
        text.close()


def _parse(plan: _Plan, text: io.TextIOWrapper) -> Iterator[tuple[int, list[str]]]:
    lines = with_end_mark(text)
    skipped = 0
    reader = csv.reader(lines, delimiter=plan.delimiter, quotechar=plan.quote_char, strict=False)
    start = 1
    try:
        for _ in range(plan.header_row - 1):
            if next(lines) == END_MARK:
                return
            skipped += 1
        start = skipped + 1
        for record in reader:
            if at_end(plan.path, start, record):
                return
            yield start, record
            start = skipped + reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise _decode_error(plan) from exc
    except csv.Error as exc:
        raise SourceError(plan.path, _csv_problem(start, exc)) from exc


def with_end_mark(lines: Iterable[str]) -> Iterator[str]:
    """``lines``, then ``END_MARK`` as one more line, for ``at_end`` to see how the file ends."""
    yield from lines
    yield END_MARK


def at_end(path: Path, line: int, record: list[str]) -> bool:
    """True for the record made of ``END_MARK`` alone: the file ended between records.

    The csv module (``strict=False``) ends a quoted field silently at the end of the input, so
    a quote never closed would swallow every later line into one field. The mark tells: inside
    an open quote it ends the last field instead of standing alone, and that is an error.
    """
    if record and record[-1].endswith(END_MARK):
        if record == [END_MARK]:
            return True
        raise SourceError(
            path,
            f"the record starting at line {line} opens a quote that is never closed: every "
            "line after it would be read into one field; close the quote or double it",
        )
    return False


def _csv_problem(line: int, exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return (
            f"the record starting at line {line} has a field longer than "
            f"{csv.field_size_limit():,} characters, the most a field may hold (a field this "
            "long usually means a quote that is never closed)"
        )
    return f"the record starting at line {line} cannot be parsed: {exc}"


def _decode_error(plan: _Plan) -> SourceError:
    """The error for the first undecodable byte: its line, offset and what to do (csv_decode)."""
    encoding = plan.encoding
    family = codec_family(encoding.codec)
    return decode_error(plan.path, encoding.codec, family, encoding.name, encoding.skip)
