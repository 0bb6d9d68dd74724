"""Streaming export writers: a table's rows, in Polars batches, to a CSV/XLSX/JSON/NDJSON/XML file.

``open_writer(path, fmt, columns, options)`` opens the file and returns a ``FileWriter``; the
caller passes every batch to ``write`` and finishes with ``close`` (or ``abort`` on failure, then
deletes the file). Each format has its own module (``csv_writer``, ``json_writer`` for ``json``
and ``ndjson``, ``xml_writer``, ``xlsx_writer``); this one holds what they share:

- the frame check (``check_frame``) and the location of a bad value (``first_hit``);
- ``value_text``: the text of a value, the same in every text format. NULL stays null (each
  format writes it its own way); decimals keep their exact digits and scale (``12.50``, never
  through a float); aware datetimes ``2024-01-02T03:04:05.123456+01:00`` (always 6 fractional
  digits, the zone's own offset, with seconds ``+00:09:21`` for the rare historical offsets that
  have them), naive ones without offset; dates ``2024-01-02``; booleans ``true``/``false``;
  floats in Polars' shortest round-trip form, except NaN and infinities, written ``NaN``,
  ``Infinity`` and ``-Infinity`` in every format (PostgreSQL's spelling; JSON cannot hold them
  as numbers, so they are JSON strings there).

Every batch is turned into text with Polars expressions and written at once: no Python call per
row, and nothing of a batch is kept after ``write`` returns, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, cast, get_args

import polars as pl

from conveyor.errors import ConfigError
from conveyor.schema import Column

__all__ = [
    "ExportFormat",
    "FileWriter",
    "WriteOptions",
    "check_frame",
    "first_hit",
    "open_file",
    "open_writer",
    "value_text",
]

ExportFormat = Literal["csv", "xlsx", "json", "ndjson", "xml"]

_MODULES: dict[str, str] = {
    "csv": "csv_writer",
    "xlsx": "xlsx_writer",
    "json": "json_writer",
    "ndjson": "json_writer",
    "xml": "xml_writer",
}
_AWARE = "%Y-%m-%dT%H:%M:%S%.6f%:z"
_AWARE_SECONDS = "%Y-%m-%dT%H:%M:%S%.6f%::z"  # an offset with seconds (LMT before ~1900)
_NAIVE = "%Y-%m-%dT%H:%M:%S%.6f"


@dataclass(frozen=True)
class WriteOptions:
    """How to write an export file; each field applies to the formats named beside it."""

    delimiter: str = ","  # csv
    encoding: str = "utf-8"  # csv (a codec name; unknown -> ConfigError)
    xml_root: str = "records"  # xml root element
    xml_record: str = "record"  # xml element per row
    xml_namespace: str | None = None  # xml default namespace URI of root and records
    xml_invalid_chars: Literal["error", "replace"] = "error"
    sheet_name: str = "Sheet1"  # xlsx first sheet; later ones "Sheet1 (2)", ...


class FileWriter(Protocol):
    """An open export file. ``rows`` counts the data rows written so far."""

    rows: int

    def write(self, frame: pl.DataFrame) -> None: ...

    def close(self) -> None: ...  # finishes the file (footer, zip, flush)

    def abort(self) -> None: ...  # stops, releases handles; the caller deletes the file


def open_writer(
    path: Path,
    fmt: ExportFormat,
    columns: Sequence[Column],
    options: WriteOptions = WriteOptions(),
) -> FileWriter:
    """Open ``path`` for an export of ``columns`` (in that order) in format ``fmt``."""
    if fmt not in get_args(ExportFormat):
        choices = ", ".join(get_args(ExportFormat))
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {choices}")
    columns = list(columns)
    if not columns:
        raise ConfigError(f"{path}: an export needs at least one column; choose some fields")
    names = [c.name for c in columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"{path}: the export names the column(s) {', '.join(map(repr, repeated))} twice; "
            "rename one with the mapping or choose other fields"
        )
    module = import_module(f"conveyor.formats.{_MODULES[fmt]}")
    opener = module.open_writer
    return cast(FileWriter, opener(Path(path), fmt, columns, options))


def open_file(path: Path) -> BinaryIO:
    """``path`` opened for binary writing; a ConfigError that says what to check otherwise."""
    try:
        return path.open("wb")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the export file ({exc.strerror}); "
            "check that its folder exists and is writable"
        ) from exc


def check_frame(frame: pl.DataFrame, columns: Sequence[Column]) -> None:
    """Refuse a batch whose columns are not the writer's, in order (a caller's bug)."""
    expected = [c.name for c in columns]
    if frame.columns != expected:
        raise ValueError(f"batch columns {frame.columns} differ from the export's {expected}")


def first_hit(frame: pl.DataFrame, masks: dict[str, pl.Expr]) -> tuple[int, str] | None:
    """(0-based row, column) of the first true value of ``masks`` (column -> boolean expr).

    Rows come first: of two bad values the one in the earlier row is named, then the one in
    the earlier column. None when no mask is true anywhere.
    """
    if not masks or frame.height == 0:
        return None
    found = frame.select(
        [mask.fill_null(False).arg_true().first().alias(name) for name, mask in masks.items()]
    ).row(0, named=True)
    hits = [(row, name) for name, row in found.items() if row is not None]
    return min(hits, key=lambda hit: (hit[0], list(masks).index(hit[1]))) if hits else None


def value_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The text of column ``name`` of ``frame`` as described in the module docstring.

    Nulls stay null. Strings (``string`` and ``json`` columns) are returned as they are.
    """
    return _text(frame, name).alias(name)


def _text(frame: pl.DataFrame, name: str) -> pl.Expr:
    col = pl.col(name)
    dtype = frame.schema[name]
    if dtype == pl.String:
        return col
    if dtype == pl.Float64 or dtype == pl.Float32:
        return float_text(col)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return col.dt.to_string(_NAIVE)
        offset = (col.dt.base_utc_offset() + col.dt.dst_offset()).dt.total_seconds()
        odd = (offset % 60) != 0
        if frame.select(odd.any()).item():
            return (
                pl.when(odd)
                .then(col.dt.to_string(_AWARE_SECONDS))
                .otherwise(col.dt.to_string(_AWARE))
            )
        return col.dt.to_string(_AWARE)
    return col.cast(pl.String)  # integers, decimals (exact, with scale), booleans, dates


def float_text(col: pl.Expr) -> pl.Expr:
    """Shortest round-trip text of a float; NaN, Infinity and -Infinity spelled out."""
    return (
        pl.when(col.is_nan())
        .then(pl.lit("NaN"))
        .when(col == float("inf"))
        .then(pl.lit("Infinity"))
        .when(col == float("-inf"))
        .then(pl.lit("-Infinity"))
        .otherwise(col.cast(pl.String))
    )
