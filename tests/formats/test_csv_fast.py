"""The CSV fast path (csv_fast, csv_block) gives exactly what the csv path gives.

Most tests read a file both ways, ``CONVEYOR_CSV_FAST=0`` (the csv module alone) and the default,
and compare everything a caller sees: columns, the concatenated data and rejects (values, dtypes,
``__row``, order), how many records each batch holds and any error. Small ``BLOCK`` and
``MIN_BLOCK`` values make short files span many blocks, so block edges, the csv module's turns
after a record that is not standard and its longer stretches all happen here.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.errors import ConveyorError
from conveyor.formats import csv_fast
from conveyor.formats.base import SourceOptions
from conveyor.formats.csv import _plan, read
from tests.helpers import EXAMPLES, PEER, ROOT

SHIPPED = sorted(
    path
    for folder in (PEER, ROOT / "tests", EXAMPLES)
    for pattern in ("*.csv", "*.tsv")
    for path in folder.rglob(pattern)
)


@dataclass
class Outcome:
    """What reading a file gives a caller, in a form that compares."""

    columns: list[str]
    data: pl.DataFrame | None
    rejects: pl.DataFrame | None
    sizes: list[int]  # records (rows and rejects) per batch
    positions: list[int]
    error: str | None = None


def outcome(path: Path, fast: bool, **options: Any) -> Outcome:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVEYOR_CSV_FAST", "1" if fast else "0")
        try:
            result = read(path, SourceOptions(**options))
            batches = list(result.batches)
        except ConveyorError as exc:
            return Outcome([], None, None, [], [], error=str(exc))
    rejects = [b.rejects for b in batches if b.rejects is not None]
    return Outcome(
        columns=result.info.columns,
        data=pl.concat([b.data for b in batches]) if batches else None,
        rejects=pl.concat(rejects) if rejects else None,
        sizes=[b.data.height + (0 if b.rejects is None else b.rejects.height) for b in batches],
        positions=[b.position for b in batches],
    )


def assert_same(path: Path, **options: Any) -> Outcome:
    """Read ``path`` both ways; everything but ``Batch.position`` must be equal."""
    slow, fast = outcome(path, False, **options), outcome(path, True, **options)
    assert fast.error == slow.error
    assert fast.columns == slow.columns
    assert fast.sizes == slow.sizes
    for mine, theirs in ((fast.data, slow.data), (fast.rejects, slow.rejects)):
        assert (mine is None) == (theirs is None)
        if mine is not None and theirs is not None:
            assert mine.schema == theirs.schema
            assert mine.rows() == theirs.rows()
    return fast


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(csv_fast, "BLOCK", 64)
    monkeypatch.setattr(csv_fast, "MIN_BLOCK", 16)
    monkeypatch.setattr(csv_fast, "CSV_STRETCH", 100)
    yield


def write(tmp_path: Path, data: bytes, name: str = "src.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- every CSV the project ships or borrows -----------------------------------------------------


def test_the_shipped_csvs_are_found() -> None:
    assert len(SHIPPED) > 200  # peer suites, test fixtures and examples


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_every_shipped_csv_reads_the_same_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same(path)
    if "w3c-csvw" not in path.parts:  # 200 small files about metadata more than parsing
        monkeypatch.setattr(csv_fast, "BLOCK", 64)
        monkeypatch.setattr(csv_fast, "MIN_BLOCK", 16)
        monkeypatch.setattr(csv_fast, "CSV_STRETCH", 100)
        assert_same(path, batch_size=3)


# --- generated contacts: quoted commas, quoted line breaks, CRLF --------------------------------


@pytest.fixture(scope="module")
def contacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("contacts") / "contacts.csv"
    generator = ROOT / "bench" / "generate_contacts.py"
    command = [sys.executable, str(generator), "--rows", "3000", "--seed", "7", "--out", str(out)]
    subprocess.run(command, check=True)
    return out


@pytest.mark.parametrize(("block", "batch_size"), [(16 << 20, 50_000), (4096, 333)])
def test_generated_contacts_read_the_same_both_ways(
    contacts: Path, monkeypatch: pytest.MonkeyPatch, block: int, batch_size: int
) -> None:
    monkeypatch.setattr(csv_fast, "BLOCK", block)
    fast = assert_same(contacts, batch_size=batch_size)
    assert fast.data is not None and fast.data.height == 3000
    assert fast.data.filter(pl.col("Street").str.contains("\n")).height > 20
    assert fast.data["__row"][-1] > 3001  # line breaks in quotes push rows down


def test_positions_are_the_offsets_after_each_batch(contacts: Path) -> None:
    fast = outcome(contacts, True, batch_size=1000)
    body = contacts.read_bytes()
    assert fast.positions[-1] == len(body)
    for position in fast.positions:
        assert body[position - 2 : position] == b"\r\n"
    assert fast.positions == sorted(fast.positions)


# --- records the csv module reads, within and across blocks -------------------------------------


def test_ragged_blank_and_lone_quoted_records_amid_good_ones(
    tmp_path: Path, small_blocks: None
) -> None:
    body = b"a,b,c\n" + b"".join(
        b"%d,x,y\n" % i
        + (b"1,2\n" if i == 3 else b"")
        + (b"\n\r\n" if i == 5 else b"")
        + (b'""\n' if i == 7 else b"")
        + (b'4,"5\n6",7,8\n' if i == 9 else b"")
        for i in range(12)
    )
    fast = assert_same(write(tmp_path, body), batch_size=4)
    assert fast.rejects is not None
    assert fast.rejects.select("__row", "_error").rows() == [
        (6, "row has 2 fields but the header has 3; no values for: 'c'"),
        (16, "row has 4 fields but the header has 3; extra values: '8'"),
    ]
    assert fast.data is not None and fast.data["__row"].to_list()[-2:] == [18, 19]


@pytest.mark.parametrize(
    "odd",
    [
        b'5\'1",x"y,z\n',  # bare quotes inside unquoted fields
        b'"ab"cd,e,f\n',  # text after a closing quote
        b"p,q,r\rs,t,u\n",  # a CR alone ends a line
        b"\xef\xbb\xbfbom,at,start\n",  # a BOM Polars would drop at a block's start
        b'w,"' + b"long " * 40 + b'",v\n',  # longer than a block
    ],
)
def test_a_record_that_is_not_standard_mid_file(
    tmp_path: Path, small_blocks: None, odd: bytes
) -> None:
    rows = [b"%d,%d,%d\n" % (i, i, i) for i in range(40)]
    body = b"a,b,c\n" + b"".join(rows[:20]) + odd + b"".join(rows[20:])
    fast = assert_same(write(tmp_path, body), batch_size=7)
    assert fast.data is not None and fast.data["a"][-1] == "39"


def test_a_bom_opening_a_block_is_data(tmp_path: Path, small_blocks: None) -> None:
    body = b"a,b\n\xef\xbb\xbfx,1\n" + b"y,2\n" * 30  # Polars drops a BOM opening its input
    fast = assert_same(write(tmp_path, body))
    assert fast.data is not None and fast.data["a"][0] == "\ufeffx"


def test_line_endings_are_counted_across_reads(tmp_path: Path) -> None:
    body = b"a" * ((1 << 20) - 1) + b"\r\nb\rc\n"  # a CRLF across the 1 MiB reads
    with write(tmp_path, body).open("rb") as fh:
        assert [csv_fast._after_lines(fh, 0, n) for n in (1, 2, 3, 4)] == [
            (1 << 20) + 1,
            (1 << 20) + 3,
            (1 << 20) + 5,
            (1 << 20) + 5,
        ]


def test_problems_in_a_row_hand_stretches_to_the_csv_module(
    tmp_path: Path, small_blocks: None
) -> None:
    body = b"a,b\r" + b"".join(b'%d,"x\ry"\r' % i for i in range(200))  # CR line endings
    fast = assert_same(write(tmp_path, body))
    assert fast.data is not None and fast.data["__row"][-1] == 400


def test_header_row_and_blank_lines_before_the_data(tmp_path: Path, small_blocks: None) -> None:
    body = b'title "x\r\n\r\nid,name\r\n\r\n\r\n1,"A\r\nB"\r\n2,C\r\n'
    fast = assert_same(write(tmp_path, body), header_row=2)
    assert fast.data is not None and fast.data.rows() == [("1", "A\r\nB", 6), ("2", "C", 8)]


def test_column_names_that_read_as_patterns(tmp_path: Path) -> None:
    body = b'^a$,a.*,*\n1,"2,\n",3\n4,5,6\n7,8\n'
    fast = assert_same(write(tmp_path, body))
    assert fast.columns == ["^a$", "a.*", "*"]
    assert fast.data is not None and fast.data.rows() == [("1", "2,\n", "3", 2), ("4", "5", "6", 4)]


@pytest.mark.parametrize(("delimiter", "quote_char"), [(";", '"'), ("\t", "'"), ("|", "'")])
def test_other_dialects(
    tmp_path: Path, small_blocks: None, delimiter: str, quote_char: str
) -> None:
    text = "a,b\n" + "".join(f'{i},"v,{i}\n""q"""\n' for i in range(30)) + "x\n"
    body = text.translate({ord(","): delimiter, ord('"'): quote_char}).encode()
    assert_same(write(tmp_path, body), delimiter=delimiter, quote_char=quote_char)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        b'9,"never closed\n10,11\n',
        b"9,caf\xe9\n10,11\n",  # not UTF-8, past the detection sample only in a big file
        b"9,\xed\xa0\x80\n",  # an encoded surrogate: Python refuses it too
    ],
)
def test_errors_are_the_csv_paths(tmp_path: Path, small_blocks: None, tail: bytes) -> None:
    body = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(30)) + tail
    path = write(tmp_path, body)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVEYOR_CSV_FAST", "1")
        if tail.startswith(b"9,caf"):  # declared, as detection would see the bad byte
            assert outcome(path, True, encoding="utf-8").error is not None
    fast = assert_same(path, encoding="utf-8")
    assert fast.error is not None and str(path) in fast.error


