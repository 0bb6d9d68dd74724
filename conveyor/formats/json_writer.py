"""JSON export writers: ``json`` (one array of objects) and ``ndjson`` (one object per line).

Each row is an object with the columns as keys, in column order. Values:

- NULL -> ``null``; strings -> JSON strings; integers and floats -> JSON numbers; booleans ->
  ``true``/``false``; dates and datetimes -> the ISO strings of ``writers.value_text``.
- NaN and the infinities, which JSON numbers cannot hold, -> the strings ``"NaN"``,
  ``"Infinity"`` and ``"-Infinity"``.
- Decimals -> JSON *strings* holding the exact digits and scale (``"12.50"``): a JSON number
  is read as a float by most tools, which would lose digits of a NUMERIC(38, 10) value.
- ``json`` columns (JSON text) -> embedded as JSON values, not as strings. Their text is checked
  (invalid JSON is a ConfigError naming the row and column) and its line breaks, which valid
  JSON holds only as whitespace between tokens, become spaces so an NDJSON line stays one line.

The output is UTF-8 (characters other than control characters are written as they are). Each
batch is turned into one text per row with Polars expressions (``concat_str``, escaping by
``str.replace_many``), then written by Polars' ``write_csv`` with quoting off: no Python call
per row. An array export of zero rows is ``[]``; an NDJSON one is an empty file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from conveyor.errors import ConfigError
from conveyor.formats.writers import (
    WriteOptions,
    check_frame,
    float_text,
    open_file,
    value_text,
)
from conveyor.schema import Column

__all__ = ["JsonWriter", "json_string", "open_writer"]

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"}
_ESCAPES |= {"\f": "\\f"} | {chr(i): f"\\u{i:04x}" for i in range(32) if chr(i) not in _ESCAPES}
_QUOTED = ("decimal", "date", "datetime")


def open_writer(
    path: Path, fmt: str, columns: Sequence[Column], options: WriteOptions
) -> JsonWriter:
    """Open a JSON export: ``fmt`` ``"json"`` for an array, ``"ndjson"`` for one row a line."""
    return JsonWriter(path, columns, ndjson=fmt == "ndjson")


def json_string(text: pl.Expr) -> pl.Expr:
    """A JSON string literal of ``text`` (null stays null)."""
    escaped = text.str.replace_many(list(_ESCAPES), list(_ESCAPES.values()))
    return pl.concat_str([pl.lit('"'), escaped, pl.lit('"')])


class JsonWriter:
    """Writes rows as JSON objects, in an array (``[`` at open, ``]`` at close) or as NDJSON."""

    def __init__(self, path: Path, columns: Sequence[Column], *, ndjson: bool) -> None:
        self.rows = 0
        self._path = path
        self._columns = list(columns)
        self._ndjson = ndjson
        self._keys = [json.dumps(c.name, ensure_ascii=False) + ":" for c in self._columns]
        self._fh = open_file(path)
        if not ndjson:
            self._fh.write(b"[")

    def write(self, frame: pl.DataFrame) -> None:
        """Append the rows of ``frame`` (the export's columns, in order)."""
        check_frame(frame, self._columns)
        if frame.height == 0:
            return
        self._check_json(frame)
        parts: list[pl.Expr] = []
        for index, (column, key) in enumerate(zip(self._columns, self._keys, strict=True)):
            parts.append(pl.lit(("{" if index == 0 else ",") + key))
            parts.append(self._value(frame, column).fill_null(pl.lit("null")))
        parts.append(pl.lit("}"))
        row = pl.concat_str(parts)
        if not self._ndjson:  # "[" then "\n{...}" for the first row, ",\n{...}" after
            first = pl.lit("\n" if self.rows == 0 else ",\n")
            separator = pl.when(pl.int_range(pl.len()) == 0).then(first).otherwise(pl.lit(",\n"))
            row = pl.concat_str([separator, row])
        frame.select(row.alias("row")).write_csv(
            self._fh,
            include_header=False,
            quote_style="never",
            line_terminator="\n" if self._ndjson else "",
        )
        self.rows += frame.height

    def close(self) -> None:
        """Write the closing bracket (array) and close the file."""
        if self._fh.closed:
            return
        if not self._ndjson:
            self._fh.write(b"\n]\n" if self.rows else b"]\n")
        self._fh.close()

    def abort(self) -> None:
        """Close the file as it is; the caller deletes it."""
        if not self._fh.closed:
            self._fh.close()

    def _value(self, frame: pl.DataFrame, column: Column) -> pl.Expr:
        """The JSON text of one column's values (null where the value is NULL)."""
        col = pl.col(column.name)
        dtype = frame.schema[column.name]
        if column.kind == "json":
            return col.str.replace_all("[\r\n]", " ")
        if dtype == pl.String:
            return json_string(col)
        if dtype == pl.Float64 or dtype == pl.Float32:
            text = float_text(col)
            return pl.when(col.is_finite()).then(text).otherwise(json_string(text))
        if column.kind in _QUOTED or isinstance(dtype, pl.Decimal | pl.Date | pl.Datetime):
            return json_string(value_text(frame, column.name))
        return col.cast(pl.String)  # integers and booleans: their JSON text as is

    def _check_json(self, frame: pl.DataFrame) -> None:
        """Refuse JSON text that does not parse, naming its row and column.

        Polars' parser (vectorised) also refuses numbers beyond a float's range, which JSON
        allows (``1e400``); the values it refuses, rare, are parsed again with Python's.
        """
        bad: list[tuple[int, int, str]] = []
        for position, column in enumerate(self._columns):
            if column.kind != "json":
                continue
            col = pl.col(column.name)
            suspect = col.str.json_path_match("$").is_null() & (col.str.strip_chars() != "null")
            rows = frame.select(suspect.fill_null(False).arg_true()).to_series().to_list()
            texts = frame.get_column(column.name).gather(rows).to_list() if rows else []
            found = next((r for r, t in zip(rows, texts, strict=True) if not _parses(t)), None)
            if found is not None:
                bad.append((found, position, column.name))
        if bad:
            row, _position, name = min(bad)
            raise ConfigError(
                f"{self._path}: row {self.rows + row + 1}, column {name!r}: the value is not "
                "valid JSON, so it cannot be embedded; export the column as a string instead"
            )


def _parses(text: str) -> bool:
    """Whether ``text`` is one JSON value (strict: no NaN or Infinity literals)."""

    def refuse(literal: str) -> object:
        raise ValueError(literal)

    try:
        json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        return False
    return True
