"""Where to cut a large file so that its pieces can be read and mapped in parallel.

A partition is a byte range that starts and ends at a record boundary, so that reading it
(after the header's bytes, for CSV) gives exactly the records a read of the whole file gives
there. Planning is one sequential pass over the bytes with ``bytes.count`` and ``bytes.find``:
cheap next to parsing. What the pass cannot prove is checked where it shows:

- CSV: an LF is a boundary when the quote characters since the header are even in number
  (RFC 4180 doubles a quote inside a quoted field). A stray quote in an unquoted field (which
  the ``csv`` module reads as a literal) flips that count; a cut then lands inside a quoted
  field, the partition before it ends in an open quote, its reader raises, and the import
  reads the file in one process instead (``conveyor.partitioned``). The header's bytes are
  checked by reading them alone through the CSV reader: its columns, and no record.
- NDJSON: any LF ends a record (JSON text holds no raw line break); cuts fall after a multiple
  of ``batch_size`` records (non-blank lines), because the JSON reader types each batch's
  columns from that batch's values, so the partitions' batches must be the single read's.
- Only ASCII-compatible encodings (a quote or LF byte is that character); UTF-16/32 CSV, JSON
  arrays and objects, XML and XLSX stay one partition, and the plan says why.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from conveyor.errors import ConveyorError
from conveyor.formats import SourceInfo, read_source

__all__ = ["CHUNK", "Partition", "PartitionPlan", "human_size", "line_ends", "plan_partitions"]

CHUNK = 8 << 20  # bytes looked at in one step of the planning pass
#: Encodings in which every byte below 0x80 is that ASCII character (canonical codec names).
_ASCII_COMPATIBLE = ("utf-8", "utf-8-sig", "cp1252", "iso8859-1", "ascii")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_BLANK_RUN = re.compile(rb"\n\n+")
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class Partition:
    """Bytes ``[start, end)`` of the file; ``first_line`` is the physical line ``start`` is on
    (1-based, LF, CR and CRLF each ending one, as the readers count)."""

    index: int
    start: int
    end: int
    first_line: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class PartitionPlan:
    """The partitions in file order; each is read after ``header_end`` bytes from the start of
    the file (CSV: through its header record; NDJSON: 0) that hold ``header_lines`` lines."""

    partitions: tuple[Partition, ...]
    header_end: int = 0
    header_lines: int = 0
    note: str | None = None  # why there are fewer partitions than asked, when there are

    def describe(self) -> str:
        """``3 partitions of 52.1 MB, 51.7 MB, 52.0 MB`` (for a log line)."""
        sizes = ", ".join(human_size(p.size) for p in self.partitions)
        count = len(self.partitions)
        head = f"{count} partition{'s' if count != 1 else ''} of {sizes}"
        return f"{head} ({self.note})" if self.note else head


def human_size(size: int) -> str:
    """``52.1 MB``: a byte count for people."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def plan_partitions(info: SourceInfo, count: int) -> PartitionPlan:
    """Cut the file described by ``info`` (its options resolved by its reader) into at most
    ``count`` partitions of about equal size; one partition, with a note, when it cannot be."""
    path = Path(info.path)
    size = path.stat().st_size
    whole = PartitionPlan((Partition(0, 0, size, 1),))
    if count < 2:
        return whole
    if info.format == "csv":
        return _plan_csv(info, count, size)
    if info.format == "json" and info.extra.get("shape") == "ndjson":
        return _plan_ndjson(path, info.options.batch_size, count, size)
    why = {
        "xlsx": "XLSX: calamine parses a whole sheet at once and types columns from the whole "
        "sheet, so a row range costs a full read in every worker",
        "xml": "XML: records are found by parsing, not by a byte scan",
        "json": "a JSON array or object is one document: only NDJSON splits at line ends",
    }
    return _one(whole, why.get(info.format, f"{info.format} files are not split"))


def _one(whole: PartitionPlan, note: str) -> PartitionPlan:
    return PartitionPlan(whole.partitions, note=f"one partition: {note}")


# -- CSV ----------------------------------------------------------------------------------


