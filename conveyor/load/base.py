"""The target contract: write mapped batches into a database table with exact counts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from conveyor.schema import TableSchema

WriteMode = Literal["insert", "upsert", "update_only"]


@dataclass
class LoadResult:
    """Exact counts for one batch (or, summed, for a job).

    ``rejected`` lists the rows the target refused, as a frame with ``__row`` (Int64),
    ``__sheet`` (String, may be null) and ``_error`` (String): e.g. an unknown key in
    update_only mode, or a key that already exists in insert mode.
    inserted + updated + unchanged + len(rejected) == rows given.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"__row": pl.Int64, "__sheet": pl.String, "_error": pl.String}
        )
    )

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            pl.concat([self.rejected, other.rejected]),
        )


class Target(ABC):
    """A database table writer. One transaction per ``write`` call."""

    url: str

    @abstractmethod
    def prepare(self, schema: TableSchema, mode: WriteMode, *, create: bool = True) -> None:
        """Check the table against ``schema`` before anything is written.

        Creates the table (with the key as primary key) when absent and ``create`` is true.
        Raises ``SchemaMismatchError`` listing every problem (missing column, incompatible
        type, no unique index on the key for upsert/update_only).
        """

    @abstractmethod
    def write(
        self, frame: pl.DataFrame, schema: TableSchema, mode: WriteMode, *, commit: bool = True
    ) -> LoadResult:
        """Write one batch: ``frame`` holds the schema's columns plus ``__row``/``__sheet``.

        Keys are unique within ``frame`` (the pipeline deduplicates first). Rows whose values
        equal the stored ones are counted unchanged and not rewritten. With ``commit=False``
        the transaction is rolled back (dry run) but the counts are the same.
        """

    @abstractmethod
    def close(self) -> None: ...
