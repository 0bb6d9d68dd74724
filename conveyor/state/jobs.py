"""The import-jobs control table: one row per file import, in the target's own database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conveyor.load.ddl import UtcDateTimeText
from conveyor.load.urls import create_engine, parse_url, redact, translate_error
from conveyor.state.migrations import apply_migrations

__all__ = ["COUNT_FIELDS", "JOBS_TABLE", "JobStatus", "JobStore", "jobs_table"]

_T = TypeVar("_T")

JOBS_TABLE = "conveyor_import_jobs"
JobStatus = Literal["succeeded", "failed", "dry_run", "skipped"]
#: The counts a finished job records (each defaults to 0).
COUNT_FIELDS = (
    "rows_read",
    "inserted",
    "updated",
    "unchanged",
    "deleted",
    "removed",
    "duplicates",
    "rejected",
)


def jobs_table(dialect: str) -> sa.Table:
    """The table as sql/<dialect>/0001_import_jobs.sql creates it, for SQLAlchemy queries."""
    stamp: sa.types.TypeEngine[dt.datetime] = (
        UtcDateTimeText() if dialect == "sqlite" else sa.DateTime(timezone=True)
    )
    return sa.Table(
        JOBS_TABLE,
        sa.MetaData(),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        *[sa.Column(name, sa.Text) for name in _TEXT_COLUMNS],
        sa.Column("file_size", sa.BigInteger),
        sa.Column("status", sa.Text),
        *[sa.Column(name, sa.BigInteger) for name in COUNT_FIELDS],
        sa.Column("rejects_path", sa.Text),
        sa.Column("started_at", stamp),
        sa.Column("finished_at", stamp),
        sa.Column("duration_ms", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("loaded_rows", sa.BigInteger),
        sa.Column("phase", sa.Text),
    )


_TEXT_COLUMNS = (
    "file_name",
    "file_sha256",
    "mapping_name",
    "mapping_hash",
    "target_table",
    "target_url",
)


class JobStore:
    """Records import jobs. Give it the target's engine or URL: the jobs live beside the data."""

    def __init__(self, engine_or_url: Engine | str) -> None:
        if isinstance(engine_or_url, Engine):
            self.engine = engine_or_url
            self._owns_engine = False
        else:
            self.engine = create_engine(parse_url(engine_or_url))
            self._owns_engine = True
        self._table = jobs_table(self.engine.dialect.name)

    def ensure(self) -> list[int]:
        """Create or upgrade the control tables; returns the migration versions applied now."""
        return self._run("create the job tables in", lambda: apply_migrations(self.engine))

    def start(
        self,
        file_name: str,
        size: int | None,
        sha256: str | None,
        mapping_name: str | None,
        mapping_hash: str | None,
        target_table: str | None,
        target_url_redacted: str,
    ) -> int:
        """Record a job as running; returns its id. Details not known yet may be None and be
        filled in later with ``describe``."""
        statement = (
            sa.insert(self._table)
            .values(
                file_name=file_name,
                file_size=size,
                file_sha256=sha256,
                mapping_name=mapping_name,
                mapping_hash=mapping_hash,
                target_table=target_table,
                target_url=redact(target_url_redacted),  # belt and braces: never a password
                status="running",
                started_at=dt.datetime.now(dt.UTC),
            )
            .returning(self._table.c.id)
        )

        def insert() -> int:
            with self.engine.begin() as conn:
                return int(conn.execute(statement).scalar_one())

        return self._run("record an import job in", insert)

    def describe(
        self,
        job_id: int,
        *,
        mapping_name: str | None = None,
        mapping_hash: str | None = None,
        target_table: str | None = None,
    ) -> None:
        """Fill in the mapping details of a job once they are known (None leaves a value)."""
        values = {
            name: value
            for name, value in (
                ("mapping_name", mapping_name),
                ("mapping_hash", mapping_hash),
                ("target_table", target_table),
            )
            if value is not None
        }
        if values:
            self._update(job_id, values)

    def reopen(self, job_id: int) -> None:
        """Mark an interrupted or failed job running again: this process continues it."""
        self._update(job_id, {"status": "running", "error": None, "finished_at": None})

    def finish(
        self,
        job_id: int,
        status: JobStatus,
        counts: Mapping[str, int],
        error: str | None = None,
        *,
        rejects_path: str | None = None,
    ) -> None:
        """Close a running job with its outcome, counts (keys from COUNT_FIELDS) and error."""
        if status not in get_args(JobStatus):
            raise ValueError(f"job status {status!r}: use one of {', '.join(get_args(JobStatus))}")
        unknown = sorted(set(counts) - set(COUNT_FIELDS))
        if unknown:
            raise ValueError(f"unknown job counts {unknown}: use {', '.join(COUNT_FIELDS)}")
        job = self.get(job_id)
        if job["status"] != "running":
            raise ValueError(f"import job {job_id} is already finished ({job['status']})")
        finished = dt.datetime.now(dt.UTC)
        elapsed = finished - job["started_at"]
        values: dict[str, Any] = {name: int(counts.get(name, 0)) for name in COUNT_FIELDS}
        values.update(
            status=status,
            rejects_path=rejects_path,
            finished_at=finished,
            duration_ms=max(0, elapsed // dt.timedelta(milliseconds=1)),
            error=error,
        )
        self._update(job_id, values)

    def get(self, job_id: int) -> dict[str, Any]:
        """The job's row as a dict (timestamps as aware UTC datetimes); KeyError if unknown."""
        query = sa.select(self._table).where(self._table.c.id == job_id)
        rows = self._run("read import jobs from", lambda: self._fetch(query))
        if not rows:
            raise KeyError(f"no import job {job_id}")
        return rows[0]

    def list_recent(self, n: int = 20) -> list[dict[str, Any]]:
        """The ``n`` most recently started jobs, newest first."""
        query = sa.select(self._table).order_by(self._table.c.id.desc()).limit(n)
        return self._run("read import jobs from", lambda: self._fetch(query))

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def _update(self, job_id: int, values: dict[str, Any]) -> None:
        statement = sa.update(self._table).where(self._table.c.id == job_id).values(values)

        def update() -> int:
            with self.engine.begin() as conn:
                return conn.execute(statement).rowcount

        if self._run("record an import job in", update) == 0:
            raise KeyError(f"no import job {job_id}")

    def _fetch(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def _run(self, action: str, work: Callable[[], _T]) -> _T:
        try:
            return work()
        except sa.exc.DBAPIError as exc:
            raise translate_error(exc, self.engine.url, action) from None
