"""The streaming XML reader: record paths, the field rules, batches and malformed input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from conveyor.errors import SourceError
from conveyor.formats import read_source
from conveyor.formats.base import Batch, ReadResult, SourceOptions
from conveyor.formats.xml import read
from tests.formats.support import load_with, problem_with, rows, write_file
from tests.helpers import PEER

OLINGO = PEER / "olingo-odata2" / "test-resources"
ODATA = {
    "atom": "http://www.w3.org/2005/Atom",
    "m": "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata",
    "d": "http://schemas.microsoft.com/ado/2007/08/dataservices",
    "at": "http://purl.org/atompub/tombstones/1.0",
}

CONTACTS = """<?xml version="1.0" encoding="UTF-8"?>
<export xmlns="urn:crm" xmlns:x="urn:extra">
  <contact id="1" x:source="web">
    <name>  Ann  </name>
    <email/>
    <note><![CDATA[<b>bold</b> & more]]></note>
    <address kind="home">
      <city>Köln</city>
      <geo><lat>50.9</lat></geo>
    </address>
    <phone>1</phone>
    <phone type="work">2</phone>
  </contact>
  <contact id="2">
    <name>Bob</name>
  </contact>
</export>
"""
CRM = {"c": "urn:crm", "x": "urn:extra"}


def write(folder: Path, text: str | bytes, name: str = "s.xml") -> Path:
    return write_file(folder, name, text)


def load(path: Path, **options: Any) -> tuple[ReadResult, list[Batch]]:
    return load_with(read, path, **options)


def problem(path: Path, **options: Any) -> str:
    return problem_with(read, path, **options)


# --- fields --------------------------------------------------------------------------------


def test_contacts(tmp_path: Path) -> None:
    path = write(tmp_path, CONTACTS)
    result, batches = load(path, record_path="/c:export/c:contact", namespaces=CRM)
    assert result.info.format == "xml"
    assert result.info.columns == [
        "@id",
        "@source",
        "name",
        "email",
        "note",
        "address.@kind",
        "address.city",
        "address.geo.lat",
        "phone",
    ]
    assert all(dtype == pl.String for dtype in batches[0].data.drop("__row").dtypes)
    assert batches[0].data["__row"].dtype == pl.Int64
    assert rows(batches) == [
        {
            "@id": "1",
            "@source": "web",
            "name": "  Ann  ",
            "email": "",
            "note": "<b>bold</b> & more",
            "address.@kind": "home",
            "address.city": "Köln",
            "address.geo.lat": "50.9",
            "phone": '["1", {"@type": "work", "#text": "2"}]',
            "__row": 1,
        },
        {
            "@id": "2",
            "@source": None,
            "name": "Bob",
            "email": None,
            "note": None,
            "address.@kind": None,
            "address.city": None,
            "address.geo.lat": None,
            "phone": None,
            "__row": 2,
        },
    ]
    assert result.info.extra["json_columns"] == ["phone"]
    assert result.info.extra["xml_record_tag"] == "{urn:crm}contact"
    assert result.info.extra["xml_ancestors"] == ["{urn:crm}export"]
    assert result.info.extra["xml_nsmap"] == {None: "urn:crm", "x": "urn:extra"}
    assert result.info.extra["xml_paths"] == {
        "@source": "urn:extra",
        "name": "urn:crm",
        "email": "urn:crm",
        "note": "urn:crm",
        "address": "urn:crm",
        "address.city": "urn:crm",
        "address.geo": "urn:crm",
        "address.geo.lat": "urn:crm",
        "phone": "urn:crm",
    }
    assert result.info.encoding == "utf-8"


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (
            0,
            {
                "address": '{"@kind": "home", "city": "Köln", "geo.lat": "50.9"}',
            },
        ),
        (1, {"address.@kind": "home", "address.city": "Köln", "address.geo": '{"lat": "50.9"}'}),
    ],
)
def test_flatten_depth(tmp_path: Path, depth: int, expected: dict[str, str]) -> None:
    path = write(tmp_path, CONTACTS)
    _, batches = load(path, record_path="/c:export/c:contact", namespaces=CRM, flatten_depth=depth)
    first = rows(batches)[0]
    assert {k: v for k, v in first.items() if k.startswith("address")} == expected


def test_text_rules(tmp_path: Path) -> None:
    text = (
        "<r>"
        "<i><p>Hello <b>big</b> world</p></i>"  # mixed content: the element's own text joined
        "<i><p>\n  <b>x</b>\n</p></i>"  # whitespace-only text around children is dropped
        "<i><p> </p><q a='1'> y </q><e a='2'/></i>"  # leaves keep their text exactly
        "<i>just text</i>"  # the record's own text
        "</r>"
    )
    _, batches = load(write(tmp_path, text), record_path="/r/i")
    assert rows(batches) == [
        {
            "p": "Hello  world",
            "p.b": "big",
            "q.@a": None,
            "q": None,
            "e.@a": None,
            "#text": None,
            "__row": 1,
        },
        {"p": None, "p.b": "x", "q.@a": None, "q": None, "e.@a": None, "#text": None, "__row": 2},
        {"p": " ", "p.b": None, "q.@a": "1", "q": " y ", "e.@a": "2", "#text": None, "__row": 3},
        {
            "p": None,
            "p.b": None,
            "q.@a": None,
            "q": None,
            "e.@a": None,
            "#text": "just text",
            "__row": 4,
        },
    ]


def test_attributes_differing_only_in_namespace(tmp_path: Path) -> None:
    text = '<r xmlns:m="urn:m"><i type="a" m:type="b"/></r>'
    result, batches = load(write(tmp_path, text))
    assert rows(batches) == [{"@type": "a", "@m:type": "b", "__row": 1}]
    assert result.info.extra["xml_paths"] == {"@m:type": "urn:m"}


def test_comments_and_processing_instructions_are_ignored(tmp_path: Path) -> None:
    text = "<r><i><!-- c --><a>1<!-- d -->2</a><?pi x?></i></r>"
    assert rows(load(write(tmp_path, text))[1]) == [{"a": "12", "__row": 1}]


def test_elements_that_collide_once_flattened_reject_the_record(tmp_path: Path) -> None:
    text = "<r><c><a.b>1</a.b><a><b>2</b></a></c><c><a><b>3</b></a></c></r>"
    _, batches = load(write(tmp_path, text))
    assert rows(batches) == [{"a.b": "3", "__row": 2}]
    assert batches[0].rejects is not None
    assert batches[0].rejects.to_dicts() == [
        {
            "_value": "<c><a.b>1</a.b><a><b>2</b></a></c>",
            "__row": 1,
            "_error": "record 1: two elements give the column 'a.b'",
        }
    ]


# --- record paths --------------------------------------------------------------------------

NESTED = '<root><item id="1"><item id="2"/></item><group><item id="3"/><other/></group></root>'


@pytest.mark.parametrize(
    ("record_path", "expected"),
    [
        ("item", [{"@id": "1", "item.@id": "2"}, {"@id": "3", "item.@id": None}]),
        ("group/item", [{"@id": "3"}]),
        ("/root/group/item", [{"@id": "3"}]),
        (
            "/root/*",
            [
                {"@id": "1", "item.@id": "2", "other": None},
                {"@id": None, "item.@id": "3", "other": ""},
            ],
        ),
        ("/*/group/*", [{"@id": "3", "#text": None}, {"@id": None, "#text": ""}]),
    ],
)
def test_record_paths(tmp_path: Path, record_path: str, expected: list[dict[str, Any]]) -> None:
    _, batches = load(write(tmp_path, NESTED), record_path=record_path)
    assert [{k: v for k, v in r.items() if k != "__row"} for r in rows(batches)] == expected


def test_default_record_path_is_the_roots_children(tmp_path: Path) -> None:
    result, batches = load(write(tmp_path, "<r><a>1</a><b x='y'/></r>"))
    assert result.info.options.record_path == "/*/*"
    assert rows(batches) == [
        {"#text": "1", "@x": None, "__row": 1},
        {"#text": None, "@x": "y", "__row": 2},
    ]


def test_read_source_dispatches_xml(tmp_path: Path) -> None:
    result = read_source(write(tmp_path, "<r><a>1</a></r>"))
    assert result.info.format == "xml"


def test_an_undeclared_prefix(tmp_path: Path) -> None:
    assert problem(write(tmp_path, CONTACTS), record_path="/c:export/c:contact") == (
        "source.record_path '/c:export/c:contact' uses the prefix 'c', which "
        "source.namespaces does not declare; add c: <namespace URI>"
    )


def test_an_empty_step(tmp_path: Path) -> None:
    assert problem(write(tmp_path, CONTACTS), record_path="/export//contact") == (
        "source.record_path '/export//contact' has an empty step"
    )


def test_a_root_that_does_not_match(tmp_path: Path) -> None:
    path = write(tmp_path, CONTACTS)
    assert problem(path, record_path="/c:other/c:contact", namespaces=CRM) == (
        "source.record_path '/c:other/c:contact' starts at {urn:crm}other but the document "
        "root is {urn:crm}export (a namespace shown in braces needs a prefix in "
        "source.namespaces, used in record_path)"
    )


def test_a_default_namespace_needs_a_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, CONTACTS)
    assert problem(path, record_path="contact") == (
        "no element matches source.record_path 'contact', but these are named alike: "
        "/{urn:crm}export/{urn:crm}contact (a namespace shown in braces needs a prefix in "
        "source.namespaces, used in record_path)"
    )


def test_no_records_is_not_an_error(tmp_path: Path) -> None:
    result, batches = load(write(tmp_path, "<export><meta/></export>"), record_path="contact")
    assert (result.info.columns, batches) == ([], [])
    assert result.info.extra["xml_ancestors"] == ["export"]
    assert result.info.extra["xml_record_tag"] == "contact"


# --- batches -------------------------------------------------------------------------------


def test_batch_boundaries_rows_and_positions(tmp_path: Path) -> None:
    records = "".join(f"<c><n>{i}</n>{'<x>y</x>' if i == 4 else ''}</c>" for i in range(1, 6))
    path = write(tmp_path, f"<r>{records}</r>")
    result, batches = load(path, batch_size=2)
    assert result.info.columns == ["n"]
    assert [b.data.to_dicts() for b in batches] == [
        [{"n": "1", "__row": 1}, {"n": "2", "__row": 2}],
        [{"n": "3", "x": None, "__row": 3}, {"n": "4", "x": "y", "__row": 4}],
        [{"n": "5", "__row": 5}],
    ]
    positions = [b.position for b in batches]
    assert positions == sorted(positions)
    assert positions[-1] == path.stat().st_size


def test_many_records_stream_in_batches(tmp_path: Path) -> None:
    body = "".join(f'<c id="{i}"><n>{i}</n></c>\n' for i in range(20_000))
    path = write(tmp_path, f"<r>\n{body}</r>")
    _, batches = load(path, batch_size=7_000)
    assert [b.data.height for b in batches] == [7_000, 7_000, 6_000]
    assert batches[-1].data.row(-1) == ("19999", "19999", 20_000)
    assert batches[0].position < batches[1].position < batches[2].position


# --- malformed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty: expected an XML document"),
        ("  \n", "not well-formed XML at line 2, column 1: Start tag expected, '<' not found"),
        (
            "id,name\n1,Ann\n",
            "not well-formed XML at line 1, column 1: Start tag expected, '<' not found",
        ),
        (
            "<r><a>1</a><a>2",
            "not well-formed XML at line 1, column 16: Premature end of data in tag a line 1",
        ),
        (
            "<r>\n<a><b>1</a></r>",
            "not well-formed XML at line 2, column 12: "
            "Opening and ending tag mismatch: b line 2 and a",
        ),
        (
            "<r>\n<a>&foo;</a></r>",
            "not well-formed XML at line 2, column 9: Entity 'foo' not defined",
        ),
    ],
)
def test_malformed(tmp_path: Path, text: str, expected: str) -> None:
    assert problem(write(tmp_path, text)) == expected


def test_malformed_after_a_first_batch(tmp_path: Path) -> None:
    path = write(tmp_path, "<r><a>1</a><a>2</a>\n<a>3</b></r>")
    result = read(path, SourceOptions(batch_size=1))
    assert next(result.batches).data["#text"].to_list() == ["1"]
    with pytest.raises(SourceError, match="line 2, column 9: Opening and ending tag mismatch"):
        list(result.batches)


def test_a_declared_encoding_is_honoured(tmp_path: Path) -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<r><a>é</a></r>'.encode("latin-1")
    result, batches = load(write(tmp_path, text))
    assert rows(batches) == [{"#text": "é", "__row": 1}]
    assert result.info.encoding == "iso-8859-1"


# --- OData Atom (olingo-odata2) --------------------------------------------------------------


def test_atom_feed_with_media_entries() -> None:
    result, batches = load(
        OLINGO / "feed_employees.xml", record_path="/atom:feed/atom:entry", namespaces=ODATA
    )
    assert result.info.columns == [
        "id",
        "title.@type",
        "title",
        "updated",
        "category.@term",
        "category.@scheme",
        "link",
        "content.@type",
        "content.@src",
        "properties.EmployeeId",
        "properties.EmployeeName",
        "properties.ManagerId",
        "properties.RoomId",
        "properties.TeamId",
        "properties.Location.@type",
        "properties.Location.City.@type",
        "properties.Location.City.PostalCode",
        "properties.Location.City.CityName",
        "properties.Location.Country",
        "properties.Age",
        "properties.EntryDate",
        "properties.ImageUrl",
        "properties.EntryDate.@null",
    ]
    data = pl.concat([b.data for b in batches])
    assert data.height == 6
    first = data.row(0, named=True)
    assert first["properties.EmployeeName"] == "Walter Winter"
    assert first["properties.Location.City.CityName"] == "Heidelberg"
    assert first["link"].startswith(
        '[{"@href": "Employees(\'1\')", "@rel": "edit", "@title": "Employee"}'
    )
    nulls = data.filter(pl.col("properties.EntryDate.@null") == "true")
    assert nulls["properties.EntryDate"].to_list() == [None]


def test_atom_feed_with_inline_properties() -> None:
    _, batches = load(
        OLINGO / "feed_rooms_small.xml", record_path="/atom:feed/atom:entry", namespaces=ODATA
    )
    got = [
        (r["@etag"], r["content.@type"], r["content.properties.Id"], r["content.properties.Name"])
        for r in rows(batches)
    ]
    assert got == [
        ('W/"1"', "application/xml", "1", "Room 1"),
        ('W/"1"', "application/xml", "10", "Room 10"),
        ('W/"1"', "application/xml", "100", "Room 100"),
    ]


def test_atom_deleted_entries() -> None:
    path = OLINGO / "feed_with_deleted_entries.xml"
    _, entries = load(path, record_path="/atom:feed/atom:entry", namespaces=ODATA)
    _, deleted = load(path, record_path="/atom:feed/at:deleted-entry", namespaces=ODATA)
    assert [r["content.properties.Name"] for r in rows(entries)] == ["Room 1"]
    assert rows(deleted) == [
        {
            "@ref": "http://host:123/odata/Rooms('2')",
            "@when": "2014-01-14T18:11:06.682+01:00",
            "__row": 1,
        }
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in OLINGO.glob("feed_*.xml")))
def test_every_atom_feed_reads(name: str) -> None:
    _, batches = load(OLINGO / name, record_path="/atom:feed/atom:entry", namespaces=ODATA)
    data = pl.concat([b.data for b in batches], how="diagonal")
    assert data.height >= 1
    assert "id" in data.columns


def test_xsi_nil_reads_as_null_and_an_empty_element_as_empty_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '<?xml version="1.0"?>\n'
        '<records xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<record><a xsi:nil="true"/><b></b><c xsi:nil="true"/><c>2</c></record>'
        '<record><a>1</a><b xsi:nil="1"/><c>3</c></record>'
        "</records>",
    )
    frame = pl.concat([batch.data for batch in read(path, SourceOptions()).batches])
    assert frame.select("a", "b", "c").rows() == [(None, "", '[null, "2"]'), ("1", None, "3")]
