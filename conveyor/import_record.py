"""The durable side of an import: its row in the job table, its lock and its checkpoints.

:class:`JobRecord` is the part of :class:`~conveyor.importer.ImportJob` that talks to the
control tables: it claims a job id (skipping a repeat of a finished import, resuming an
unfinished twin whose process is gone, or starting a new one), writes each batch's checkpoint
in the batch's own transaction, and records the outcome. The pipeline's stages stay in
``conveyor/importer.py``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from conveyor.errors import ConveyorError
from conveyor.load.base import Checkpoint, LoadResult, WriteMode
from conveyor.mapping import MappingSpec, spec_hash
from conveyor.report import ImportCounts, ImportStatus
from conveyor.settings import redact_url
from conveyor.spill import Spill
from conveyor.state.checkpoints import (
    LOAD_COUNTS,
    Resumable,
    find_resumable,
    find_succeeded,
    save_checkpoint,
    saved_rejects,
)
from conveyor.state.jobs import JobStatus, JobStore
from conveyor.state.locks import JobLock

if TYPE_CHECKING:
    from conveyor.importer import ImportRequest

__all__ = ["JobRecord", "mapping_label", "without_rejects"]


class JobRecord:
    """Mixed into ImportJob, whose constructor sets these attributes."""

    request: ImportRequest
    path: Path
    target_url: str
    counts: ImportCounts
    jobs: JobStore | None
    job_id: int | None
    spec: MappingSpec | None
    rejects_path: Path | None
    skipped_because: str | None
    _spill: Spill
    _sha256: str | None
    _lock: JobLock | None
    _resumed: Resumable | None
    _loaded_rows: int
    _load_counts: LoadResult

    @property
    def skipped(self) -> bool:
        return self.skipped_because is not None

    @property
    def dry_run(self) -> bool:
        return self.request.dry_run

    def _claim(self, spec: MappingSpec) -> None:
        """Take a job id: skip a repeat, resume an unfinished twin, or start a new job."""
        assert self.jobs is not None
        digest, mapping_hash, table = self._sha256 or "", spec_hash(spec), spec.target.table
        with self.jobs.engine.connect() as conn:
            done = find_succeeded(conn, digest, mapping_hash, table) if digest else None
            unfinished = find_resumable(conn, digest, mapping_hash, table) if digest else []
        if done is not None and not self.request.force:
            when = done["finished_at"] or done["started_at"]
            self.skipped_because = (
                f"{self.path.name} was already imported into {table} with mapping "
                f"{spec.name or '(identity)'} by job {done['id']} at {when:%Y-%m-%d %H:%M:%S} UTC "
                "(same file contents, same mapping): nothing to do; use --force to import again"
            )
        for candidate in unfinished:
            if self.skipped:
                break
            lock = JobLock(self.jobs.engine, candidate.job_id)
            if lock.acquire():  # its process is gone: continue where it stopped
                self._adopt(candidate, lock)
                return
        self.job_id = self.jobs.start(
            file_name=self.path.name,
            size=_file_size(self.path),
            sha256=self._sha256,
            mapping_name=spec.name or mapping_label(self.request.mapping),
            mapping_hash=mapping_hash,
            target_table=table,
            target_url_redacted=redact_url(self.target_url),
        )
        if not self.skipped:
            self._lock = JobLock(self.jobs.engine, self.job_id)
            if not self._lock.acquire():  # pragma: no cover - a fresh id is never locked
                raise ConveyorError(f"import job {self.job_id} is locked by another process")

    def _adopt(self, job: Resumable, lock: JobLock) -> None:
        assert self.jobs is not None
        self.jobs.reopen(job.job_id)
        self.job_id, self._lock, self._resumed = job.job_id, lock, job
        self._loaded_rows = job.loaded_rows
        c = job.counts
        self._load_counts = LoadResult(
            c["inserted"], c["updated"], c["unchanged"], deleted=c["deleted"], removed=c["removed"]
        )
        for name, value in job.counts.items():
            setattr(self.counts, name, value)
        with self.jobs.engine.connect() as conn:
            refused = saved_rejects(conn, job.job_id)
        if refused.height:
            self._spill.late_rejects.append(refused)

    def _resume_note(self) -> str | None:
        if self._resumed is None:
            return None
        return (
            f"resumed job {self._resumed.job_id} after its last committed batch "
            f"({self._resumed.loaded_rows:,} rows were already loaded)"
        )

    def _shadow_name(self) -> str | None:
        if self.spec is None or self.spec.effective_mode != "replace" or self.job_id is None:
            return None
        if self._replace_applied():
            return None
        return f"conveyor_replace_{self.job_id}"

    def _replace_applied(self) -> bool:
        return self._resumed is not None and self._resumed.phase == "applied"

    def _checkpoint_at(
        self, loaded_rows: int, mode: WriteMode, phase: str = "loading"
    ) -> Checkpoint | None:
        """The checkpoint a batch writes in its own transaction: committed totals so far."""
        job_id = self.job_id
        if job_id is None or self.dry_run:
            return None

        def checkpoint(conn: sa.Connection, result: LoadResult) -> None:
            totals = self._load_counts + without_rejects(result, mode)
            counts = {name: getattr(totals, name) for name in LOAD_COUNTS}
            save_checkpoint(
                conn,
                job_id,
                loaded_rows=loaded_rows,
                counts=counts,
                rejected=result.rejected,
                phase=phase,
            )

        return checkpoint

    def _record_outcome(self, status: ImportStatus, message: str | None) -> None:
        if self.jobs is None:
            return
        try:
            if self.job_id is None:  # failed before the job was claimed (e.g. a bad mapping)
                self.job_id = self.jobs.start(
                    file_name=self.path.name,
                    size=_file_size(self.path),
                    sha256=self._sha256,
                    mapping_name=mapping_label(self.request.mapping),
                    mapping_hash=None,
                    target_table=self.request.table,
                    target_url_redacted=redact_url(self.target_url),
                )
            recorded: JobStatus = "succeeded" if status == "dry_run" else status
            self.jobs.finish(
                self.job_id,
                recorded,
                asdict(self.counts),
                message if status in ("failed", "skipped") else None,
                rejects_path=str(self.rejects_path) if self.rejects_path else None,
            )
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None
            self.jobs.close()


def without_rejects(result: LoadResult, mode: WriteMode) -> LoadResult:
    """The counts that go into a checkpoint (a replace's batches only fill its shadow)."""
    if mode == "replace":
        return LoadResult()
    return LoadResult(
        result.inserted,
        result.updated,
        result.unchanged,
        deleted=result.deleted,
        removed=result.removed,
    )


def mapping_label(mapping: str | Path | MappingSpec | None) -> str:
    if isinstance(mapping, MappingSpec):
        return mapping.name or ""
    if mapping is None:
        return "(identity)"
    return Path(mapping).stem


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