@pytest.fixture
def field_limit() -> Iterator[int]:
    before = csv.field_size_limit()
    csv.field_size_limit(50)
    yield 50
    csv.field_size_limit(before)


def test_a_field_over_the_csv_modules_limit_is_its_error(tmp_path: Path, field_limit: int) -> None:
    body = b"a,b\n1,2\n3," + b"x" * (field_limit + 1) + b"\n5,6\n"
    fast = assert_same(write(tmp_path, body))
    assert fast.error is not None and "line 3" in fast.error


# --- when the fast path applies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "options", "applies"),
    [
        (b"a,b\n1,2\n", {}, True),
        (b"\xef\xbb\xbfa,b\n1,2\n", {}, True),
        ("a;b\n1;é\n".encode("cp1252"), {}, False),
        ("a,b\n1,2\n".encode("utf-16"), {}, False),
        (b"a,b\n1,2\n", {"encoding": "latin-1"}, False),
        ("a§b\n1§2\n".encode(), {"delimiter": "§"}, False),
    ],
)
def test_the_fast_path_takes_utf8_with_an_ascii_dialect(
    tmp_path: Path, data: bytes, options: dict[str, str], applies: bool
) -> None:
    path = write(tmp_path, data)
    plan, _extra, _notes = _plan(path, SourceOptions(**options))
    assert csv_fast.applies(plan) is applies
    assert_same(path, **options)


