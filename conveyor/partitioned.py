"""Read and map a file's partitions in parallel processes, then give the job what they made.

``read_partition`` runs in any worker process (a Dask worker under the Prefect flow, a process
pool under ``import_file(partitions=N)``) on plain, picklable arguments, and returns plain
results: counts, the spill files it wrote per key part, its rejects as Arrow files. This module
imports neither Prefect nor Dask: the flow hands ``read_partitioned`` a ``PartitionRunner``.

The merge makes the job's state what a single read gives:

- A worker reads a piece file: the header's bytes (CSV), then the partition's, with the
  options the reader resolved on the whole file. ``__row`` is shifted to the whole file's line
  numbers before mapping, so rejects name the right rows; an NDJSON piece starts with blank
  lines up to the partition's first line instead, because the JSON reader also puts the line
  number in its reject messages. ``__seq`` starts at the partition's first line less the
  header's (a bound on the rows before it), so each partition's values follow the previous
  one's: dedupe compares only their order (first, last, merge) and picks the same winners.
- Spill files are named by (key part, partition, batch) and listed per part in that order:
  the deduplicated stream, and so the load and its checkpoints, are the single read's.
- A single read writes each batch's reader rejects (ragged rows), then its mapping rejects.
  Workers keep each reject's record number within the partition; the merge rebuilds the
  single read's batches from those and writes the rejects in the same order, so the rejects
  file is byte for byte the same.
- A partition that fails with a Conveyor error (bytes that do not decode, a stray quote the
  planner counted as opening a field, a worker that cannot see the file) is not trusted: the
  job reads the file in one process instead, which gives the exact error with the whole
  file's line numbers, or succeeds.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from conveyor.errors import ConveyorError, SourceError
from conveyor.formats import SourceInfo, SourceOptions, read_source
from conveyor.mapping import MappingSpec, compile_mapping
from conveyor.partitions import PartitionPlan, plan_partitions
from conveyor.schema import ROW_COL, SEQ_COL, SHEET_COL
from conveyor.spill import Spill

if TYPE_CHECKING:
    from conveyor.importer import ImportJob

__all__ = [
    "PartitionResult",
    "PartitionRunner",
    "PartitionWork",
    "RejectChunk",
    "process_pool",
    "read_partition",
    "read_partitioned",
    "with_internal_columns",
]

_RECORD = "__conveyor_record"  # a reject's record number within its partition
_READER, _MAPPING = 0, 1  # a single read writes a batch's reader rejects first


@dataclass(frozen=True)
class PartitionWork:
    """Everything a worker needs to read and map one partition (plain and picklable)."""

    index: int
    path: str
    suffix: str  # the piece's file name ends with this (``.ndjson`` makes the reader's shape)
    options: SourceOptions  # as the reader resolved them on the whole file: never re-detected
    spec: MappingSpec
    spill_dir: str  # shared by every worker and the flow
    header_end: int  # bytes [0, header_end) precede the partition's bytes in its piece
    header_lines: int
    #: Blank lines written before the partition's bytes (NDJSON: its first line less one, so
    #: the reader numbers lines, in ``__row`` and in its reject messages, as in the file)
    pad_lines: int
    start: int
    end: int
    first_line: int
    columns: tuple[str, ...]  # the whole file's (checked for CSV)
    source_size: int  # the whole file's: it decides the number of key parts

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class RejectChunk:
    """One batch's rejects of one kind, in an Arrow file, with their record numbers."""

    file: str
    kind: int
    batch: int
    first: int
    last: int


