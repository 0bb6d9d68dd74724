"""Contracts shared by every format module (csv, xlsx, json, xml).

A format module exposes two functions:

``read(path: Path, options: SourceOptions) -> ReadResult``
    Opens the file, reads what it must to describe it (encoding, delimiter, header) and returns
    a ``ReadResult``: the ``SourceInfo`` and a lazy iterator of ``Batch``. Memory stays flat
    whatever the file size. A file that cannot be parsed at all raises ``SourceError`` (from
    ``read`` or while iterating) naming the file and the problem.

``open_rejects(path: Path, info: SourceInfo) -> RejectSink``
    Opens a rejects file in the source's own format (same encoding, delimiter, sheet names,
    record path, namespaces) so that, once fixed, it imports with the same mapping as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, Self

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

FormatName = Literal["csv", "xlsx", "json", "xml"]


class SourceOptions(BaseModel):
    """How to read a source file. Every field is optional: unset means detect or default."""

    model_config = ConfigDict(extra="forbid")

    format: FormatName | None = Field(
        None, description="csv, xlsx, json or xml; default: from the file name, else sniffed."
    )
    encoding: str | None = Field(
        None,
        description="Text encoding (csv). Default: detected from the BOM, else UTF-8, else cp1252.",
    )
    delimiter: str | None = Field(
        None, description="Field delimiter (csv). Default: sniffed among , ; tab |."
    )
    quote_char: str = Field('"', description="Quote character (csv).")
    sheet: str | int | None = Field(
        None,
        description="Sheet name or 0-based index (xlsx); '*' reads every sheet. "
        "Default: the first sheet.",
    )
    header_row: int = Field(
        1, ge=1, description="1-based row number of the header row (csv, xlsx)."
    )
    record_path: str | None = Field(
        None,
        description="json: dotted path to the record array (e.g. data.items); "
        "xml: element path to each record (e.g. /ns:export/ns:contact).",
    )
    namespaces: dict[str, str] = Field(
        default_factory=dict, description="xml: prefix -> namespace URI used in record_path."
    )
    flatten_depth: int | None = Field(
        None,
        ge=0,
        description="json/xml: how many levels of nested objects are flattened to dotted "
        "column names (default: all); deeper values are kept as JSON text.",
    )
    batch_size: int = Field(50_000, ge=1, description="Rows per batch.")


@dataclass
class SourceInfo:
    """What a reader learnt about a file; rejects writers use it to write the same format."""

    path: Path
    format: FormatName
    columns: list[str]  # output column names, unique, in order
    options: SourceOptions  # the options as resolved (detected values filled in)
    size: int = 0  # bytes
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. duplicate headers renamed
    extra: dict[str, object] = field(default_factory=dict)  # format-specific (e.g. line ending)


@dataclass
class Batch:
    """A slice of records.

    ``data`` holds the source columns plus ``__row`` (Int64, the row number in the source) and,
    for xlsx, ``__sheet`` (String). ``rejects`` holds records the reader itself refused (e.g. a
    ragged CSV row): the source columns as text, ``__row``, ``__sheet`` where relevant and
    ``_error``. ``position`` is how many bytes of the file have been consumed (for progress).
    """

    data: pl.DataFrame
    rejects: pl.DataFrame | None = None
    position: int = 0


@dataclass
class ReadResult:
    info: SourceInfo
    batches: Iterator[Batch]


class RejectSink(Protocol):
    """Writes rejected records to a file in the source's format.

    ``write`` receives frames holding the source columns (any dtype; missing ones are written
    empty), ``__row`` (Int64), ``_error`` (String) and, for xlsx, ``__sheet``. The file gets the
    source columns in ``info.columns`` order, then ``_row`` and ``_error`` (replacing source
    columns of those names, so a rejects file of a rejects file stays the same shape). For
    xlsx each record goes to a sheet of its ``__sheet`` name. ``close`` finishes the file; a
    sink that received nothing still writes a valid file with the header.
    """

    def write(self, frame: pl.DataFrame) -> None: ...

    def close(self) -> None: ...


class ClosingSink:
    """Lets a reject sink be used in a ``with`` block that closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
