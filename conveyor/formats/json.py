"""Streaming JSON reader and rejects writer.

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
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import ijson
import polars as pl

from conveyor.errors import ConfigError, SourceError
from conveyor.formats.base import Batch, ReadResult, SourceInfo, SourceOptions
from conveyor.formats.nested import (
    FlattenCollision,
    flatten,
    json_text,
    parse_json_text,
    reject_columns,
    unflatten,
)
from conveyor.schema import INTERNAL_COLUMNS, REJECT_ERROR, REJECT_ROW, ROW_COL

__all__ = ["MAX_DEPTH", "VALUE_COL", "JsonRejectSink", "open_rejects", "read"]

Shape = Literal["array", "ndjson", "object"]

MAX_DEPTH = 256  # deeper nesting is refused: no record needs it, and yajl has no limit
VALUE_COL = "_value"  # reader rejects: a record that is not an object, as JSON text

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_PROBE_LINE = 8 << 20  # longest first line tried as an NDJSON record
_SCAN_EVENTS = 200_000  # parse events looked at when listing candidate record paths
_INT64 = (-(2**63), 2**63 - 1)
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_LOW_PREFIX = re.compile(rb"(?:\\(?:u(?:[dD](?:[c-fC-F][0-9a-fA-F]{0,2})?)?)?)?")
_BAD_SURROGATE = re.compile(_HIGH + rb"(?!" + _LOW + rb")|(?<!" + _HIGH + rb")" + _LOW)
_PARSE_ERRORS = (ijson.JSONError, ValueError, decimal.InvalidOperation)


# --- reading -------------------------------------------------------------------------------


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
    guard = _GuardedFile(fh, path)
    found: str | None = None
    candidates: list[str] = []
    pending: str | None = None
    try:
        for count, (prefix, event, _) in enumerate(ijson.parse(guard)):
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
        builder = _BatchBuilder(path, options.flatten_depth, json_columns)
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
    guard = _GuardedFile(fh, path)
    number = 0
    try:
        for number, value in enumerate(ijson.items(guard, prefix), start=1):
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
        _Scanner().feed(line)
    except _ScanError as exc:
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


# --- nesting guard -------------------------------------------------------------------------


class _ScanError(ValueError):
    def __init__(self, message: str, at: int = 0) -> None:
        super().__init__(message)
        self.at = at  # offset in the chunk, where known


class _Scanner:
    """Checks consecutive chunks of JSON bytes for what yajl lets through.

    Hand-written because yajl has no depth limit (and ijson builds a prefix string per level,
    so 100,000 nested arrays would take minutes), and because yajl takes form feed and
    vertical tab for whitespace, which JSON forbids everywhere. It works on whole chunks with
    bytes methods (about a quarter of the parse time): escaped pairs are dropped, everything
    but quotes and brackets is deleted, and the pieces between quotes alternate inside and
    outside strings; depth is counted outside them.
    """

    def __init__(self) -> None:
        self.depth = 0
        self._in_string = False
        self._carry = b""  # an odd backslash at the end of the previous chunk
        self._tail = b""  # the end of the previous chunk, for escapes split across chunks

    def feed(self, chunk: bytes) -> None:
        for byte, name in ((b"\x0c", "form feed"), (b"\x0b", "vertical tab")):
            if byte in chunk:
                raise _ScanError(f"a {name}, which JSON does not allow", chunk.index(byte))
        data = self._carry + chunk
        body = data.rstrip(b"\\")
        self._carry = b"\\" if (len(data) - len(body)) % 2 else b""
        if b"\\" in body:
            body = body.replace(b"\\\\", b"")
        self._check_surrogates(body)
        if b"\\" in body:
            body = body.replace(b'\\"', b"")
        pieces = body.translate(None, _NOT_STRUCTURE).split(b'"')
        outside = b"".join(pieces[1::2] if self._in_string else pieces[::2])
        if len(pieces) % 2 == 0:
            self._in_string = not self._in_string
        opens = outside.count(b"[") + outside.count(b"{")
        if self.depth + opens <= MAX_DEPTH:
            self.depth += 2 * opens - len(outside)
            return
        for code in outside:
            self.depth += 1 if code in b"[{" else -1
            if self.depth > MAX_DEPTH:
                raise _ScanError(f"nesting is deeper than {MAX_DEPTH} levels")

    def _check_surrogates(self, body: bytes) -> None:
        """Refuse escaped UTF-16 surrogates that do not pair up (yajl would garble them)."""
        seen = len(self._tail)
        window = self._tail + body
        self._tail = window[-12:]
        if b"\\u" not in window:
            return
        for match in _BAD_SURROGATE.finditer(window):
            if match.group().lower() >= b"\\udc00":
                if match.end() <= seen:
                    continue  # a low half judged with the previous chunk
            elif _LOW_PREFIX.fullmatch(window[match.end() :]):
                continue  # a high half whose partner may start the next chunk
            escape = match.group().decode("ascii")
            raise _ScanError(
                f"the escape {escape} is half of a UTF-16 pair without its other half",
                max(0, match.start() - seen),
            )


class _GuardedFile:
    """The binary file as ijson reads it, with the nesting depth checked on the way."""

    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self._fh = fh
        self._path = path
        self._scanner = _Scanner()

    @property
    def position(self) -> int:
        return self._fh.tell()

    def read(self, size: int = -1) -> bytes:
        start = self._fh.tell()
        chunk = self._fh.read(size)
        try:
            self._scanner.feed(chunk)
        except _ScanError as exc:
            problem = f"invalid JSON near byte {start + exc.at}: {exc}"
            raise SourceError(self._path, problem) from exc
        return chunk


# --- batches -------------------------------------------------------------------------------


@dataclass
class _BatchBuilder:
    path: Path
    depth: int | None
    json_columns: list[str]
    rows: list[dict[str, object]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    rejects: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.numbers) + len(self.rejects)

    def add(self, number: int, value: object) -> None:
        if not isinstance(value, dict):
            reason = f"record {number} is {_kind(value)}, not a JSON object"
            self.rejects.append((json_text(value), number, reason))
            return
        try:
            row = flatten(value, self.depth)
        except FlattenCollision as exc:
            reason = f"record {number}: two keys give the column {exc.name!r} once flattened"
            self.rejects.append((json_text(value), number, reason))
            return
        reserved = [name for name in row if name in INTERNAL_COLUMNS]
        if reserved:
            raise SourceError(
                self.path,
                f"record {number} has the key {reserved[0]!r}, which Conveyor uses itself; "
                "rename it in the file",
            )
        self.rows.append(row)
        self.numbers.append(number)

    def take(self, position: int) -> Batch:
        seen: dict[str, object] = {}
        for row in self.rows:
            seen.update(row)  # keeps first-seen key order, at C speed
        names = list(seen)
        columns = [self._series(name, [row.get(name) for row in self.rows]) for name in names]
        data = pl.DataFrame([*columns, pl.Series(ROW_COL, self.numbers, pl.Int64)])
        rejects = None
        if self.rejects:
            values, numbers, reasons = zip(*self.rejects, strict=True)
            rejects = pl.DataFrame(
                {VALUE_COL: list(values), ROW_COL: list(numbers), REJECT_ERROR: list(reasons)},
                schema={VALUE_COL: pl.String, ROW_COL: pl.Int64, REJECT_ERROR: pl.String},
            )
        self.rows, self.numbers, self.rejects = [], [], []
        return Batch(data=data, rejects=rejects, position=position)

    def _series(self, name: str, values: list[object]) -> pl.Series:
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if kinds == {bool}:
            return pl.Series(name, values, pl.Boolean)
        if kinds == {int}:
            ints = [v for v in values if isinstance(v, int)]
            if _INT64[0] <= min(ints) and max(ints) <= _INT64[1]:
                return pl.Series(name, values, pl.Int64)
        if name not in self.json_columns and (list in kinds or dict in kinds):
            self.json_columns.append(name)
        texts = [v if v is None or type(v) is str else _text(v) for v in values]
        return pl.Series(name, texts, pl.String)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | list | dict):
        return json_text(value)
    return str(value)


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


# --- rejects -------------------------------------------------------------------------------


def open_rejects(path: Path, info: SourceInfo) -> JsonRejectSink:
    """Open a rejects file shaped like the source described by ``info``."""
    return JsonRejectSink(Path(path), info)


class JsonRejectSink:
    """Writes rejected records in the source's shape: array, NDJSON or wrapping object.

    Records are rebuilt from dotted columns into nested objects, JSON-text columns (lists,
    objects kept whole, ``_value``) are parsed back, and ``_row`` and ``_error`` come last.
    Nulls are written as null so every column reads back.
    """

    def __init__(self, path: Path, info: SourceInfo) -> None:
        self.path = path
        self._info = info
        shape = info.extra.get("shape", "array")
        self._shape = shape if shape in ("array", "ndjson", "object") else "array"
        json_columns = info.extra.get("json_columns", [])
        self._json_columns = json_columns if isinstance(json_columns, list) else []
        self._count = 0
        try:
            self._fh = path.open("w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot write the rejects file: {exc.strerror}") from exc
        self._fh.write(self._opening())

    def __enter__(self) -> JsonRejectSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _record_path(self) -> list[str]:
        record_path = self._info.options.record_path
        return record_path.split(".") if self._shape == "object" and record_path else []

    def _opening(self) -> str:
        if self._shape == "ndjson":
            return ""
        keys = "".join("{" + json_text(key) + ": " for key in self._record_path())
        return keys + "[\n"

    def write(self, frame: pl.DataFrame) -> None:
        columns = reject_columns(self._info.columns, frame.columns)
        for row in frame.iter_rows(named=True):
            pairs = [(c, self._value(c, row.get(c))) for c in columns]
            pairs = [(c, v) for c, v in pairs if c != VALUE_COL or v is not None]
            pairs += [(REJECT_ROW, row.get(ROW_COL)), (REJECT_ERROR, row.get(REJECT_ERROR))]
            text = json_text(unflatten(pairs))
            if self._shape == "ndjson":
                self._fh.write(text + "\n")
            else:
                self._fh.write(("" if self._count == 0 else ",\n") + text)
            self._count += 1

    def _value(self, column: str, value: object) -> object:
        if not isinstance(value, str):
            return value
        if column == VALUE_COL or (column in self._json_columns and value[:1] in ("[", "{")):
            try:
                return parse_json_text(value)
            except ValueError:
                return value
        return value

    def close(self) -> None:
        if self._fh.closed:
            return
        if self._shape != "ndjson":
            self._fh.write(("\n" if self._count else "") + "]" + "}" * len(self._record_path()))
            self._fh.write("\n")
        self._fh.close()
