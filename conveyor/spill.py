"""Mapped rows on disk between the pipeline's stages: written in parts by key, deduplicated
part by part, read back in slices.

Memory stays flat whatever the file's size: mapped batches go to Arrow IPC files as they are
read; a file larger than PART_BYTES is split by a hash of its key, so a dedupe holds one
part's keys at a time; the load reads fixed-size slices. The order is the same on every run
of the same file and mapping, which is what lets an interrupted job resume by row count.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import polars as pl

from conveyor.errors import ConfigError
from conveyor.mapping import dedupe
from conveyor.mapping.dedupe import partition_of
from conveyor.mapping.spec import DedupeSpec

__all__ = ["MAX_PARTS", "PART_BYTES", "Spill", "ipc_rows", "partitions", "slices"]

PART_BYTES = 256 * 1024 * 1024
MAX_PARTS = 256
_PART_COL = "__conveyor_part"


@dataclass
class Spill:
    """Mapped rows on disk, in parts by key (see :func:`partitions`), each in file order."""

    folder: Path
    parts: dict[int, list[Path]] = field(default_factory=dict)
    late_rejects: list[pl.DataFrame] = field(default_factory=list)
    #: Put in file names after the part (a partition's number and a dash), so that the files
    #: of several partitions in one folder sort in stream order: (part, partition, batch).
    tag: str = ""

    @classmethod
    def create(cls, parent: Path | None = None) -> Spill:
        """A new, empty spill in a folder of its own under ``parent`` (default: the system's
        temporary folder; a partitioned import on a cluster needs one every worker sees)."""
        try:
            return cls(Path(tempfile.mkdtemp(prefix="conveyor-", dir=parent)))
        except OSError as exc:
            raise ConfigError(
                f"cannot create a spill folder in {parent or tempfile.gettempdir()}: "
                f"{exc.strerror}; set CONVEYOR_SPILL_DIR to a writable folder"
            ) from exc

    @property
    def files(self) -> list[Path]:
        return [f for part in sorted(self.parts) for f in self.parts[part]]

    def write(self, frame: pl.DataFrame, part: int, index: int) -> None:
        path = self.folder / f"mapped-{part:04d}-{self.tag}{index:06d}.arrow"
        frame.write_ipc(path)
        self.parts.setdefault(part, []).append(path)

    def write_parts(
        self,
        good: pl.DataFrame,
        index: int,
        key: Sequence[str],
        rules: DedupeSpec,
        source_size: int,
    ) -> None:
        """Spill a mapped batch, split by key into the file's parts."""
        count = partitions(source_size)
        if count == 1 or not key:
            self.write(good, 0, index)
            return
        part_of = partition_of(
            good.schema, key, count, trim=rules.trim, ignore_case=rules.ignore_case
        )
        marked = good.with_columns(part_of.alias(_PART_COL))
        for (part,), frame in marked.partition_by(_PART_COL, as_dict=True).items():
            self.write(frame.drop(_PART_COL), int(cast(int, part)), index)

    def dedupe_part(
        self, part: int, files: list[Path], key: Sequence[str], rules: DedupeSpec
    ) -> int:
        """Deduplicate one part (every row of a key is in one part) into its kept file;
        returns how many rows it dropped as duplicates (rejects go to ``late_rejects``)."""
        result = dedupe(
            pl.scan_ipc(files),
            key,
            rules.strategy,
            trim=rules.trim,
            ignore_case=rules.ignore_case,
        )
        kept_file = self.folder / f"deduplicated-{part:04d}.arrow"
        result.kept.sink_ipc(kept_file)
        rejected = result.rejected.collect()
        # Every mapped row is kept, rejected or dropped: counting from the files already
        # written saves a second pass over the keys.
        mapped = sum(ipc_rows(f) for f in files)
        if rejected.height:
            self.late_rejects.append(rejected)
        for file in files:
            file.unlink()
        self.parts[part] = [kept_file]
        return mapped - ipc_rows(kept_file) - rejected.height


def partitions(size: int) -> int:
    """How many parts to dedupe a file in: one per PART_BYTES of source, at most MAX_PARTS.

    The dedupe holds one part's keys in memory; a 5 GB file in 20 parts keeps that near what
    a 256 MB file needs.
    """
    return max(1, min(MAX_PARTS, -(-size // PART_BYTES)))


def slices(files: list[Path], rows: int, *, start: int = 0) -> Iterator[pl.DataFrame]:
    """The spilled rows in order, ``rows`` at a time, from row ``start`` of the whole stream."""
    skip = start
    for file in files:
        scan = pl.scan_ipc(file)
        total = ipc_rows(file)
        if skip >= total:
            skip -= total
            continue
        for offset in range(skip, total, rows):
            yield scan.slice(offset, rows).collect()
        skip = 0


def ipc_rows(file: Path) -> int:
    return int(pl.scan_ipc(file).select(pl.len()).collect().item())
