"""The file import pipeline: read → map → dedupe → load → record the job.

Each stage is a method of :class:`ImportJob` so that a Prefect flow can run them as tasks;
:func:`import_file` runs them in a row. Memory stays flat: mapped batches are spilled to Arrow
IPC files in a temporary folder, deduplicated with Polars' streaming engine and loaded back in
slices.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from conveyor.errors import ConveyorError, SourceError
from conveyor.formats import RejectSink, open_rejects, read_source
from conveyor.formats.base import ReadResult, SourceOptions
from conveyor.import_record import JobRecord, mapping_label, without_rejects
from conveyor.load import Target, open_target
from conveyor.load.base import LoadResult, WriteMode
from conveyor.load.ddl import check_column_count
from conveyor.load.preview import preview_changes
from conveyor.load.urls import dialect_of, parse_url
from conveyor.mapping import (
    CompiledMapping,
    MappingSpec,
    compile_mapping,
    load_mapping,
)
from conveyor.mapping.suggest import suggest_mapping
from conveyor.partitioned import PartitionRunner, read_partitioned, with_internal_columns
from conveyor.report import ImportCounts, ImportReport, ImportStatus
from conveyor.schema import REJECT_ERROR, REJECT_ROW, ROW_COL, SEQ_COL, SHEET_COL
from conveyor.settings import get_settings, redact_url
from conveyor.spill import Spill, ipc_rows, slices
from conveyor.state.checkpoints import (
    Resumable,
)
from conveyor.state.jobs import JobStore
from conveyor.state.locks import JobLock

__all__ = ["ImportJob", "ImportRequest", "ProgressFn", "import_file"]

#: progress(phase, done, total, rows): "infer" (identity mapping's pass over the file) and
#: "read" count bytes of the file, "load" counts rows.
ProgressFn = Callable[[str, int, int | None, int], None]
EXAMPLES_PER_KIND = 3


@dataclass
class ImportRequest:
    """What to import, where, and how."""

    path: Path
    mapping: str | Path | MappingSpec | None = None
    target: str | None = None
    table: str | None = None
    key: Sequence[str] = ()
    dry_run: bool = False
    rejects_path: Path | None = None
    mappings_dir: Path | None = None
    force: bool = False  # import again even when this file was imported with this mapping
    #: Above 1, split the file and read and map the partitions in parallel (conveyor.partitioned)
    partitions: int = 1
    spill_dir: Path | None = None  # mapped rows wait here; on a cluster, a folder all workers see


class ImportJob(JobRecord):
    """One import, stage by stage. Call :meth:`run` or the stages in order."""

    def __init__(
        self,
        request: ImportRequest,
        progress: ProgressFn | None = None,
        runner: PartitionRunner | None = None,
    ) -> None:
        self.request = request
        self.runner = runner  # runs partitions (default: a local process pool)
        self.path = Path(request.path)
        self.progress = progress or (lambda phase, done, total, rows: None)
        self.target_url = request.target or get_settings().database_url.get_secret_value()
        self.started = time.monotonic()
        self.counts = ImportCounts()
        self.warnings: list[str] = []
        self.examples: dict[str, list[dict[str, Any]]] = {}
        self.spec: MappingSpec | None = None
        self.compiled: CompiledMapping | None = None
        self.source: ReadResult | None = None
        self.target: Target | None = None
        self.jobs: JobStore | None = None
        self.job_id: int | None = None
        self._rejects: RejectSink | None = None
        self.rejects_path: Path | None = None
        self._spill = Spill.create(request.spill_dir)
        self.partition_note: str | None = None  # how the file was split, or why it was not
        self._sha256: str | None = None
        self._lock: JobLock | None = None
        self._resumed: Resumable | None = None
        self._loaded_rows = 0  # rows of the deduplicated stream committed (the checkpoint)
        self._load_counts = LoadResult()
        self.skipped_because: str | None = None

    # -- stages ---------------------------------------------------------------------------

    def resolve(self) -> None:
        """Load the mapping, claim the job (new, resumed, or skipped as a repeat), open the
        file, and check the target table."""
        if not self.request.dry_run and self.jobs is None:
            self.jobs = JobStore(self.target_url)
            self.jobs.ensure()
            self._sha256 = _sha256(self.path)
        spec = self._resolve_spec()
        self.spec = spec
        self.compiled = compile_mapping(spec)
        if self.jobs is not None and self.job_id is None:
            self._claim(spec)
        if self.skipped:
            return
        self.source = read_source(self.path, spec.source)
        self.warnings.extend(self.source.info.warnings)
        self.compiled.check_columns(
            self.source.info.columns, self.source.info.format, source=str(self.path)
        )
        url = _dry_run_url(self.target_url) if self.dry_run else self.target_url
        self.target = open_target(url)
        self.target.prepare(
            self.compiled.schema,
            spec.effective_mode,
            create=not self.dry_run,
            add_columns=spec.target.add_columns,
            shadow=self._shadow_name(),
        )

    def read_and_map(self) -> None:
        """Stream the file through the mapping; spill good rows, write rejects as they come.

        With ``request.partitions`` above 1, partitions of the file are read and mapped in
        parallel by ``runner`` instead, with the same outcome (see conveyor.partitioned).
        """
        if self.skipped:
            return
        count = self.request.partitions
        if count > 1 and read_partitioned(self, count, self.runner):
            return
        assert self.source is not None and self.compiled is not None
        self.progress("read", 0, self.source.info.size, 0)
        seq = 0
        for index, batch in enumerate(self.source.batches):
            if batch.rejects is not None and batch.rejects.height:
                self.counts.rows_read += batch.rejects.height
                self._reject(batch.rejects)
            frame = with_internal_columns(batch.data, seq)
            seq += frame.height
            self.counts.rows_read += frame.height
            mapped = self.compiled.apply(frame)
            if mapped.rejects.height:
                self._reject(mapped.rejects)
            if mapped.good.height:
                assert self.spec is not None and self.source is not None
                self._spill.write_parts(
                    mapped.good,
                    index,
                    self.spec.target.key,
                    self.spec.dedupe,
                    self.source.info.size,
                )
            self.progress("read", batch.position, self.source.info.size, self.counts.rows_read)

    def adopt_partitions(
        self, rows_read: int, parts: dict[int, list[Path]], rejects: Iterable[pl.DataFrame]
    ) -> None:
        """Take what partitions read and mapped elsewhere (see conveyor.partitioned)."""
        self.counts.rows_read += rows_read
        for part, files in sorted(parts.items()):
            self._spill.parts.setdefault(part, []).extend(files)
        for frame in rejects:
            self._reject(frame)

    @property
    def spill_folder(self) -> Path:
        return self._spill.folder

    def deduplicate(self) -> None:
        """Settle duplicate keys within the file by the mapping's strategy."""
        if self.skipped:
            return
        assert self.spec is not None
        key = self.spec.target.key
        if not key or not self._spill.files:
            return
        for part, files in sorted(self._spill.parts.items()):  # dedupe_part replaces each
            self.counts.duplicates += self._spill.dedupe_part(part, files, key, self.spec.dedupe)

    def load(self) -> None:
        """Write the rows into the target: per batch, one transaction with its checkpoint.

        The deduplicated stream is the same on every run of the same file and mapping, so a
        resumed job starts after the rows its committed batches covered.
        """
        if self.skipped:
            return
        assert self.spec is not None and self.compiled is not None and self.target is not None
        total = sum(ipc_rows(f) for f in self._spill.files)
        self.progress("load", 0, total, 0)
        mode, existing = self.spec.effective_mode, self.spec.target.existing
        done = self._loaded_rows  # rows committed by an earlier attempt of this job
        batch_rows = get_settings().load_batch_rows
        for frame in slices(self._spill.files, batch_rows, start=done):
            first = done == self._loaded_rows
            done += frame.height
            if self.dry_run and first:
                self._preview(frame)
            result = self.target.write(
                frame,
                self.compiled.schema,
                mode,
                existing=existing,
                commit=not self.dry_run,
                checkpoint=self._checkpoint_at(done, mode),
            )
            self._loaded_rows = done
            self._count(result, mode)
            self.progress("load", done, total, done)
        if mode == "replace" and not self._replace_applied():
            result = self.target.apply_replace(
                self.compiled.schema,
                existing=existing,
                commit=not self.dry_run,
                checkpoint=self._checkpoint_at(done, mode, phase="applied"),
            )
            self._count(result, "upsert")
        self._write_late_rejects()

    def finish(self, error: BaseException | None = None) -> ImportReport:
        """Close everything, record the job's outcome and return the report."""
        status = self._final_status(error)
        message = _describe(error) if error is not None else self.skipped_because
        if status != "failed" and not self.counts.balanced:
            status, message = "failed", f"internal error: counts do not add up: {self.counts}"
        self._close()
        report = ImportReport(
            file=self.path,
            mapping=(self.spec.name or "") if self.spec else mapping_label(self.request.mapping),
            table=self.spec.target.table if self.spec else (self.request.table or ""),
            target=redact_url(self.target_url),
            status=status,
            counts=self.counts,
            job_id=self.job_id,
            rejects_path=self.rejects_path,
            warnings=self.warnings,
            error=message if status == "failed" else None,
            duration_s=time.monotonic() - self.started,
            examples=self.examples,
            note=message if status == "skipped" else self._resume_note(),
        )
        self._record_outcome(status, message)
        return report

    def run(self) -> ImportReport:
        try:
            self.resolve()
            self.read_and_map()
            self.deduplicate()
            self.load()
        except ConveyorError as exc:
            return self.finish(exc)
        except Exception as exc:
            self.finish(exc)
            raise
        return self.finish()

    # -- helpers --------------------------------------------------------------------------

    def _resolve_spec(self) -> MappingSpec:
        mapping = self.request.mapping
        if isinstance(mapping, MappingSpec):
            return mapping
        if mapping is not None:
            dirs = [self.request.mappings_dir or get_settings().mappings_dir]
            return load_mapping(mapping, search_dirs=dirs)
        # A file wider than the database allows fails before the pass that infers types.
        dialect = dialect_of(parse_url(self.target_url))
        header = read_source(self.path, SourceOptions()).info.columns
        check_column_count(len(header), self.request.table or self.path.stem, dialect)
        return suggest_mapping(
            self.path, table=self.request.table, key=self.request.key, progress=self.progress
        )

    def _reject(self, frame: pl.DataFrame) -> None:
        self.counts.rejected += frame.height
        if self.dry_run:
            self.examples.setdefault("rejected", [])
            room = EXAMPLES_PER_KIND - len(self.examples["rejected"])
            if room > 0:
                self.examples["rejected"].extend(_example_rows(frame.head(room)))
            return
        if self._rejects is None:
            assert self.source is not None
            self.rejects_path = self.request.rejects_path or _default_rejects_path(self.path)
            self._rejects = open_rejects(self.rejects_path, self.source.info)
        self._rejects.write(frame)

    def _count(self, result: LoadResult, mode: WriteMode) -> None:
        if mode != "replace" or self.dry_run:  # a replace's batches only fill its shadow
            self.counts.inserted += result.inserted
            self.counts.updated += result.updated
            self.counts.unchanged += result.unchanged
            self.counts.deleted += result.deleted
            self.counts.removed += result.removed
        self._load_counts = self._load_counts + without_rejects(result, mode)
        if result.rejected.height:
            self._spill.late_rejects.append(result.rejected)

    def _write_late_rejects(self) -> None:
        """Rows refused after mapping (duplicates, target refusals): re-read their source rows."""
        if not self._spill.late_rejects:
            return
        assert self.spec is not None and self.source is not None
        wanted = pl.concat(self._spill.late_rejects).with_columns(pl.col(SHEET_COL).fill_null(""))
        found = 0
        for batch in read_source(self.path, self.source.info.options).batches:
            frame = batch.data.with_columns(
                pl.col(SHEET_COL).fill_null("")
                if SHEET_COL in batch.data.columns
                else pl.lit("").alias(SHEET_COL)
            )
            matched = frame.join(wanted, on=[ROW_COL, SHEET_COL], how="inner")
            if matched.height:
                found += matched.height
                self._reject(matched.with_columns(pl.col(SHEET_COL).replace("", None)))
        if found != wanted.height:  # the file changed under us; never lose the count
            raise SourceError(self.path, "the file changed while it was being imported")

    def _preview(self, frame: pl.DataFrame) -> None:
        """Dry run: a few example rows of what would be inserted, updated and left unchanged."""
        assert self.compiled is not None
        url = _dry_run_url(self.target_url)
        found = preview_changes(url, self.compiled.schema, frame, EXAMPLES_PER_KIND)
        for kind, rows in found.items():
            self.examples[kind] = rows

    def _final_status(self, error: BaseException | None) -> ImportStatus:
        if error is not None:
            return "failed"
        if self.skipped:
            return "skipped"
        return "dry_run" if self.dry_run else "succeeded"

    def _close(self) -> None:
        if self._rejects is not None:
            self._rejects.close()
            self._rejects = None
        if self.target is not None:
            self.target.close()
            self.target = None
        shutil.rmtree(self._spill.folder, ignore_errors=True)


