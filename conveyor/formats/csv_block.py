"""One block of a CSV file through Polars' parser, where a scan of its bytes shows that is exact.

The scan looks at every quote, delimiter, CR and LF byte of the block at once (vectorised
Polars operations). Quote parity gives each record's end (an LF outside quotes), its physical
line (LF, CRLF and CR inside quotes each end one), its number of fields (delimiters outside
quotes) and its quotes. It also finds the first byte where the block is not *standard*, the
form in which Polars and the ``csv`` module (``strict=False``) split records and fields alike:

- a quote opens a field (after a delimiter, an LF or the block start), closes one (before a
  delimiter, a CR, an LF or the end of the file) or is doubled inside a quoted field;
- a CR outside quotes is followed by an LF.

The records before that byte are read here. Blank records and records of another width than
the header's (ragged ones, a lone ``""``) are parsed by the ``csv`` module alone, from their own
bytes (exact: their bounds are known), and become rejects or are skipped as the csv path does.
Polars gets the others; its values must hold each record's bytes less the delimiters, line
ending and quoting, and a record that fails that check is parsed by the ``csv`` module too.
Records whose values neither can give here (bytes that are not UTF-8, a field over
``csv.field_size_limit()``) are left to the caller's csv module reading, which reports them as
the csv path does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from conveyor.formats import csv as csv_path
from conveyor.schema import ROW_COL

__all__ = ["Piece", "Record", "read_block"]

_LF, _CR = 10, 13
Record = tuple[int, list[str]]  # (line, fields) of a record the csv module parsed


@dataclass
class Piece:
    """Consecutive records: good ones in ``data``, rejects by their index among all records."""

    data: pl.DataFrame  # the columns as text and __row
    bad: list[tuple[int, Record]]  # (index among the piece's records, record)
    ends: list[int]  # byte offset after each record, from the start of the block


class NotStandard(Exception):
    """These records must be read by the csv module from the file, for its errors."""


def empty_piece(columns: list[str]) -> Piece:
    return Piece(csv_path._batch(columns, [], [], [], 0).data, [], [])


def read_block(
    plan: csv_path._Plan, columns: list[str], block: bytes, at_eof: bool, first_line: int
) -> tuple[Piece, int, int, int | None]:
    """Read the standard records at the start of ``block`` (which starts a record).

    Returns the piece, the bytes and line endings it covers, and the line that holds the first
    byte the csv module must read (None when the whole block was read). ``block`` ends with
    an LF unless ``at_eof``.
    """
    table, delimiters = _scan(block, at_eof, plan)
    ends = table.filter("end")["pos"]
    cut = len(block) if at_eof else (int(ends[-1]) + 1 if len(ends) else 0)
    problems = table.filter(pl.col("problem") & (pl.col("pos") < cut))["pos"]
    problem = int(problems[0]) if len(problems) else None
    if problem is None and at_eof and table["quote"].sum() % 2:
        problem = len(block) - 1  # a quote never closed: the csv module says what it makes of it
    if problem is not None:
        before = ends.filter(ends < problem)
        cut = int(before[-1]) + 1 if len(before) else 0
    elif cut == 0:
        problem = 0  # no record ends in the block: one is longer than the block
    problem_line = None
    if problem is not None:
        problem_line = first_line + int(table.filter(pl.col("pos") < problem)["eol"].sum())
    if cut == 0:
        return empty_piece(columns), 0, 0, problem_line
    if cut < len(block):
        table = table.filter(pl.col("pos") < cut)
    unterminated, lines = at_eof and cut == len(block), int(table["eol"].sum())
    reader = _Reader(plan, columns, block[:cut], unterminated, first_line)
    try:
        piece = reader.piece(_records(table, cut, unterminated, first_line, delimiters))
    except NotStandard:  # the csv module reads these records
        return empty_piece(columns), 0, 0, first_line + max(lines - 1, 0)
    return piece, cut, lines, problem_line


def _scan(data: bytes, at_eof: bool, plan: csv_path._Plan) -> tuple[pl.DataFrame, int]:
    """One row per quote, CR and LF byte with what it is there; the delimiters outside quotes.

    Each row also counts the delimiters outside quotes before it (``odelim``), so that every
    record's number of fields is known without asking Polars.
    """
    quote, delim, last = ord(plan.quote_char), ord(plan.delimiter), len(data) - 1
    u8 = pl.Series([data], dtype=pl.Binary).cast(pl.List(pl.UInt8)).list.explode()
    b, out = pl.col("b"), pl.col("out")
    is_quote, is_cr = b == quote, b == _CR
    marks = (
        pl.DataFrame({"b": u8})
        .lazy()
        .with_row_index("pos")
        .filter(is_quote | (b == _LF) | is_cr | (b == delim))
        .with_columns(quote=is_quote, out=(_running(is_quote) % 2 == 1) == is_quote)
        .with_columns(odelim=_running((b == delim) & out))
        .collect()
    )
    delimiters = int(marks["odelim"][-1]) if marks.height else 0
    table = marks.filter(b != delim)
    prev, nxt = _neighbours(u8, table["pos"])
    final = pl.col("pos") == last
    closes = (final & at_eof) | (~final & _among(pl.col("next"), delim, _LF, _CR, quote))
    after = _among(pl.col("prev"), delim, _LF, quote)
    table = (
        table.with_columns(prev=prev, next=nxt)
        .lazy()
        .with_columns(
            opener=is_quote & out & (pl.col("prev") != quote),
            end=(b == _LF) & out,
            crlf=(b == _LF) & out & (pl.col("prev") == _CR),
            eol=(b == _LF) | (is_cr & (pl.col("next") != _LF)),
            problem=(is_quote & out & ~after)
            | (is_quote & ~out & ~closes)
            | (is_cr & out & (pl.col("next") != _LF)),
        )
        .drop("b", "prev", "next", "out")
        .collect()
    )
    return table, delimiters


def _neighbours(u8: pl.Series, pos: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The bytes before and after ``pos``: an LF before the first byte, a NUL after the last."""
    head = int(len(pos) > 0 and pos[0] == 0)
    tail = int(len(pos) > 0 and pos[-1] == len(u8) - 1)
    prev = u8.gather(pos.slice(head) - 1)
    nxt = u8.gather(pos.slice(0, len(pos) - tail) + 1)
    if head:
        prev = pl.concat([pl.Series([_LF], dtype=pl.UInt8), prev])
    if tail:
        nxt = pl.concat([nxt, pl.Series([0], dtype=pl.UInt8)])
    return prev, nxt