def _plan_csv(info: SourceInfo, count: int, size: int) -> PartitionPlan:
    path = Path(info.path)
    whole = PartitionPlan((Partition(0, 0, size, 1),))
    encoding = info.encoding or info.options.encoding or "utf-8"
    if codecs.lookup(encoding).name not in _ASCII_COMPATIBLE:
        return _one(whole, f"{encoding} is not an ASCII-compatible encoding")
    quote = info.options.quote_char
    if not quote.isascii():
        return _one(whole, f"the quote character {quote!r} is not ASCII")
    with path.open("rb") as fh:
        header_end = _csv_header_end(fh, quote.encode("ascii"), info.options.header_row)
        if header_end is None or header_end >= size:
            return _one(whole, "no record follows the header")
        if not _header_reads_alone(info, fh, header_end):
            return _one(whole, "the header's bytes do not read as the header alone")
        fh.seek(0)
        header_lines = line_ends(fh.read(header_end))
        targets = [header_end + (size - header_end) * i // count for i in range(1, count)]
        cuts = _csv_cuts(fh, quote.encode("ascii"), header_end, targets)
    return _plan_from_cuts(path, [header_end, *cuts, size], header_end, header_lines, count)


def _csv_header_end(fh: BinaryIO, quote: bytes, header_row: int) -> int | None:
    """The byte after the header record: ``header_row - 1`` lines skipped, then blank lines,
    then one record to its first LF with an even count of quotes (None: the file ends first)."""
    data = b""
    want = 1 << 16
    while True:
        fh.seek(0)
        data = fh.read(want)
        end = _header_end_in(data, quote, header_row)
        if end is not None or len(data) < want:
            return end
        want *= 4


def _header_end_in(data: bytes, quote: bytes, header_row: int) -> int | None:
    pos = len(_BOM) if data.startswith(_BOM) else 0
    for _ in range(header_row - 1):
        found = _LINE_END.search(data, pos)
        if found is None:
            return None
        pos = found.end()
    while (blank := _LINE_END.match(data, pos)) is not None:
        pos = blank.end()
    quotes = 0
    while (lf := data.find(b"\n", pos)) >= 0:
        quotes += data.count(quote, pos, lf)
        pos = lf + 1
        if quotes % 2 == 0:
            return pos
    return None


def _header_reads_alone(info: SourceInfo, fh: BinaryIO, header_end: int) -> bool:
    """Read the header's bytes as a file of their own: the same columns and no record."""
    fh.seek(0)
    head = fh.read(header_end)
    with tempfile.TemporaryDirectory(prefix="conveyor-plan-") as folder:
        alone = Path(folder) / f"header{Path(info.path).suffix}"
        alone.write_bytes(head)
        try:
            read = read_source(alone, info.options)
            return read.info.columns == info.columns and next(read.batches, None) is None
        except ConveyorError:
            return False


def _csv_cuts(fh: BinaryIO, quote: bytes, start: int, targets: list[int]) -> list[int]:
    """For each target, the first LF at or after it with an even count of quotes since
    ``start``: one pass, counting quotes chunk by chunk."""
    cuts: list[int] = []
    pending = iter(targets)
    target = next(pending, None)
    quotes = 0  # quote bytes in [start, offset)
    for offset, chunk in _chunks(fh, start):
        pos = 0  # quotes counted in chunk[:pos]
        while target is not None:
            at = max(target - offset, pos)
            lf = chunk.find(b"\n", at)
            if lf < 0:
                break
            quotes += chunk.count(quote, pos, lf)
            pos = lf + 1
            if quotes % 2 == 0:
                cuts.append(offset + pos)
                target = next(pending, None)
                while target is not None and target < offset + pos:
                    target = next(pending, None)
        quotes += chunk.count(quote, pos)
        if target is None:
            break
    return cuts


# -- NDJSON -------------------------------------------------------------------------------


def _plan_ndjson(path: Path, batch_size: int, count: int, size: int) -> PartitionPlan:
    """Cut after whole batches of records (non-blank lines), with records after the cut."""
    targets = [size * i // count for i in range(1, count)]
    candidates: list[tuple[int, int]] = []  # (cut, records before it)
    records = 0
    pending = iter(targets)
    target = next(pending, None)
    with path.open("rb") as fh:
        for offset, chunk in _chunks(fh, 0, whole_lines=True):
            body = chunk[len(_BOM) :] if offset == 0 and chunk.startswith(_BOM) else chunk
            if target is None or offset + len(chunk) <= target:
                records += _records_in(body)
                continue
            for end, blank in _lines(chunk, len(chunk) - len(body)):
                records += not blank
                at = offset + end
                if target is None or at < target or not records or records % batch_size:
                    continue
                candidates.append((at, records))
                while target is not None and target <= at:
                    target = next(pending, None)
    cuts = [at for at, before in candidates if before < records]
    plan = _plan_from_cuts(path, [0, *cuts, size], 0, 0, count)
    if len(plan.partitions) == 1 and records:
        return PartitionPlan(
            plan.partitions,
            note=f"one partition: {records:,} records fill fewer than two batches of "
            f"{batch_size:,} (NDJSON is cut between batches)",
        )
    return plan


def _records_in(lines: bytes) -> int:
    """Non-blank lines (blank: only spaces, tabs, CR) in whole lines, the last maybe open."""
    squeezed = lines.translate(None, b" \t\r")
    ends = squeezed.count(b"\n")
    blank = int(squeezed.startswith(b"\n"))
    if b"\n\n" in squeezed:
        blank += sum(len(run.group()) - 1 for run in _BLANK_RUN.finditer(squeezed))
    open_last = bool(squeezed) and not squeezed.endswith(b"\n")
    return ends - blank + int(open_last)


def _lines(chunk: bytes, pos: int) -> Iterator[tuple[int, bool]]:
    """(offset after each line, whether it is blank) for the lines of ``chunk`` from ``pos``."""
    while pos < len(chunk):
        lf = chunk.find(b"\n", pos)
        end = len(chunk) if lf < 0 else lf + 1
        yield end, not chunk[pos:end].strip(b" \t\r\n")
        pos = end


# -- shared -------------------------------------------------------------------------------


def _plan_from_cuts(
    path: Path, bounds: list[int], header_end: int, header_lines: int, count: int
) -> PartitionPlan:
    """Partitions between consecutive distinct bounds, each with the line it starts on."""
    bounds = sorted(set(bounds))
    partitions: list[Partition] = []
    lines = header_lines
    with path.open("rb") as fh:
        previous = bounds[0]
        for index, (start, end) in enumerate(pairwise(bounds)):
            lines += _line_ends_between(fh, previous, start)
            partitions.append(Partition(index, start, end, lines + 1))
            previous = start
    note = None
    if len(partitions) < count:
        note = f"{len(partitions)} of {count} asked: no record boundary near the other cuts"
    if len(partitions) == 1:
        note = "one partition: no record boundary (a line break outside quotes) to cut at"
    return PartitionPlan(tuple(partitions), header_end, header_lines, note)


def _line_ends_between(fh: BinaryIO, start: int, end: int) -> int:
    """Line ends in bytes [start, end); a cut never falls inside a CRLF (it follows an LF)."""
    total = 0
    fh.seek(start)
    while start < end:
        chunk = fh.read(min(CHUNK, end - start))
        if not chunk:
            break
        while chunk.endswith(b"\r") and start + len(chunk) < end and (more := fh.read(1)):
            chunk += more  # a CRLF is never cut in two
        total += line_ends(chunk)
        start += len(chunk)
    return total


def line_ends(data: bytes) -> int:
    """Physical line ends in ``data``: LF, CR and CRLF each count one."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _chunks(fh: BinaryIO, start: int, *, whole_lines: bool = False) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) from ``start`` to the end, ``CHUNK`` at a time; with ``whole_lines``
    each chunk ends after an LF (or at the end of the file)."""
    fh.seek(start)
    offset, carry = start, b""
    while True:
        data = fh.read(CHUNK)
        chunk = carry + data
        if not data:
            if chunk:
                yield offset, chunk
            return
        cut = len(chunk)
        if whole_lines and (lf := chunk.rfind(b"\n")) >= 0:
            cut = lf + 1
        yield offset, chunk[:cut]
        offset, carry = offset + cut, chunk[cut:]
