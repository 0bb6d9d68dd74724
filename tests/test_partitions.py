"""Planning partitions: cuts at record boundaries, so that the partitions read as the file does.

Each plan is checked against the readers themselves: every partition is read as a worker reads
it (the header's bytes, then its own; NDJSON after blank lines up to its first line) and the
records and row numbers, put together, must be the whole file's.
"""

from __future__ import annotations

import codecs
import json
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest

from conveyor.formats import SourceInfo, SourceOptions, read_source
from conveyor.partitions import PartitionPlan, line_ends, plan_partitions
from conveyor.schema import ROW_COL


def _info(path: Path, **options: object) -> SourceInfo:
    return read_source(path, SourceOptions.model_validate(options)).info


def _records(path: Path, options: SourceOptions, shift: int = 0) -> list[str]:
    """Every record the reader gives (rows and its rejects), with its row number."""
    out: list[str] = []
    for batch in read_source(path, options).batches:
        frames = [batch.data] + ([batch.rejects] if batch.rejects is not None else [])
        for frame in frames:
            moved = frame.with_columns(pl.col(ROW_COL) + shift)
            out.extend(repr(sorted(row.items())) for row in moved.to_dicts())
    return out


def _read_partitions(info: SourceInfo, plan: PartitionPlan, folder: Path) -> list[str]:
    """Every partition read as a worker reads it, rows moved to the file's line numbers."""
    data = Path(info.path).read_bytes()
    ndjson = info.format == "json"
    found: list[str] = []
    for p in plan.partitions:
        pad = p.first_line - 1 if ndjson else 0
        piece = folder / f"piece-{p.index}{'.ndjson' if ndjson else Path(info.path).suffix}"
        piece.write_bytes(data[: plan.header_end] + b"\n" * pad + data[p.start : p.end])
        shift = p.first_line - plan.header_lines - 1 - pad
        found += _records(piece, info.options, shift)
    return found


def _check(info: SourceInfo, plan: PartitionPlan, folder: Path) -> None:
    """The partitions cover the data contiguously and read as the whole file does."""
    size = Path(info.path).stat().st_size
    parts = plan.partitions
    assert parts[0].start == plan.header_end and parts[-1].end == size
    assert all(a.end == b.start for a, b in pairwise(parts))
    data = Path(info.path).read_bytes()
    for p in parts:
        assert p.first_line == line_ends(data[: p.start]) + 1
    whole = _records(Path(info.path), info.options)
    assert whole, "the file should hold records"
    assert sorted(_read_partitions(info, plan, folder)) == sorted(whole)


def _quoted_csv(path: Path, rows: int, newline: str = "\n") -> None:
    """Records whose quoted fields hold line breaks, doubled quotes and delimiters, and take
    most of the bytes, so that planned cuts land inside quotes."""
    lines = ["id,note,city"]
    for i in range(rows):
        note = f'"line one of {i}{newline}she said ""hi, {i}""{newline}{"x" * (i % 40)}"'
        lines.append(f"{i},{note},City {i % 7}")
        if i % 17 == 0:
            lines.append("")  # a blank line: skipped by the reader
        if i % 29 == 0:
            lines.append(f"{i},ragged")  # a reader reject
    path.write_bytes(newline.join(lines).encode() + newline.encode())


