"""The XML reader against defusedxml's attack files and Olingo's XXE probe.

Policy (see ../shared/peer-suites/defusedxml/EXPECTED.md, read with entities forbidden): a
DOCTYPE that declares entities, or refers to an external DTD, is refused with a SourceError
before any record is read; DTDs are never loaded, entities never resolved, the network never
used. dtd_element.xml (an internal DTD with ELEMENT declarations only) and the simple files
parse. xmlbomb2.xml is refused: EXPECTED.md lets it parse only "with entities allowed", and we
never allow them. The XSLT and XSD files are ordinary data to this reader: their extension
functions and schema includes are never run or fetched (nothing here runs XSLT or XSD).

No test opens a socket: a fetch would show as a different outcome (text from the network or
a network error) instead of the refusal, which comes from the prolog before any entity use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conveyor.errors import SourceError
from conveyor.formats.base import SourceOptions
from conveyor.formats.xml import read
from tests.helpers import PEER

DEFUSED = PEER / "defusedxml" / "xmltestdata"
OLINGO = PEER / "olingo-odata2" / "test-resources"

ENTITIES = (
    "the DOCTYPE declares entities (<!ENTITY ...>); entity declarations are not allowed (they "
    "make entity-expansion and external-entity attacks possible): remove the DOCTYPE and use "
    "the plain text"
)


def records(path: Path, **options: Any) -> list[dict[str, Any]]:
    result = read(path, SourceOptions(**options))
    return [row for batch in result.batches for row in batch.data.to_dicts()]


def refusal(path: Path, **options: Any) -> str:
    with pytest.raises(SourceError) as caught:
        records(path, **options)
    assert caught.value.path == str(path)
    return caught.value.problem


def test_the_suite_is_present() -> None:
    assert sorted(p.name for p in DEFUSED.iterdir()) == [
        "cyclic.xml",
        "dtd.xml",
        "dtd_element.xml",
        "external.xml",
        "external_file.xml",
        "quadratic.xml",
        "schema-include.xsd",
        "simple-ns.xml",
        "simple.xml",
        "xalan_exec.xsl",
        "xalan_write.xsl",
        "xmlbomb.xml",
        "xmlbomb2.xml",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "xmlbomb.xml",
        "xmlbomb2.xml",
        "quadratic.xml",
        "cyclic.xml",
        "external.xml",
        "external_file.xml",
    ],
)
def test_entity_declarations_are_refused(name: str) -> None:
    assert refusal(DEFUSED / name) == ENTITIES


def test_an_external_dtd_is_refused_without_fetching_it() -> None:
    assert refusal(DEFUSED / "dtd.xml") == (
        "the DOCTYPE refers to an external DTD "
        "(http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd); external DTDs are not "
        "loaded and not allowed: remove the DOCTYPE line"
    )


def test_an_internal_dtd_with_element_declarations_parses() -> None:
    assert records(DEFUSED / "dtd_element.xml") == [{"#text": "A test", "__row": 1}]


@pytest.mark.parametrize("name", ["simple.xml", "simple-ns.xml"])
def test_simple_documents_parse(name: str) -> None:
    assert records(DEFUSED / name) == [
        {"@key": "value", "#text": "text", "__row": 1},
        {"@key": None, "#text": "text", "__row": 2},
        {"@key": None, "#text": "", "__row": 3},
    ]


def test_a_default_namespace_through_a_prefix() -> None:
    got = records(
        DEFUSED / "simple-ns.xml", record_path="/n:root/n:element", namespaces={"n": "namespace"}
    )
    assert got == [
        {"@key": "value", "#text": "text", "__row": 1},
        {"@key": None, "#text": "text", "__row": 2},
    ]
    assert records(DEFUSED / "simple.xml", record_path="/root") == [
        {
            "#text": "tail",
            "element": '[{"@key": "value", "#text": "text"}, "text"]',
            "empty-element": "",
            "__row": 1,
        }
    ]


def test_xslt_is_data_and_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    got = records(
        DEFUSED / "xalan_write.xsl",
        record_path="x:template",
        namespaces={"x": "http://www.w3.org/1999/XSL/Transform"},
    )
    assert got == [
        {
            "@match": "/",
            "write.@file": "xalan_redirect.txt",
            "write.@method": "text",
            "write.text": "Something bad happens here!\r",
            "__row": 1,
        }
    ]
    assert list(tmp_path.iterdir()) == []
    exec_rows = records(DEFUSED / "xalan_exec.xsl")
    assert exec_rows[0]["@match"] == "/"


def test_schema_includes_are_data_and_never_fetched() -> None:
    got = records(
        DEFUSED / "schema-include.xsd",
        record_path="xsd:import",
        namespaces={"xsd": "http://www.w3.org/2001/XMLSchema"},
    )
    assert [r["@schemaLocation"] for r in got] == [
        "http://www.w3.org/2001/xml.xsd",
        "https://example.invalid/invalid.xsd",
    ]


def test_olingo_xxe_probe_is_plain_data() -> None:
    # Olingo's xxe.xml carries no DOCTYPE: it must simply parse, with nothing resolved.
    assert records(OLINGO / "xxe.xml") == []
    assert records(OLINGO / "xxe.xml", record_path="/external.entity") == [
        {"#text": "some text", "__row": 1}
    ]


def test_a_local_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    dtd = tmp_path / "leak.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "file://{secret}">')
    by_entity = tmp_path / "entity.xml"
    by_entity.write_text(f'<!DOCTYPE r [<!ENTITY e SYSTEM "file://{secret}">]>\n<r><a>&e;</a></r>')
    by_parameter = tmp_path / "parameter.xml"
    by_parameter.write_text(
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]>\n<r><a>&leak;</a></r>'
    )
    by_external = tmp_path / "external.xml"
    by_external.write_text(f'<!DOCTYPE r SYSTEM "file://{dtd}">\n<r><a>&leak;</a></r>')
    assert refusal(by_entity) == ENTITIES
    assert refusal(by_parameter) == ENTITIES
    assert refusal(by_external).startswith(f"the DOCTYPE refers to an external DTD (file://{dtd})")
    assert "SECRET" not in refusal(by_external)


def test_an_entity_reference_in_a_record_is_refused(tmp_path: Path) -> None:
    # Only reachable when libxml2 tolerates an undeclared entity: a DOCTYPE with a PUBLIC id
    # but no system URL is refused as external; a standalone="no" document without DOCTYPE
    # fails as not well-formed.
    path = tmp_path / "e.xml"
    path.write_text('<?xml version="1.0" standalone="no"?>\n<r><a>&x;</a></r>')
    assert refusal(path) == "not well-formed XML at line 2, column 10: Entity 'x' not defined"


def test_a_huge_text_node_is_read_without_a_doctype_and_refused_with_one(tmp_path: Path) -> None:
    # Past libxml2's default 10 MB: with no DTD there is no entity to expand, so the huge
    # option only lifts size limits; a document with a DOCTYPE keeps the default limits.
    path = tmp_path / "huge.xml"
    path.write_text("<?xml version='1.0'?>\n<!-- c -->\n<r><a>" + "x" * 10_000_001 + "</a></r>")
    assert records(path) == [{"#text": "x" * 10_000_001, "__row": 1}]
    path.write_text("<!DOCTYPE r>\n<r><a>" + "x" * 10_000_001 + "</a></r>")
    assert "not well-formed XML at line 2" in refusal(path)