@dataclass
class PartitionResult:
    """What a worker did: records read (rows and reader rejects: what batches count), files."""

    index: int
    rows_read: int = 0
    parts: dict[int, list[str]] = field(default_factory=dict)
    rejects: list[RejectChunk] = field(default_factory=list)
    #: JSON-text columns as the reader found them, with the record number of that batch.
    json_columns: list[tuple[str, int]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def files(self) -> list[str]:
        return [f for files in self.parts.values() for f in files] + [r.file for r in self.rejects]


#: runner(works, arrived) runs every work (in any order, in parallel), calls ``arrived`` with
#: each result as it comes and returns them all.
PartitionRunner = Callable[
    [Sequence[PartitionWork], Callable[[PartitionResult], None]], list[PartitionResult]
]


# -- in the worker ------------------------------------------------------------------------


def read_partition(work: PartitionWork) -> PartitionResult:
    """Read and map one partition: its bytes after the header's, through the file's reader."""
    started = time.monotonic()
    result = PartitionResult(work.index)
    try:
        with tempfile.TemporaryDirectory(prefix="conveyor-partition-") as folder:
            piece = Path(folder) / f"partition-{work.index:04d}{work.suffix}"
            _write_piece(work, piece)
            _read_piece(work, piece, result)
    except (ConveyorError, OSError) as exc:
        _remove(result.files())
        return PartitionResult(work.index, error=str(exc) or type(exc).__name__)
    result.seconds = time.monotonic() - started
    return result


def _write_piece(work: PartitionWork, piece: Path) -> None:
    """The header's bytes, ``pad_lines`` LFs, then the partition's bytes."""
    with Path(work.path).open("rb") as src, piece.open("wb") as out:
        for start, end in ((0, work.header_end), (work.start, work.end)):
            src.seek(start)
            left = end - start
            while left > 0 and (data := src.read(min(left, 8 << 20))):
                out.write(data)
                left -= len(data)
            if start == 0:
                out.write(b"\n" * work.pad_lines)


def _read_piece(work: PartitionWork, piece: Path, result: PartitionResult) -> None:
    spill = Spill(Path(work.spill_dir), tag=f"{work.index:04d}-")
    source = read_source(piece, work.options)
    if work.header_end and tuple(source.info.columns) != work.columns:
        raise SourceError(work.path, f"partition {work.index} reads other columns")
    compiled = compile_mapping(work.spec)
    key, rules = work.spec.target.key, work.spec.dedupe
    seq = work.first_line - work.header_lines - 1  # at least the rows before the partition
    shift = seq - work.pad_lines  # piece line -> file line
    json_columns = source.info.extra.get("json_columns")
    known = 0
    for index, batch in enumerate(source.batches):
        first = result.rows_read
        data = _shifted(batch.data, shift)
        has_bad = batch.rejects is not None and batch.rejects.height > 0
        bad = _shifted(batch.rejects, shift) if batch.rejects is not None and has_bad else None
        rows = pl.concat([data[ROW_COL], *([bad[ROW_COL]] if bad is not None else [])]).sort()
        if bad is not None:
            result.rejects.append(_keep(work, bad, rows, first, index, _READER))
        frame = with_internal_columns(data, seq)
        seq += frame.height
        mapped = compiled.apply(frame)
        if mapped.rejects.height:
            result.rejects.append(_keep(work, mapped.rejects, rows, first, index, _MAPPING))
        if mapped.good.height:
            spill.write_parts(mapped.good, index, key, rules, work.source_size)
        if isinstance(json_columns, list) and len(json_columns) > known:
            result.json_columns += [(str(c), first) for c in json_columns[known:]]
            known = len(json_columns)
        result.rows_read += rows.len()
        result.parts = {part: [str(f) for f in files] for part, files in spill.parts.items()}


def _shifted(frame: pl.DataFrame, shift: int) -> pl.DataFrame:
    if not shift:
        return frame
    return frame.with_columns(pl.col(ROW_COL) + shift)


def _keep(
    work: PartitionWork,
    rejects: pl.DataFrame,
    rows: pl.Series,
    first: int,
    batch: int,
    kind: int,
) -> RejectChunk:
    """Write a batch's rejects with each one's record number within the partition."""
    numbers = (rows.search_sorted(rejects[ROW_COL]) + first).cast(pl.Int64)
    file = Path(work.spill_dir) / f"rejects-{work.index:04d}-{batch:06d}-{kind}.arrow"
    rejects.with_columns(numbers.alias(_RECORD)).write_ipc(file)
    ordered = numbers.sort()
    return RejectChunk(str(file), kind, batch, int(ordered[0]), int(ordered[-1]))


def with_internal_columns(frame: pl.DataFrame, seq_start: int) -> pl.DataFrame:
    """A reader's batch with ``__seq`` from ``seq_start`` (and a null ``__sheet`` if absent)."""
    extra = [pl.int_range(seq_start, seq_start + frame.height, dtype=pl.Int64).alias(SEQ_COL)]
    if SHEET_COL not in frame.columns:
        extra.append(pl.lit(None, dtype=pl.String).alias(SHEET_COL))
    return frame.with_columns(extra)


# -- in the job's process -----------------------------------------------------------------


def read_partitioned(job: ImportJob, count: int, runner: PartitionRunner | None = None) -> bool:
    """Plan ``count`` partitions, have ``runner`` (default: a local process pool) read and map
    them, and give the job their rows, counts and rejects. False when the job must read the
    file in one process instead (one partition, or one failed): ``job.partition_note`` says
    why."""
    assert job.source is not None and job.spec is not None
    info = job.source.info
    plan = plan_partitions(info, count)
    if len(plan.partitions) < 2:
        job.partition_note = plan.note
        return False
    works = _works(job, plan)
    job.progress("read", 0, info.size, 0)
    done = {"bytes": 0, "rows": 0}

    def arrived(result: PartitionResult) -> None:
        done["bytes"] += works[result.index].size
        done["rows"] += result.rows_read
        job.progress("read", done["bytes"], info.size, done["rows"])

    results = sorted((runner or process_pool())(works, arrived), key=lambda r: r.index)
    failed = next((r for r in results if r.error is not None), None)
    if failed is not None or len(results) != len(works):
        _remove([f for r in results for f in r.files()])
        why = failed.error if failed is not None else "results are missing"
        index = failed.index if failed is not None else "?"
        job.partition_note = f"partition {index} failed ({why}): read in one process instead"
        return False
    parts: dict[int, list[Path]] = {}
    for result in results:
        for part, files in result.parts.items():
            parts.setdefault(part, []).extend(Path(f) for f in files)
    try:
        job.adopt_partitions(sum(r.rows_read for r in results), parts, _rejects(results, info))
    finally:
        _remove([chunk.file for r in results for chunk in r.rejects])
    job.partition_note = f"read in {plan.describe()}"
    return True


def _works(job: ImportJob, plan: PartitionPlan) -> list[PartitionWork]:
    assert job.source is not None and job.spec is not None
    info = job.source.info
    ndjson = info.format == "json"
    suffix = ".ndjson" if ndjson else Path(info.path).suffix
    return [
        PartitionWork(
            index=p.index,
            path=str(Path(info.path).resolve()),
            suffix=suffix,
            options=info.options,
            spec=job.spec,
            spill_dir=str(job.spill_folder.resolve()),
            header_end=plan.header_end,
            header_lines=plan.header_lines,
            pad_lines=p.first_line - 1 if ndjson else 0,
            start=p.start,
            end=p.end,
            first_line=p.first_line,
            columns=tuple(info.columns),
            source_size=info.size,
        )
        for p in plan.partitions
    ]


def _rejects(results: Sequence[PartitionResult], info: SourceInfo) -> Iterator[pl.DataFrame]:
    """The partitions' rejects in the single read's order: batch by batch (records counted
    across partitions), reader rejects before mapping rejects. JSON-text columns are learnt
    as the single read learns them, batch by batch, for the JSON rejects writer."""
    size = info.options.batch_size
    entries: list[tuple[int, int, int, int, int, RejectChunk]] = []
    learnt: list[tuple[int, str]] = []
    base = 0
    for result in results:
        for chunk in result.rejects:
            for batch in range((base + chunk.first) // size, (base + chunk.last) // size + 1):
                entries.append((batch, chunk.kind, result.index, chunk.batch, base, chunk))
        learnt += [((base + first) // size, name) for name, first in result.json_columns]
        base += result.rows_read
    entries.sort(key=lambda e: e[:4])
    json_columns: Any = info.extra.get("json_columns")
    for batch, _, _, _, base, chunk in entries:
        _learn(json_columns, learnt, batch)
        frame = pl.read_ipc(chunk.file)
        in_batch = (pl.col(_RECORD) + base) // size == batch
        yield frame.filter(in_batch).drop(_RECORD)
    _learn(json_columns, learnt, None)


def _learn(json_columns: Any, learnt: list[tuple[int, str]], upto: int | None) -> None:
    if not isinstance(json_columns, list):
        return
    for batch, name in learnt:
        if (upto is None or batch <= upto) and name not in json_columns:
            json_columns.append(name)


def _remove(files: Sequence[str]) -> None:
    for file in files:
        Path(file).unlink(missing_ok=True)


def process_pool(max_workers: int | None = None) -> PartitionRunner:
    """A runner on local processes (spawned: the parent's Polars threads are not forked)."""

    def run(
        works: Sequence[PartitionWork], arrived: Callable[[PartitionResult], None]
    ) -> list[PartitionResult]:
        workers = max(1, min(len(works), max_workers or os.cpu_count() or 1))
        context = multiprocessing.get_context("spawn")
        results: list[PartitionResult] = []
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for future in as_completed([pool.submit(read_partition, w) for w in works]):
                result = future.result()
                arrived(result)
                results.append(result)
        return results

    return run
