"""The file import pipeline: read → map → dedupe → load → record the job.

Each stage is a method of :class:`ImportJob` so that a Prefect flow can run them as tasks;
:func:`import_file` runs them in a row. Memory stays flat: mapped batches are spilled to Arrow
IPC files in a temporary folder, deduplicated with Polars' streaming engine and loaded back in
slices.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from conveyor.errors import ConveyorError, SourceError
from conveyor.formats import RejectSink, open_rejects, read_source
from conveyor.formats.base import ReadResult
from conveyor.load import Target, open_target
from conveyor.load.base import LoadResult
from conveyor.load.preview import preview_changes
from conveyor.load.urls import dialect_of, parse_url
from conveyor.mapping import (
    CompiledMapping,
    MappingSpec,
    compile_mapping,
    dedupe,
    load_mapping,
    spec_hash,
)
from conveyor.mapping.suggest import suggest_mapping
from conveyor.report import ImportCounts, ImportReport
from conveyor.schema import REJECT_ERROR, REJECT_ROW, ROW_COL, SEQ_COL, SHEET_COL
from conveyor.settings import get_settings, redact_url
from conveyor.state.jobs import JobStore

__all__ = ["ImportJob", "ImportRequest", "ProgressFn", "import_file"]

#: progress(phase, done, total, rows): "infer" (identity mapping's pass over the file) and
#: "read" count bytes of the file, "load" counts rows.
ProgressFn = Callable[[str, int, int | None, int], None]
LOAD_BATCH_ROWS = 50_000
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


@dataclass
class _Spill:
    folder: Path
    files: list[Path] = field(default_factory=list)
    late_rejects: list[pl.DataFrame] = field(default_factory=list)


class ImportJob:
    """One import, stage by stage. Call :meth:`run` or the stages in order."""

    def __init__(self, request: ImportRequest, progress: ProgressFn | None = None) -> None:
        self.request = request
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
        self._spill = _Spill(Path(tempfile.mkdtemp(prefix="conveyor-")))
        self._batches_loaded = 0

    # -- stages ---------------------------------------------------------------------------

    def resolve(self) -> None:
        """Record the job, load the mapping, open the file, and check the target table."""
        if not self.request.dry_run and self.job_id is None:
            self.jobs = JobStore(self.target_url)
            self.jobs.ensure()
            self.job_id = self.jobs.start(
                file_name=self.path.name,
                size=_file_size(self.path),
                sha256=_sha256(self.path),
                mapping_name=_mapping_label(self.request.mapping),
                mapping_hash=None,
                target_table=self.request.table,
                target_url_redacted=redact_url(self.target_url),
            )
        spec = self._resolve_spec()
        self.spec = spec
        self.compiled = compile_mapping(spec)
        self.source = read_source(self.path, spec.source)
        self.warnings.extend(self.source.info.warnings)
        self.compiled.check_columns(
            self.source.info.columns, self.source.info.format, source=str(self.path)
        )
        url = _dry_run_url(self.target_url) if self.dry_run else self.target_url
        self.target = open_target(url)
        self.target.prepare(self.compiled.schema, spec.effective_mode, create=not self.dry_run)
        if self.jobs is not None and self.job_id is not None:
            self.jobs.describe(
                self.job_id,
                mapping_name=spec.name or "",
                mapping_hash=spec_hash(spec),
                target_table=spec.target.table,
            )

    def read_and_map(self) -> None:
        """Stream the file through the mapping; spill good rows, write rejects as they come."""
        assert self.source is not None and self.compiled is not None
        self.progress("read", 0, self.source.info.size, 0)
        seq = 0
        for index, batch in enumerate(self.source.batches):
            if batch.rejects is not None and batch.rejects.height:
                self.counts.rows_read += batch.rejects.height
                self._reject(batch.rejects)
            frame = _with_internal_columns(batch.data, seq)
            seq += frame.height
            self.counts.rows_read += frame.height
            mapped = self.compiled.apply(frame)
            if mapped.rejects.height:
                self._reject(mapped.rejects)
            if mapped.good.height:
                spill_file = self._spill.folder / f"mapped-{index:06d}.arrow"
                mapped.good.write_ipc(spill_file)
                self._spill.files.append(spill_file)
            self.progress("read", batch.position, self.source.info.size, self.counts.rows_read)

    def deduplicate(self) -> None:
        """Settle duplicate keys within the file by the mapping's strategy."""
        assert self.spec is not None
        key = self.spec.target.key
        if not key or not self._spill.files:
            return
        rules = self.spec.dedupe
        result = dedupe(
            pl.scan_ipc(self._spill.files),
            key,
            rules.strategy,
            trim=rules.trim,
            ignore_case=rules.ignore_case,
        )
        kept_file = self._spill.folder / "deduplicated.arrow"
        result.kept.sink_ipc(kept_file)
        rejected = result.rejected.collect()
        # Every mapped row is kept, rejected or dropped: counting from the files already
        # written saves a second pass over the keys.
        mapped = sum(_ipc_rows(f) for f in self._spill.files)
        self.counts.duplicates += mapped - _ipc_rows(kept_file) - rejected.height
        if rejected.height:
            self._spill.late_rejects.append(rejected)
        self._spill.files = [kept_file]

    def load(self) -> None:
        """Write the rows into the target, one transaction per batch."""
        assert self.spec is not None and self.compiled is not None and self.target is not None
        total = sum(_ipc_rows(f) for f in self._spill.files)
        self.progress("load", 0, total, 0)
        done = 0
        for index, frame in enumerate(_slices(self._spill.files, LOAD_BATCH_ROWS)):
            done += frame.height
            if index < self._batches_loaded:  # committed before a retried failure
                continue
            if self.dry_run and index == 0:
                self._preview(frame)
            result = self.target.write(
                frame, self.compiled.schema, self.spec.effective_mode, commit=not self.dry_run
            )
            self._batches_loaded = index + 1
            self._count(result)
            self.progress("load", done, total, done)
        self._write_late_rejects()

    def finish(self, error: BaseException | None = None) -> ImportReport:
        """Close everything, record the job's outcome and return the report."""
        status = "failed" if error is not None else "dry_run" if self.dry_run else "succeeded"
        message = _describe(error) if error is not None else None
        if error is None and not self.counts.balanced:
            status, message = "failed", f"internal error: counts do not add up: {self.counts}"
        self._close()
        report = ImportReport(
            file=self.path,
            mapping=(self.spec.name or "") if self.spec else _mapping_label(self.request.mapping),
            table=self.spec.target.table if self.spec else (self.request.table or ""),
            target=redact_url(self.target_url),
            status=status,  # type: ignore[arg-type]
            counts=self.counts,
            job_id=self.job_id,
            rejects_path=self.rejects_path,
            warnings=self.warnings,
            error=message,
            duration_s=time.monotonic() - self.started,
            examples=self.examples,
        )
        if self.jobs is not None and self.job_id is not None:
            self.jobs.finish(
                self.job_id,
                "failed" if status == "failed" else "succeeded",
                asdict(self.counts),
                message,
                rejects_path=str(self.rejects_path) if self.rejects_path else None,
            )
            self.jobs.close()
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

    @property
    def dry_run(self) -> bool:
        return self.request.dry_run

    def _resolve_spec(self) -> MappingSpec:
        mapping = self.request.mapping
        if isinstance(mapping, MappingSpec):
            return mapping
        if mapping is not None:
            dirs = [self.request.mappings_dir or get_settings().mappings_dir]
            return load_mapping(mapping, search_dirs=dirs)
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

    def _count(self, result: LoadResult) -> None:
        self.counts.inserted += result.inserted
        self.counts.updated += result.updated
        self.counts.unchanged += result.unchanged
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
) -> ImportReport:
    """Import one file into a database table and return its report.

    ``mapping`` is a mapping name (looked up in ``mappings/``), a path to a YAML file, a
    :class:`MappingSpec`, or None for the identity mapping (``table`` and ``key`` then name the
    target). ``target`` is a database URL (default: ``CONVEYOR_DATABASE_URL`` or
    ``sqlite:///conveyor.db``). A failed import returns a report with ``status == "failed"``
    and ``error`` saying what to fix; call :meth:`ImportReport.raise_for_status` to raise.
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
    )
    return ImportJob(request, progress).run()


# -- small pure helpers -------------------------------------------------------------------


def _with_internal_columns(frame: pl.DataFrame, seq_start: int) -> pl.DataFrame:
    extra = [pl.int_range(seq_start, seq_start + frame.height, dtype=pl.Int64).alias(SEQ_COL)]
    if SHEET_COL not in frame.columns:
        extra.append(pl.lit(None, dtype=pl.String).alias(SHEET_COL))
    return frame.with_columns(extra)


def _dry_run_url(url: str) -> str:
    """A dry run creates nothing: a SQLite file that does not exist yet is read as empty."""
    parsed = parse_url(url)
    database = parsed.database or ":memory:"
    if dialect_of(parsed) == "sqlite" and database != ":memory:" and not Path(database).exists():
        return "sqlite://"
    return url


def _slices(files: list[Path], rows: int) -> Iterator[pl.DataFrame]:
    for file in files:
        scan = pl.scan_ipc(file)
        total = _ipc_rows(file)
        for offset in range(0, total, rows):
            yield scan.slice(offset, rows).collect()


def _ipc_rows(file: Path) -> int:
    return int(pl.scan_ipc(file).select(pl.len()).collect().item())


def _example_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rejected rows as a user sees them in a rejects file: source values, _row and _error."""
    visible = frame.drop([SEQ_COL, REJECT_ROW], strict=False).rename({ROW_COL: REJECT_ROW})
    rows = visible.to_dicts()
    return [{k: v for k, v in row.items() if v is not None or k == REJECT_ERROR} for row in rows]


def _default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects{path.suffix}")


def _mapping_label(mapping: str | Path | MappingSpec | None) -> str:
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
