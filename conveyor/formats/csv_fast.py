"""Fast path of the CSV reader: Polars' parser where it provably gives what the csv path gives.

Why: the ``csv`` module plus frames built from Python lists reads about 85,000 rows/s; Polars'
reader parses the same bytes an order of magnitude faster. The two disagree on odd input (bare
quotes inside a field, CR-only line endings, blank and ragged lines), so Polars only gets bytes
shown to be in a form where both split records and fields alike (``csv_block``).

How: from the first record after the header, the file is read in blocks of ``BLOCK`` bytes cut
after their last LF; ``csv_block`` reads the records of each block up to the first byte that is
not standard. From the record that holds such a byte (a bare quote, a lone CR, an unclosed
quote, bytes that are not UTF-8, a field over ``csv.field_size_limit()``, a record longer than a
block), the ``csv`` module reads exact lines, with the csv path's error messages and line
numbers, until past it; then blocks resume, smaller for a while (down to ``MIN_BLOCK``) so that
problems a few records apart do not cost a scan of a whole block each. Problems closer together
than ``MIN_BLOCK``, ``MAX_FAILURES`` times in a row, hand the next ``CSV_STRETCH`` bytes to the
``csv`` module (cheaper there) before blocks are tried again. Batches hold exactly
``batch_size`` records, as the csv path's do.

It applies to UTF-8 files (with or without a BOM) whose delimiter and quote character are
ASCII; ``CONVEYOR_CSV_FAST=0`` turns it off.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import polars as pl

from conveyor.errors import SourceError
from conveyor.formats import csv as csv_path
from conveyor.formats.base import Batch
from conveyor.formats.csv_block import Piece, Record, read_block
from conveyor.formats.csv_detect import codec_family

__all__ = ["BLOCK", "CSV_STRETCH", "MAX_FAILURES", "MIN_BLOCK", "applies", "batches"]

BLOCK = 8 << 20  # bytes read at once; a whole read peaks near 200 MB RSS, whatever the size
MIN_BLOCK = 512 << 10  # the smallest block; problems closer than this cost more than they save
MAX_FAILURES = 3  # problems in a row closer than MIN_BLOCK before the csv module reads on
CSV_STRETCH = 16 << 20  # bytes the csv module then reads before blocks are tried again
_LINE_END = re.compile(rb"\r\n|\r|\n")


def applies(plan: csv_path._Plan) -> bool:
    """Whether the fast path can read this file: UTF-8, ASCII delimiter and quote, not disabled."""
    return (
        os.environ.get("CONVEYOR_CSV_FAST", "1") != "0"
        and codec_family(plan.encoding.codec) == "utf-8"
        and plan.delimiter.isascii()
        and plan.quote_char.isascii()
    )


def batches(plan: csv_path._Plan, columns: list[str], batch_size: int) -> Iterator[Batch]:
    """The csv path's records, in its order and batches, with a faster parser where exact."""
    with plan.path.open("rb") as fh:
        start = _data_start(plan, fh)
        if start is None:
            return
        offset, line = start
        batcher = _Batcher(columns, batch_size)
        failures, size = 0, BLOCK
        while block := _read(fh, offset, size):
            at_eof = len(block) < size
            if not at_eof and (last_lf := block.rfind(b"\n")) >= 0:
                block = block[: last_lf + 1]  # else a record outgrows the block
            piece, used, lines, problem = read_block(plan, columns, block, at_eof, line)
            yield from batcher.add(piece, offset)
            offset, line = offset + used, line + lines
            if problem is None:
                failures, size = 0, min(BLOCK, 2 * size)
                continue
            # The next block is twice what was read before the problem, so that problems a few
            # records apart do not each cost the scan of a whole block. Problems less than
            # MIN_BLOCK apart, MAX_FAILURES times in a row, give CSV_STRETCH to the csv module.
            failures = failures + 1 if used < MIN_BLOCK else 0
            size, stretch = max(MIN_BLOCK, min(BLOCK, 2 * used)), 0
            if failures == MAX_FAILURES:
                failures, stretch = 0, CSV_STRETCH
            before = offset
            offset, line = yield from _region(plan, batcher, fh, (offset, line), problem, stretch)
            if offset <= before:  # cannot happen; never loop for ever if it does
                raise SourceError(
                    plan.path,
                    f"the fast CSV reader stopped at byte {offset}; read the file with "
                    "CONVEYOR_CSV_FAST=0 in the environment, and report the file",
                )
        yield from batcher.flush()


def _read(fh: io.BufferedReader, offset: int, size: int) -> bytes:
    fh.seek(offset)
    return fh.read(size)


def _data_start(plan: csv_path._Plan, fh: io.BufferedReader) -> tuple[int, int] | None:
    """Byte offset and line of the first record after the header (None: there is none)."""
    line = None
    with csv_path._records(plan) as (_, records):
        header_seen = False
        for start, record in records:
            if header_seen:
                line = start
                break
            header_seen = bool(record)
    if line is None:
        return None
    return _after_lines(fh, plan.encoding.skip, line - 1), line