def import_file(
    path: str | Path,
    mapping: str | Path | MappingSpec | None = None,
    target: str | None = None,
    *,
    table: str | None = None,
    key: Sequence[str] = (),
    dry_run: bool = False,
    rejects_path: str | Path | None = None,
    mappings_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
    force: bool = False,
    partitions: int = 1,
) -> ImportReport:
    """Import one file into a database table and return its report.

    ``mapping`` is a mapping name (looked up in ``mappings/``), a path to a YAML file, a
    :class:`MappingSpec`, or None for the identity mapping (``table`` and ``key`` then name the
    target). ``target`` is a database URL (default: ``CONVEYOR_DATABASE_URL`` or
    ``sqlite:///conveyor.db``). A failed import returns a report with ``status == "failed"``
    and ``error`` saying what to fix; call :meth:`ImportReport.raise_for_status` to raise.
    A file already imported with the same contents, mapping and table is skipped (status
    ``skipped``, ``note`` says by which job) unless ``force``; an interrupted import of the
    same work is resumed after its last committed batch. ``partitions`` above 1 reads and
    maps that many parts of a large CSV or NDJSON file in parallel local processes.
    """
    request = ImportRequest(
        path=Path(path),
        mapping=mapping,
        target=target,
        table=table,
        key=tuple(key),
        dry_run=dry_run,
        rejects_path=Path(rejects_path) if rejects_path else None,
        mappings_dir=Path(mappings_dir) if mappings_dir else None,
        force=force,
        partitions=partitions,
    )
    return ImportJob(request, progress).run()


# -- small pure helpers -------------------------------------------------------------------


def _dry_run_url(url: str) -> str:
    """A dry run creates nothing: a SQLite file that does not exist yet is read as empty."""
    parsed = parse_url(url)
    database = parsed.database or ":memory:"
    if dialect_of(parsed) == "sqlite" and database != ":memory:" and not Path(database).exists():
        return "sqlite://"
    return url


def _example_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rejected rows as a user sees them in a rejects file: source values, _row and _error."""
    visible = frame.drop([SEQ_COL, REJECT_ROW], strict=False).rename({ROW_COL: REJECT_ROW})
    rows = visible.to_dicts()
    return [{k: v for k, v in row.items() if v is not None or k == REJECT_ERROR} for row in rows]


def _default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects{path.suffix}")


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _describe(error: BaseException) -> str:
    if isinstance(error, ConveyorError):
        return str(error)
    return f"internal error ({type(error).__name__}): {error}"