def _running(flag: pl.Expr) -> pl.Expr:
    """How many rows so far (this one included) have ``flag`` set: a faster cum_sum."""
    return pl.when(flag).then(True).cum_count()


def _among(expr: pl.Expr, *codes: int) -> pl.Expr:
    found = expr == codes[0]
    for code in codes[1:]:
        found = found | (expr == code)
    return found


def _records(
    table: pl.DataFrame, size: int, unterminated: bool, first_line: int, delimiters: int
) -> pl.DataFrame:
    """One row per record of the scanned bytes: index, bounds, line and counts.

    ``delimiters`` is the number of delimiters outside quotes in the scanned bytes.
    """
    summed = ["eol", "quote", "opener"]
    counts = ["odelim", *summed]
    cums = table.lazy().select(
        "pos", "end", "crlf", "odelim", *(_running(pl.col(c)).alias(c) for c in summed)
    )
    ends = cums.filter("end").drop("end").with_columns(lf_end=pl.lit(True)).collect()
    if unterminated and (ends.is_empty() or ends["pos"][-1] != size - 1):
        totals = cums.select(
            pl.lit(size, pl.UInt32).alias("pos"), *(pl.col(c).last() for c in summed)
        )
        last = totals.fill_null(0).with_columns(
            odelim=pl.lit(delimiters), crlf=pl.lit(False), lf_end=pl.lit(False)
        )
        ends = pl.concat([ends, last.select(ends.columns).cast(ends.schema).collect()])
    return (
        ends.lazy()
        .with_columns(pl.exclude("pos").cast(pl.Int64))
        .with_row_index("index")
        .with_columns(
            start=(pl.col("pos").shift(1).cast(pl.Int64) + 1).fill_null(0),
            stop=pl.col("pos").cast(pl.Int64) + pl.col("lf_end"),
            line=first_line + pl.col("eol").shift(1).fill_null(0),
        )
        .with_columns(pl.col(c).diff().fill_null(pl.col(c)) for c in counts)
        .with_columns(content=pl.col("stop") - pl.col("lf_end") - pl.col("crlf") - pl.col("start"))
        .collect()
    )


