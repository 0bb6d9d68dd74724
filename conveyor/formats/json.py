"""Streaming JSON reader; its rejects writer (``open_rejects``) is in ``json_rejects``.

The byte-level guard is in ``json_scan``, the building of typed batches in
``json_batches``; ``open_rejects``, ``JsonRejectSink``, ``MAX_DEPTH`` and ``VALUE_COL`` are
re-exported here.

Accepted shapes (``SourceInfo.extra["shape"]``):

- ``array``: a top-level array; each element is a record.
- ``ndjson``: one value per line. Chosen for ``.ndjson`` / ``.jsonl`` files, and for a file
  whose first line is a whole JSON object followed by more values.
- ``object``: an object holding the record array at ``options.record_path`` (dotted, e.g.
  ``data.items``). A top-level object without ``record_path`` is refused with the dotted paths
  of the arrays of objects found near its top; a lone object is not taken as one record.

A top-level scalar is refused ("not a JSON array of records"). Arrays and objects are streamed
with ijson (yajl2 C backend), NDJSON line by line; the file is never loaded whole.

Records: nested objects become dotted columns (``address.city``) up to
``options.flatten_depth`` levels (None: all); deeper objects, empty objects and lists are kept
as JSON text (their columns are listed in ``SourceInfo.extra["json_columns"]``). An element
that is not an object goes to ``Batch.rejects`` as JSON text in ``_value``. Per batch and
column: all booleans give ``pl.Boolean``, all integers within int64 give ``pl.Int64``,
anything else ``pl.String`` with numbers as their exact digits (``Decimal``, so ``1.10`` stays
``1.10``; an exponent is written as ``1E+400``). ``__row`` is the 1-based element number
(NDJSON: the line number). ``SourceInfo.columns`` are the columns of the first batch; a later
batch may add columns. Invalid JSON raises ``SourceError`` with the record number or line and
byte offset; records of batches already yielded stay with the caller. Nesting deeper than
``MAX_DEPTH`` levels is refused at once. Invalid UTF-8 (also UTF-16 and UTF-32 files) and
escaped UTF-16 surrogates that do not pair up (``"\\ud800"``, which yajl would turn into ``?``
or a wrong character) are refused.
"""

from __future__ import annotations

import decimal
import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Literal

import ijson

from conveyor.errors import SourceError
from conveyor.formats.base import Batch, ReadResult, SourceInfo, SourceOptions
from conveyor.formats.json_batches import VALUE_COL, BatchBuilder
from conveyor.formats.json_rejects import JsonRejectSink, open_rejects
from conveyor.formats.json_scan import MAX_DEPTH, GuardedFile, ScanError, Scanner
from conveyor.schema import ROW_COL

__all__ = ["MAX_DEPTH", "VALUE_COL", "JsonRejectSink", "open_rejects", "read"]

Shape = Literal["array", "ndjson", "object"]

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_PROBE_LINE = 8 << 20  # longest first line tried as an NDJSON record
_SCAN_EVENTS = 200_000  # parse events looked at when listing candidate record paths
_PARSE_ERRORS = (ijson.JSONError, ValueError, decimal.InvalidOperation)
#: Bytes ijson reads at a time. yajl re-scans a string token from its start at every chunk, so a
#: long string costs (length / chunk) times its length: with ijson's 64 KiB a 100 MB value took
#: minutes, with 8 MiB about a second; records of ordinary size parse as fast either way.
_CHUNK = 8 << 20


def read(path: Path, options: SourceOptions) -> ReadResult:
    """Describe the JSON file at ``path`` and stream its records in batches."""
    path = Path(path)
    shape, prefix = _detect_shape(path, options)
    json_columns: list[str] = []
    batches = _batches(path, shape, prefix, options, json_columns)
    first = next(batches, None)
    columns = [c for c in first.data.columns if c != ROW_COL] if first is not None else []
    info = SourceInfo(
        path=path,
        format="json",
        columns=columns,
        options=options.model_copy(update={"format": "json"}),
        size=path.stat().st_size,
        encoding="utf-8",
        extra={"shape": shape, "json_columns": json_columns},
    )
    head = [first] if first is not None else []
    return ReadResult(info=info, batches=itertools.chain(head, batches))


def _detect_shape(path: Path, options: SourceOptions) -> tuple[Shape, str]:
    """The file's shape and the ijson prefix of its records."""
    record_path = options.record_path
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise SourceError(path, f"cannot open: {exc.strerror}") from exc
    with fh:
        first, offset = _first_byte(fh, path)
        if path.suffix.lower() in _NDJSON_SUFFIXES:
            if record_path:
                raise SourceError(path, "source.record_path does not apply to NDJSON; remove it")
            return "ndjson", ""
        if first == b"[":
            if record_path:
                raise SourceError(
                    path,
                    f"source.record_path is {record_path!r} but the top level is an array "
                    "of records; remove record_path",
                )
            return "array", "item"
        if first == b"{":
            if record_path:
                return "object", f"{record_path}.item"
            if _looks_like_ndjson(fh, offset):
                return "ndjson", ""
            raise _top_object_error(path, fh)
        raise SourceError(path, f"not a JSON array of records: {_top_level(first)}")


def _first_byte(fh: BinaryIO, path: Path) -> tuple[bytes, int]:
    """The first byte that is not a BOM or whitespace, and its offset."""
    offset = 0
    chunk = fh.read(65536)
    if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in chunk[:2]:
        raise SourceError(
            path, "the file looks UTF-16 or UTF-32 encoded; JSON must be UTF-8: convert it"
        )
    if chunk.startswith(_BOM):
        chunk, offset = chunk[3:], 3
    while chunk:
        body = chunk.lstrip(_WHITESPACE)
        if body:
            return body[:1], offset + len(chunk) - len(body)
        offset += len(chunk)
        chunk = fh.read(65536)
    raise SourceError(path, "the file is empty: expected a JSON array of records")


