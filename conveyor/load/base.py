"""The target contract: write mapped batches into a database table with exact counts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl
import sqlalchemy as sa

from conveyor.schema import TableSchema

WriteMode = Literal["insert", "upsert", "update_only", "delete", "replace"]
#: What happens to a row whose key is already in the table (upsert, update_only and replace):
#: ``update`` incoming values win; ``merge`` incoming non-empty values win and empty ones (NULL,
#: or "" in a text column) keep the stored value; ``skip`` leaves the stored row as it is
#: (counted unchanged); ``error`` rejects the row with its key.
Existing = Literal["update", "merge", "skip", "error"]
#: Called inside a batch's transaction, just before it commits: the job's checkpoint goes in
#: the same transaction as the rows, so a crash leaves both or neither.
Checkpoint = Callable[[sa.Connection, "LoadResult"], None]


@dataclass
class LoadResult:
    """Exact counts for one batch (or, summed, for a job).

    ``rejected`` lists the rows the target refused, as a frame with ``__row`` (Int64),
    ``__sheet`` (String, may be null) and ``_error`` (String): e.g. an unknown key in
    update_only mode, or a key that already exists in insert mode.
    inserted + updated + unchanged + deleted + len(rejected) == rows given; ``removed`` counts
    the table's rows that a replace removed because the new rows no longer hold their key.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"__row": pl.Int64, "__sheet": pl.String, "_error": pl.String}
        )
    )

    deleted: int = 0
    removed: int = 0

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            pl.concat([self.rejected, other.rejected]),
            self.deleted + other.deleted,
            self.removed + other.removed,
        )


class Target(ABC):
    """A database table writer. One transaction per ``write`` call."""

    url: str

    @abstractmethod
    def prepare(
        self,
        schema: TableSchema,
        mode: WriteMode,
        *,
        create: bool = True,
        add_columns: bool = False,
        shadow: str | None = None,
    ) -> None:
        """Check the table against ``schema`` before anything is written.

        Creates the table (with the key as primary key) when absent and ``create`` is true;
        with ``add_columns`` adds the mapped columns it lacks. Raises ``SchemaMismatchError``
        listing every other problem (missing column, incompatible type, no unique index on the
        key for upsert/update_only/replace). In mode ``replace`` with a ``shadow`` name, the
        rows of every batch go into that table until :meth:`apply_replace`.
        """

    @abstractmethod
    def write(
        self,
        frame: pl.DataFrame,
        schema: TableSchema,
        mode: WriteMode,
        *,
        existing: Existing = "update",
        commit: bool = True,
        checkpoint: Checkpoint | None = None,
    ) -> LoadResult:
        """Write one batch: ``frame`` holds the schema's columns plus ``__row``/``__sheet``.

        Keys are unique within ``frame`` (the pipeline deduplicates first). Rows whose values
        equal the stored ones are counted unchanged and not rewritten. With ``commit=False``
        the transaction is rolled back (dry run) but the counts are the same. In mode
        ``replace`` the rows go into the job's shadow table (see :meth:`apply_replace`).
        """

    @abstractmethod
    def apply_replace(
        self,
        schema: TableSchema,
        *,
        existing: Existing = "update",
        commit: bool = True,
        checkpoint: Checkpoint | None = None,
    ) -> LoadResult:
        """Replace the table's rows by the shadow table's, in one transaction, and drop it.

        Readers see the old rows or the new ones, never a mix or an empty table. Rows that
        did not change are left untouched; ``removed`` counts the rows no longer there.
        """

    @abstractmethod
    def discard_replace(self, schema: TableSchema) -> None:
        """Drop the shadow table of an abandoned replace (nothing else changes)."""

    @abstractmethod
    def close(self) -> None: ...
