"""JSON rejects writer: records nested again, in the source's shape (array, NDJSON, object)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from conveyor.errors import ConfigError
from conveyor.formats.base import ClosingSink, SourceInfo
from conveyor.formats.json_batches import VALUE_COL
from conveyor.formats.nested import json_text, parse_json_text, reject_columns, unflatten
from conveyor.schema import REJECT_ERROR, REJECT_ROW, ROW_COL

__all__ = ["JsonRejectSink", "open_rejects"]


def open_rejects(path: Path, info: SourceInfo) -> JsonRejectSink:
    """Open a rejects file shaped like the source described by ``info``."""
    return JsonRejectSink(Path(path), info)


class JsonRejectSink(ClosingSink):
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
