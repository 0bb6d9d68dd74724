"""Bytes of small files of each kind the upload page accepts or refuses."""

from __future__ import annotations

import io
import zipfile

from tests.helpers import EXAMPLES

__all__ = ["ACCEPTED", "REFUSED"]


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a\xa0"
    b"\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)

#: (name, bytes, the format sniffed)
ACCEPTED: list[tuple[str, bytes, str]] = [
    ("utf8.csv", "id,name\n1,Zoë\n2,Bob\n".encode(), "csv"),
    ("utf16.csv", "id;name\r\n1;Zoë\r\n".encode("utf-16"), "csv"),
    ("cp1252.csv", "id,name\n1,Café £5\n".encode("cp1252"), "csv"),
    ("orders.xlsx", (EXAMPLES / "orders.xlsx").read_bytes(), "xlsx"),
    ("array.json", b'\xef\xbb\xbf  [{"id": 1}, {"id": 2}]', "json"),
    ("pretty.json", b'{\n  "data": [\n    {"id": 1}\n  ]\n}\n', "json"),
    ("lines.ndjson", b'{"id": 1}\n{"id": 2}\n{"id": 3}\n', "ndjson"),
    ("data.xml", b'<?xml version="1.0"?>\n<rows><row id="1"/></rows>', "xml"),
    ("bare.xml", b"<rows><row>1</row></rows>", "xml"),
    ("no-extension", b"a,b\n1,2\n", "csv"),
    ("wrong-name.pdf", b'[{"id": 1}]', "json"),
]

#: (name, bytes, words the refusal must contain)
REFUSED: list[tuple[str, bytes, str]] = [
    ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF"),
    ("image.png", _PNG, "PNG image"),
    ("archive.zip", _zip(["readme.txt", "data/rows.csv"]), "ZIP archive but not an XLSX"),
    ("fake.xlsx", _zip(["[Content_Types].xml", "word/document.xml"]), "not an XLSX"),
    ("binary.csv", b"id,name\n1,\x00\x01\x02\x03\xff\xfe\n", "NUL bytes"),
    (
        "program.csv",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
        "Windows program",
    ),
    ("latin.csv", b"id,name\n1,\x81\x8d\x8f\n", "not text"),
    ("utf16.json", '[{"id": 1}]'.encode("utf-16"), "JSON must be UTF-8"),
]
