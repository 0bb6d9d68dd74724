"""The XML rejects writer: the source's root, record element and prefixes; round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree
from polars.testing import assert_frame_equal

from conveyor.errors import ConfigError
from conveyor.formats import open_rejects, read_source
from conveyor.formats.base import SourceInfo, SourceOptions
from conveyor.formats.xml import XmlRejectSink
from tests.formats.test_xml_reader import CONTACTS, CRM, ODATA, OLINGO
from tests.helpers import PEER


def read_all(path: Path, **options: Any) -> tuple[SourceInfo, pl.DataFrame]:
    result = read_source(path, SourceOptions(**options))
    frames = [b.data for b in result.batches]
    return result.info, pl.concat(frames, how="diagonal_relaxed")


def write_rejects(target: Path, info: SourceInfo, frame: pl.DataFrame) -> str:
    sink = open_rejects(target, info)
    assert isinstance(sink, XmlRejectSink)
    with sink:
        sink.write(frame)
    return target.read_text(encoding="utf-8")


def test_contacts_rejects_text(tmp_path: Path) -> None:
    source = tmp_path / "contacts.xml"
    source.write_text(CONTACTS, encoding="utf-8")
    info, data = read_all(source, record_path="/c:export/c:contact", namespaces=CRM)
    frame = data.with_columns(_error=pl.Series(["bad name", "no email"]))
    text = write_rejects(tmp_path / "rejects.xml", info, frame)
    assert text == (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        '<export xmlns="urn:crm" xmlns:x="urn:extra">\n'
        '<contact id="1" x:source="web"><name>  Ann  </name><email></email>'
        "<note>&lt;b&gt;bold&lt;/b&gt; &amp; more</note>"
        '<address kind="home"><city>Köln</city><geo><lat>50.9</lat></geo></address>'
        '<phone>1</phone><phone type="work">2</phone>'
        "<_row>1</_row><_error>bad name</_error></contact>\n"
        '<contact id="2"><name>Bob</name><_row>2</_row><_error>no email</_error></contact>\n'
        "</export>"
    )


def test_empty_sink_writes_the_root(tmp_path: Path) -> None:
    source = tmp_path / "contacts.xml"
    source.write_text(CONTACTS, encoding="utf-8")
    info, _ = read_all(source, record_path="/c:export/c:contact", namespaces=CRM)
    open_rejects(tmp_path / "r.xml", info).close()
    assert (tmp_path / "r.xml").read_text() == (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        '<export xmlns="urn:crm" xmlns:x="urn:extra"></export>'
    )
    result = read_source(
        tmp_path / "r.xml", SourceOptions(record_path="/c:export/c:contact", namespaces=CRM)
    )
    assert list(result.batches) == []


def test_row_and_error_replace_source_columns_and_prefixes_are_declared(tmp_path: Path) -> None:
    info = SourceInfo(
        path=Path("s.xml"),
        format="xml",
        columns=["_row", "a", "_error"],
        options=SourceOptions(format="xml", record_path="/p:r/p:c", namespaces={"p": "urn:p"}),
        extra={"xml_ancestors": ["{urn:p}r"], "xml_record_tag": "{urn:p}c", "xml_nsmap": {}},
    )
    frame = pl.DataFrame(
        {"_row": ["9"], "a": [1.5], "__row": [4], "_error": ["bad\x00value"], "b": [True]}
    )
    text = write_rejects(tmp_path / "r.xml", info, frame)
    assert text.splitlines()[1:] == [
        '<p:r xmlns:p="urn:p">',
        "<p:c><p:a>1.5</p:a><p:b>true</p:b><p:_row>4</p:_row>"
        "<p:_error>bad\ufffdvalue</p:_error></p:c>",
        "</p:r>",
    ]


def test_a_rejects_file_that_cannot_be_written(tmp_path: Path) -> None:
    info = SourceInfo(path=Path("s.xml"), format="xml", columns=[], options=SourceOptions())
    with pytest.raises(ConfigError, match="cannot write the rejects file"):
        open_rejects(tmp_path / "missing" / "r.xml", info)


# --- round trips ---------------------------------------------------------------------------


def round_trip(source: Path, target: Path, *, bare: bool = False, **options: Any) -> None:
    """Every row read from ``source`` written as a reject, read back: the same values.

    ``bare``: the records are bare text elements, which the added ``_row`` and ``_error``
    children make structured; an empty text then reads back as null (empty means null to the
    mapping either way).
    """
    info, read = read_all(source, **options)
    frame = read.with_columns(_error=pl.lit("rejected"))
    write_rejects(target, info, frame)
    etree.parse(str(target))  # well-formed on its own
    again, back = read_all(target, **options)
    assert back["_row"].to_list() == [str(n) for n in read["__row"]]
    assert back["_error"].to_list() == ["rejected"] * read.height
    source_columns = [c for c in read.columns if c != "__row"]
    assert set(again.columns) >= set(info.columns)
    if bare:
        read = read.with_columns(pl.col("#text").replace("", None))
    assert_frame_equal(read.select(source_columns), back.select(source_columns))


@pytest.mark.parametrize("depth", [None, 0, 1])
def test_round_trip_contacts(tmp_path: Path, depth: int | None) -> None:
    source = tmp_path / "contacts.xml"
    source.write_text(CONTACTS, encoding="utf-8")
    options: dict[str, Any] = {
        "record_path": "/c:export/c:contact",
        "namespaces": CRM,
        "flatten_depth": depth,
    }
    round_trip(source, tmp_path / "r.xml", **options)


@pytest.mark.parametrize("name", sorted(p.name for p in OLINGO.glob("feed_*.xml")))
def test_round_trip_atom_feeds(tmp_path: Path, name: str) -> None:
    options: dict[str, Any] = {"record_path": "/atom:feed/atom:entry", "namespaces": ODATA}
    round_trip(OLINGO / name, tmp_path / "r.xml", **options)


def test_round_trip_keeps_namespaces(tmp_path: Path) -> None:
    target = tmp_path / "r.xml"
    options: dict[str, Any] = {"record_path": "/atom:feed/atom:entry", "namespaces": ODATA}
    round_trip(OLINGO / "feed_employees.xml", target, **options)
    root = etree.parse(str(target)).getroot()
    entry = root[0]
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert entry.tag == "{http://www.w3.org/2005/Atom}entry"
    properties = entry.find("m:properties", ODATA)
    assert properties is not None
    location = properties.find("d:Location", ODATA)
    assert location is not None
    assert location.get(f"{{{ODATA['m']}}}type") == "RefScenario.c_Location"
    assert entry.find("atom:link", ODATA) is not None


@pytest.mark.parametrize(
    ("name", "record_path"),
    [("simple.xml", None), ("simple-ns.xml", None), ("dtd_element.xml", "node")],
)
def test_round_trip_defusedxml_simple_files(
    tmp_path: Path, name: str, record_path: str | None
) -> None:
    source = PEER / "defusedxml" / "xmltestdata" / name
    round_trip(source, tmp_path / "r.xml", bare=True, record_path=record_path)


def test_a_root_record_is_written_as_the_root(tmp_path: Path) -> None:
    source = PEER / "defusedxml" / "xmltestdata" / "simple.xml"
    round_trip(source, tmp_path / "r.xml", record_path="/root")
    info, read = read_all(source, record_path="/root")
    sink = open_rejects(tmp_path / "two.xml", info)
    assert isinstance(sink, XmlRejectSink)
    frame = pl.concat([read, read]).with_columns(_error=pl.lit("x"))
    with pytest.raises(ConfigError, match="the record element is the document root"), sink:
        sink.write(frame)
    etree.parse(str(tmp_path / "two.xml"))  # the first record stands as a valid document


def test_an_empty_sink_for_root_records_writes_an_empty_root(tmp_path: Path) -> None:
    info, _ = read_all(PEER / "defusedxml" / "xmltestdata" / "simple.xml", record_path="/root")
    open_rejects(tmp_path / "r.xml", info).close()
    assert (
        tmp_path / "r.xml"
    ).read_text() == "<?xml version='1.0' encoding='utf-8'?>\n<root></root>"


def test_round_trip_mixed_and_repeated_content(tmp_path: Path) -> None:
    source = tmp_path / "s.xml"
    source.write_text(
        "<r><i a='1'>lead<b>x</b>tail<c/><d><e>1</e><e f='g'>2</e></d></i>"
        "<i><d><e><k>deep</k></e><e/></d></i></r>"
    )
    round_trip(source, tmp_path / "r.xml")