def test_cuts_skip_quoted_newlines_that_straddle_a_planned_split(tmp_path: Path) -> None:
    source = tmp_path / "quoted.csv"
    _quoted_csv(source, 400)
    info = _info(source)
    plan = plan_partitions(info, 4)
    assert len(plan.partitions) == 4 and plan.note is None
    data = source.read_bytes()
    size = len(data) - plan.header_end
    targets = [plan.header_end + size * i // 4 for i in range(1, 4)]
    naive = [data.index(b"\n", t) + 1 for t in targets]  # the first LF, quoted or not
    cuts = [p.start for p in plan.partitions[1:]]
    assert cuts != naive, "no planned split fell inside a quoted field: the test proves nothing"
    assert all(c >= t for c, t in zip(cuts, targets, strict=True))
    _check(info, plan, tmp_path)


def test_crlf_and_lone_cr_inside_quotes_count_lines_like_the_reader(tmp_path: Path) -> None:
    source = tmp_path / "crlf.csv"
    _quoted_csv(source, 300, newline="\r\n")
    data = source.read_bytes().replace(b"line one", b"a lone\rCR, then line one")
    source.write_bytes(data)
    info = _info(source)
    plan = plan_partitions(info, 3)
    assert len(plan.partitions) == 3
    assert all(p.first_line > 1 for p in plan.partitions)
    _check(info, plan, tmp_path)


def test_a_file_smaller_than_the_partitions_asked(tmp_path: Path) -> None:
    source = tmp_path / "small.csv"
    source.write_text("id,name\n1,Ann\n2,Bob\n")
    info = _info(source)
    plan = plan_partitions(info, 8)
    assert 1 <= len(plan.partitions) <= 2
    assert plan.note is not None and "8" in plan.note
    _check(info, plan, tmp_path)
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,name\n")
    plan = plan_partitions(_info(header_only), 4)
    assert len(plan.partitions) == 1 and "no record follows the header" in (plan.note or "")


def test_a_single_huge_record_stays_one_partition(tmp_path: Path) -> None:
    source = tmp_path / "huge.csv"
    body = "\n".join(f'line {i} with a "" quote' for i in range(40_000))
    source.write_text(f'id,text\n1,"{body}"\n')
    info = _info(source)
    plan = plan_partitions(info, 4)
    assert len(plan.partitions) == 1
    assert plan.note is not None and plan.note.startswith("one partition")
    _check(info, plan, tmp_path)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_bom_and_8_bit_files_split_after_the_header(tmp_path: Path, encoding: str) -> None:
    source = tmp_path / f"{encoding}.csv"
    rows = [f'{i};"Zoë {i}";"a;b\n{i}"' for i in range(600)]
    source.write_bytes("\n".join(["id;name;note", *rows, ""]).encode(encoding))
    info = _info(source)
    assert (info.extra.get("bom") is True) == (encoding == "utf-8-sig")
    plan = plan_partitions(info, 3)
    assert len(plan.partitions) == 3
    assert plan.partitions[0].start == len(codecs.BOM_UTF8) * (encoding == "utf-8-sig") + 13
    _check(info, plan, tmp_path)


def test_header_row_below_a_preamble(tmp_path: Path) -> None:
    source = tmp_path / "preamble.csv"
    rows = [f'{i},"v\n{i}"' for i in range(300)]
    source.write_text('Exported "today\n\nid,value\n' + "\n".join(rows) + "\n")
    info = _info(source, header_row=3)
    plan = plan_partitions(info, 3)
    assert len(plan.partitions) == 3 and plan.header_lines == 3
    _check(info, plan, tmp_path)


def test_utf16_falls_back_to_one_partition_and_says_why(tmp_path: Path) -> None:
    source = tmp_path / "wide.csv"
    source.write_bytes(("id,name\n" + "".join(f"{i},N{i}\n" for i in range(500))).encode("utf-16"))
    info = _info(source)
    plan = plan_partitions(info, 4)
    assert len(plan.partitions) == 1
    assert plan.note is not None and "utf-16" in plan.note and "ASCII" in plan.note


def test_json_arrays_and_xml_stay_one_partition(tmp_path: Path) -> None:
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"id": i} for i in range(100)]))
    plan = plan_partitions(_info(array), 4)
    assert len(plan.partitions) == 1 and "NDJSON" in (plan.note or "")
    xml = tmp_path / "data.xml"
    xml.write_text("<rows>" + "".join(f"<row><id>{i}</id></row>" for i in range(50)) + "</rows>")
    plan = plan_partitions(_info(xml, record_path="/rows/row"), 4)
    assert len(plan.partitions) == 1 and "XML" in (plan.note or "")


def _ndjson(path: Path, rows: int) -> None:
    lines = []
    for i in range(rows):
        if i % 13 == 0:
            lines.append("  \t")  # blank: not a record
        if i % 31 == 0:
            lines.append("[1, 2]")  # a record the reader rejects
        lines.append(json.dumps({"id": i, "age": "x" if i % 97 == 0 else i % 90}))
    path.write_bytes(codecs.BOM_UTF8 + "\n".join(lines).encode() + b"\n\n")


def test_ndjson_cuts_between_whole_batches_of_records(tmp_path: Path) -> None:
    source = tmp_path / "data.ndjson"
    _ndjson(source, 1000)
    info = _info(source, batch_size=64)
    plan = plan_partitions(info, 4)
    assert len(plan.partitions) == 4
    data = source.read_bytes()
    for p in plan.partitions[1:]:
        before = [ln for ln in data[: p.start].split(b"\n") if ln.strip(b" \t\r\n\xef\xbb\xbf")]
        assert len(before) % 64 == 0
    _check(info, plan, tmp_path)


def test_ndjson_with_fewer_records_than_two_batches_stays_whole(tmp_path: Path) -> None:
    source = tmp_path / "few.ndjson"
    _ndjson(source, 100)
    plan = plan_partitions(_info(source), 4)
    assert len(plan.partitions) == 1
    assert plan.note is not None and "fewer than two batches of 50,000" in plan.note
