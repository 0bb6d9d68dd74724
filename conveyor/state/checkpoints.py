"""Checkpoints of running imports, and finding the earlier job a new import continues or repeats.

A checkpoint is written by the batch's own transaction (conveyor/load/base.py ``Checkpoint``):
the committed batches' counts, how many rows of the deduplicated stream they covered, and the
rows the target refused in them. A job killed at any moment therefore records exactly what its
committed batches did, and the next run of the same file, mapping and table starts after them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from conveyor.schema import REJECT_ERROR, ROW_COL, SHEET_COL
from conveyor.state.jobs import jobs_table

__all__ = [
    "LOAD_COUNTS",
    "REJECTS_TABLE",
    "Resumable",
    "find_resumable",
    "find_succeeded",
    "save_checkpoint",
    "saved_rejects",
]

REJECTS_TABLE = "conveyor_import_rejects"
#: The counts the load stage accumulates (the others are recomputed by reading the file again).
LOAD_COUNTS = ("inserted", "updated", "unchanged", "deleted", "removed")


@dataclass
class Resumable:
    """What an unfinished job had committed."""

    job_id: int
    loaded_rows: int
    phase: str
    counts: dict[str, int] = field(default_factory=dict)


def rejects_table() -> sa.Table:
    return sa.Table(
        REJECTS_TABLE,
        sa.MetaData(),
        sa.Column("job_id", sa.BigInteger),
        sa.Column("row_number", sa.BigInteger),
        sa.Column("sheet", sa.Text),
        sa.Column("error", sa.Text),
    )


def save_checkpoint(
    conn: sa.Connection,
    job_id: int,
    *,
    loaded_rows: int,
    counts: dict[str, int],
    rejected: pl.DataFrame,
    phase: str = "loading",
) -> None:
    """Record the committed totals on ``conn`` (inside the batch's transaction)."""
    table = jobs_table(conn.dialect.name)
    values: dict[str, Any] = {name: counts.get(name, 0) for name in LOAD_COUNTS}
    values.update(loaded_rows=loaded_rows, phase=phase)
    conn.execute(sa.update(table).where(table.c.id == job_id).values(values))
    if rejected.height:
        rows = [
            {"job_id": job_id, "row_number": row, "sheet": sheet, "error": error}
            for row, sheet, error in rejected.select(ROW_COL, SHEET_COL, REJECT_ERROR).iter_rows()
        ]
        conn.execute(sa.insert(rejects_table()), rows)


def saved_rejects(conn: sa.Connection, job_id: int) -> pl.DataFrame:
    """The target's refusals recorded by a job's committed batches, in the LoadResult layout."""
    table = rejects_table()
    query = sa.select(table.c.row_number, table.c.sheet, table.c.error).where(
        table.c.job_id == job_id
    )
    rows = conn.execute(query).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={ROW_COL: pl.Int64, SHEET_COL: pl.String, REJECT_ERROR: pl.String},
        orient="row",
    )


def _same_work(table: sa.Table, sha256: str, mapping_hash: str, target_table: str) -> list[Any]:
    return [
        table.c.file_sha256 == sha256,
        table.c.mapping_hash == mapping_hash,
        table.c.target_table == target_table,
    ]


def find_succeeded(
    conn: sa.Connection, sha256: str, mapping_hash: str, target_table: str
) -> dict[str, Any] | None:
    """The latest job that imported this very file with this mapping into this table."""
    table = jobs_table(conn.dialect.name)
    query = (
        sa.select(table)
        .where(
            *_same_work(table, sha256, mapping_hash, target_table), table.c.status == "succeeded"
        )
        .order_by(table.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def find_resumable(
    conn: sa.Connection, sha256: str, mapping_hash: str, target_table: str
) -> list[Resumable]:
    """Unfinished jobs of the same work that committed something, newest first.

    "Unfinished" is a running job (its process may have been killed: the caller checks its
    lock) or a failed one.
    """
    table = jobs_table(conn.dialect.name)
    query = (
        sa.select(table)
        .where(
            *_same_work(table, sha256, mapping_hash, target_table),
            table.c.status.in_(("running", "failed")),
            table.c.loaded_rows > 0,
        )
        .order_by(table.c.id.desc())
    )
    return [
        Resumable(
            job_id=int(row["id"]),
            loaded_rows=int(row["loaded_rows"]),
            phase=str(row["phase"]),
            counts={name: int(row[name]) for name in LOAD_COUNTS},
        )
        for row in conn.execute(query).mappings()
    ]