@dataclass
class _Reader:
    plan: csv_path._Plan
    columns: list[str]
    data: bytes  # whole records, starting at a record
    unterminated: bool  # the last record has no line ending (end of file)
    first_line: int

    def piece(self, records: pl.DataFrame) -> Piece:
        """The records: Polars' rows that fit, the csv module's answer for the others."""
        width = len(self.columns)
        # Blank records and those of another width (a lone "" among them) go to the csv module.
        odd = (pl.col("content") == 0) | (pl.col("odelim") != width - 1)
        records = records.with_columns(odd=odd)
        good = records.filter(~pl.col("odd"))
        frame = self._polars(good, records.filter("odd"))
        misfits = self._misfits(frame, good)
        if misfits is not None:
            frame = frame.filter(~misfits)
            records = records.with_columns(
                odd=pl.col("odd") | pl.col("index").is_in(good.filter(misfits)["index"].to_list())
            )
        rejects, skipped, parsed = self._parse_others(records.filter("odd"))
        if parsed.height:
            frame = pl.concat([frame, parsed]).sort(ROW_COL)
        ends = records.filter(~pl.col("index").is_in(skipped))["stop"].to_list()
        return Piece(frame, rejects, ends)

    def _misfits(self, frame: pl.DataFrame, good: pl.DataFrame) -> pl.Series | None:
        """Which of Polars' rows do not hold their record's bytes less delimiters and quoting.

        Every record given to Polars is standard and has the header's number of fields, so
        none should: this checks Polars' values (it drops a BOM at the start of its input).
        """
        width, values = len(self.columns), pl.nth(*range(len(self.columns))).str.len_bytes()
        doubled = (pl.col("quote") - 2 * pl.col("opener")) // 2  # each stands for one quote
        expected = good.select(pl.col("content") - (width - 1) - pl.col("quote") + doubled)
        held = frame.select(pl.sum_horizontal(values)).to_series()
        misfits = held != expected.to_series()
        return misfits if misfits.any() else None

    def _parse_others(
        self, others: pl.DataFrame
    ) -> tuple[list[tuple[int, Record]], list[int], pl.DataFrame]:
        """The records Polars was not given or got wrong, through the csv module.

        Returns the rejects, the indexes of the records skipped (blank, or a lone ``""``)
        and the good records as rows.
        """
        width = len(self.columns)
        rejects: list[tuple[int, Record]] = []
        skipped: list[int] = []
        good: list[list[str]] = []
        lines: list[int] = []
        for index, start, stop, line in others.select("index", "start", "stop", "line").iter_rows():
            try:
                record = next(self._csv(self.data[start:stop].decode("utf-8")), [])
            except (UnicodeDecodeError, csv.Error):
                raise NotStandard from None  # the csv module reports it, with the csv path's words
            if not record or (width > 1 and record == [""]):
                skipped.append(index)
            elif len(record) == width:
                good.append(record)
                lines.append(line)
            else:
                rejects.append((index - len(skipped), (line, record)))
        return rejects, skipped, csv_path._batch(self.columns, good, lines, [], 0).data

    def _csv(self, text: str) -> Iterator[list[str]]:
        return csv.reader(
            io.StringIO(text, newline=""),
            delimiter=self.plan.delimiter,
            quotechar=self.plan.quote_char,
            strict=False,
        )

    def _polars(self, good: pl.DataFrame, odd: pl.DataFrame) -> pl.DataFrame:
        """Polars' parse of the ``good`` records, with __row."""
        if good.is_empty():
            return empty_piece(self.columns).data
        try:
            frame = pl.read_csv(
                self._without(odd),
                has_header=False,
                schema=dict.fromkeys(self.columns, pl.String),
                separator=self.plan.delimiter,
                quote_char=self.plan.quote_char,
                empty_string_is_null=False,
                raise_if_empty=False,
                truncate_ragged_lines=False,
                encoding="utf8",
            )
        except pl.exceptions.PolarsError:
            raise NotStandard from None
        longest = frame.select(
            pl.max_horizontal(pl.nth(*range(len(self.columns))).str.len_bytes().max())
        )
        if frame.height != good.height or (longest.item() or 0) > csv.field_size_limit():
            raise NotStandard  # a field over the limit: the csv module raises its error
        return frame.with_columns(good["line"].alias(ROW_COL))

    def _without(self, odd: pl.DataFrame) -> bytes:
        """The data less the ``odd`` records."""
        if odd.is_empty():
            return self.data
        parts, previous = [], 0
        for start, stop in odd.select("start", "stop").iter_rows():
            parts.append(self.data[previous:start])
            previous = stop
        parts.append(self.data[previous:])
        return b"".join(parts)