def _top_level(first: bytes) -> str:
    kinds = {b'"': "a string", b"t": "a boolean", b"f": "a boolean", b"n": "null"}
    if first in kinds:
        return f"the top level is {kinds[first]}"
    if first == b"-" or first.isdigit():
        return "the top level is a number"
    return f"the file is not JSON (it starts with {first.decode('latin-1')!r})"


def _looks_like_ndjson(fh: BinaryIO, offset: int) -> bool:
    """True when the first line is a whole JSON object and more content follows."""
    fh.seek(offset)
    line = fh.readline(_PROBE_LINE)
    if not line.endswith(b"\n"):
        return False
    try:
        if not isinstance(json.loads(line), dict):
            return False
    except ValueError:
        return False
    while chunk := fh.read(65536):
        if chunk.strip(_WHITESPACE):
            return True
    return False


def _top_object_error(path: Path, fh: BinaryIO) -> SourceError:
    candidates = _scan_structure(path, fh, None)[1]
    if candidates:
        return SourceError(
            path,
            "the top level is a JSON object, not an array of records: "
            f"set source.record_path to one of: {', '.join(candidates)}",
        )
    return SourceError(
        path,
        "the top level is a JSON object with no array of objects near its top: Conveyor "
        "reads a JSON array of records, one object per line (NDJSON), or an object with "
        "source.record_path set to the dotted path of its record array",
    )


def _scan_structure(path: Path, fh: BinaryIO, target: str | None) -> tuple[str | None, list[str]]:
    """The parse event at ``target`` (if any) and the dotted paths of arrays of objects.

    Looks at most ``_SCAN_EVENTS`` events unless ``target`` is given (then until it is found).
    """
    fh.seek(0)
    fh.seek(3 if fh.read(3) == _BOM else 0)
    guard = GuardedFile(fh, path)
    found: str | None = None
    candidates: list[str] = []
    pending: str | None = None
    try:
        for count, (prefix, event, _) in enumerate(ijson.parse(guard, buf_size=_CHUNK)):
            if pending is not None and event == "start_map" and prefix == pending + ".item":
                candidates.append(pending)
            pending = prefix if event == "start_array" and _near_top(prefix) else None
            if target is not None and prefix == target and found is None:
                found = event
                break
            if target is None and (count >= _SCAN_EVENTS or len(candidates) >= 10):
                break
    except _PARSE_ERRORS as exc:
        raise SourceError(path, f"invalid JSON near byte {guard.position}: {_reason(exc)}") from exc
    return found, candidates


def _near_top(prefix: str) -> bool:
    parts = prefix.split(".")
    return bool(prefix) and len(parts) <= 4 and "item" not in parts


def _batches(
    path: Path, shape: Shape, prefix: str, options: SourceOptions, json_columns: list[str]
) -> Iterator[Batch]:
    with path.open("rb") as fh:
        if shape == "ndjson":
            records = _ndjson_records(path, fh)
        else:
            records = _document_records(path, fh, prefix, options.record_path)
        builder = BatchBuilder(path, options.flatten_depth, json_columns)
        for number, value in records:
            builder.add(number, value)
            if builder.count >= options.batch_size:
                yield builder.take(fh.tell())
        if builder.count:
            yield builder.take(fh.tell())


def _document_records(
    path: Path, fh: BinaryIO, prefix: str, record_path: str | None
) -> Iterator[tuple[int, object]]:
    """Elements of the record array, numbered from 1, streamed by ijson."""
    if fh.read(3) != _BOM:
        fh.seek(0)
    guard = GuardedFile(fh, path)
    number = 0
    try:
        for number, value in enumerate(ijson.items(guard, prefix, buf_size=_CHUNK), start=1):
            yield number, value
    except _PARSE_ERRORS as exc:
        where = f"after record {number}" if number else "before the first record"
        raise SourceError(
            path, f"invalid JSON {where} (near byte {guard.position}): {_reason(exc)}"
        ) from exc
    if number == 0 and record_path:
        _check_record_path(path, fh, record_path)


def _check_record_path(path: Path, fh: BinaryIO, record_path: str) -> None:
    """No record came out: fine for an empty array, an error for anything else."""
    event, _ = _scan_structure(path, fh, record_path)
    if event == "start_array":
        return
    problem = "was not found" if event is None else f"is not an array (it holds {event})"
    candidates = _scan_structure(path, fh, None)[1]
    hint = f"; arrays of objects found: {', '.join(candidates)}" if candidates else ""
    raise SourceError(path, f"source.record_path {record_path!r} {problem}{hint}")


def _ndjson_records(path: Path, fh: BinaryIO) -> Iterator[tuple[int, object]]:
    """One JSON value per non-blank line, numbered by line."""
    for number, raw in enumerate(fh, start=1):
        line = raw[3:] if number == 1 and raw.startswith(_BOM) else raw
        if line.strip(_WHITESPACE):
            yield number, _parse_line(path, number, line)


def _parse_line(path: Path, number: int, line: bytes) -> object:
    try:
        Scanner().feed(line)
    except ScanError as exc:
        raise SourceError(path, f"line {number}: {exc}") from exc
    try:
        text = line.decode("utf-8")
        value = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise SourceError(path, f"line {number} is not valid JSON: {_reason(exc)}") from exc
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, decimal.InvalidOperation):
        return "a number is out of range (its exponent is too large)"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return f"text that is not UTF-8 ({exc.reason})"
    message = exc.args[0] if exc.args else str(exc)
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    lines = [part.strip() for part in str(message).splitlines() if part.strip()]
    return lines[0] if lines else type(exc).__name__