def _after_lines(fh: io.BufferedReader, offset: int, count: int) -> int:
    """The byte offset after ``count`` line endings (CR, LF or CRLF each one) from ``offset``."""
    fh.seek(offset)
    while count > 0 and (chunk := fh.read(1 << 20)):
        while chunk.endswith(b"\r") and (more := fh.read(1)):
            chunk += more  # a CRLF is never cut in two
        ends = chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        if ends < count:
            count, offset = count - ends, offset + len(chunk)
            continue
        for match in _LINE_END.finditer(chunk):
            count -= 1
            if count == 0:
                return offset + match.end()
    return offset


def _region(
    plan: csv_path._Plan,
    batcher: _Batcher,
    fh: io.BufferedReader,
    at: tuple[int, int],
    last_line: int,
    stretch: int,
) -> Generator[Batch, None, tuple[int, int]]:
    """The csv module's records from ``at`` (offset, line) on.

    Reads until a record starts after ``last_line`` and at least ``stretch`` bytes were read
    (or to the end of the file), hands the records to ``batcher`` a batch's worth at a time and
    returns the offset and line where the next record starts. Errors are the csv path's own:
    the decode error located from the file's start, the record's first line.
    """
    offset, line = at
    fh.seek(offset)
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")  # utf-8: a BOM is data here
    lines = itertools.chain(iter(text.readline, ""), [csv_path.END_MARK])
    reader = csv.reader(lines, delimiter=plan.delimiter, quotechar=plan.quote_char, strict=False)
    start, width, count = line, len(batcher.columns), 0
    good: list[Record] = []
    bad: list[tuple[int, Record]] = []
    try:
        while True:
            try:
                record = next(reader, None)
            except UnicodeDecodeError as exc:
                raise csv_path._decode_error(plan) from exc
            except csv.Error as exc:
                raise SourceError(plan.path, csv_path._csv_problem(start, exc)) from exc
            if record is None or csv_path.at_end(plan.path, start, record):  # open quote: raises
                break
            if record and (width == 1 or record != [""]):
                if len(record) == width:
                    good.append((start, record))
                else:
                    bad.append((count, (start, record)))
                count += 1
            start = line + reader.line_num
            if count >= batcher.size:
                yield from batcher.add(_piece(batcher.columns, good, bad, count, fh), 0)
                good, bad, count = [], [], 0
            if start > last_line and (not stretch or fh.tell() >= offset + stretch):
                break
    finally:
        text.detach()  # fh stays open
    yield from batcher.add(_piece(batcher.columns, good, bad, count, fh), 0)
    if record is None or record == [csv_path.END_MARK]:  # the end of the file
        return fh.seek(0, io.SEEK_END), start
    return _after_lines(fh, offset, start - line), start


def _piece(
    columns: list[str],
    good: list[Record],
    bad: list[tuple[int, Record]],
    count: int,
    fh: io.BufferedReader,
) -> Piece:
    """The csv module's records as a piece; their positions are the buffer's, as the csv path's."""
    data = csv_path._batch(columns, [r for _, r in good], [n for n, _ in good], [], 0).data
    return Piece(data, bad, [fh.tell()] * count)


class _Batcher:
    """Regroups pieces into batches of exactly ``size`` records (the last one smaller)."""

    def __init__(self, columns: list[str], size: int) -> None:
        self.columns, self.size = columns, size
        self.pieces: deque[_Cursor] = deque()
        self.pending = 0
        self.position = 0  # never goes back, though the csv module's positions run ahead

    def add(self, piece: Piece, base: int) -> Iterator[Batch]:
        if piece.ends:
            self.pieces.append(_Cursor(piece, base))
            self.pending += len(piece.ends)
        while self.pending >= self.size:
            yield self._take(self.size)

    def flush(self) -> Iterator[Batch]:
        if self.pending:
            yield self._take(self.pending)

    def _take(self, count: int) -> Batch:
        frames: list[pl.DataFrame] = []
        bad: list[Record] = []
        position = 0
        while count:
            cursor = self.pieces[0]
            taken = min(count, len(cursor.piece.ends) - cursor.next)
            position = cursor.take(taken, frames, bad)
            if cursor.next == len(cursor.piece.ends):
                self.pieces.popleft()
            count -= taken
            self.pending -= taken
        data = frames[0] if len(frames) == 1 else pl.concat(frames)
        rejects = csv_path._rejects(self.columns, bad) if bad else None
        self.position = max(self.position, position)
        return Batch(data=data, rejects=rejects, position=self.position)


@dataclass
class _Cursor:
    piece: Piece
    base: int  # added to the piece's end offsets
    next: int = 0  # next record
    good: int = 0  # next row of piece.data
    bad: int = 0  # next entry of piece.bad

    def take(self, count: int, frames: list[pl.DataFrame], bad: list[Record]) -> int:
        """Append the next ``count`` records; return the byte offset after them."""
        stop = self.next + count
        rejects = self.piece.bad
        first = self.bad
        while self.bad < len(rejects) and rejects[self.bad][0] < stop:
            self.bad += 1
        bad.extend(record for _, record in rejects[first : self.bad])
        good = count - (self.bad - first)
        frames.append(self.piece.data.slice(self.good, good))
        self.good += good
        self.next = stop
        return self.base + self.piece.ends[stop - 1]