def test_the_fast_path_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan, _extra, _notes = _plan(write(tmp_path, b"a,b\n1,2\n"), SourceOptions())
    monkeypatch.setenv("CONVEYOR_CSV_FAST", "0")
    assert not csv_fast.applies(plan)


# --- generated files ------------------------------------------------------------------------------

TOKENS = ["a", "bc", ",", ",", ",", '"', '"', '""', "\n", "\n", "\r\n", "\r", " ", "é", "\x00"]
FIELDS = ["x", "", '"q,1"', '"l\nm"', '"d""e"', "zz", '""', '"c\r\nr"']


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A header, then mostly standard records, then anything at all."""
    header = draw(st.sampled_from(["a,b\n", "a,b,c\r\n", "a\n", '"a",b\n']))
    records = draw(
        st.lists(
            st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4).map(",".join),
            max_size=25,
        )
    )
    ending = draw(st.sampled_from(["", "\n", "\r\n"]))
    noise = "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=60)))
    return (header + "\n".join(records) + ending + noise).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=csv_files(),
    block=st.sampled_from([8, 17, 64, 1 << 20]),
    min_block=st.sampled_from([1, 16]),
    batch_size=st.sampled_from([1, 3, 50_000]),
)
def test_generated_files_read_the_same_both_ways(
    tmp_path_factory: pytest.TempPathFactory,
    data: bytes,
    block: int,
    min_block: int,
    batch_size: int,
) -> None:
    path = write(tmp_path_factory.mktemp("generated"), data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_fast, "BLOCK", block)
        patch.setattr(csv_fast, "MIN_BLOCK", min_block)
        patch.setattr(csv_fast, "CSV_STRETCH", 4 * min_block)
        assert_same(path, delimiter=",", batch_size=batch_size)
