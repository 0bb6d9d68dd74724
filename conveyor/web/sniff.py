"""What an upload really is, judged by its bytes, never by the name the client sent.

The Conveyor readers choose a format by file extension, so the store saves each upload under
the extension sniffed here. Only the first ``HEAD_BYTES`` are examined (plus the ZIP directory
for XLSX); the readers check the rest as they import it.
"""

from __future__ import annotations

import codecs
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from conveyor.web.errors import EmptyUpload, UnsupportedType

__all__ = ["ACCEPTED", "HEAD_BYTES", "Sniffed", "sniff_file"]

HEAD_BYTES = 64 * 1024
ACCEPTED = "CSV (UTF-8, UTF-16 or Windows-1252 text), XLSX, JSON, NDJSON or XML"

UploadFormat = Literal["csv", "xlsx", "json", "ndjson", "xml"]

#: Signatures of common files that are not data, named in the refusal.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls/.doc): save it as XLSX or CSV"),
)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_XLSX_PARTS = {"[Content_Types].xml", "xl/workbook.xml"}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Sniffed:
    """The detected format and the extension the upload is stored under."""

    format: UploadFormat

    @property
    def extension(self) -> str:
        return f".{self.format}"


def sniff_file(path: Path) -> Sniffed:
    """The format of the file at ``path``; :class:`UnsupportedType` when it is none we read."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
        whole = not fh.read(1)
    if not head:
        raise EmptyUpload("the upload is empty: choose a file with data in it")
    if head.startswith(_ZIP):
        return _sniff_zip(path)
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise _refuse(f"this is {what}")
    text, utf16 = _decode(head, whole)
    return _sniff_text(text, utf16, whole)


def _sniff_zip(path: Path) -> Sniffed:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise _refuse("this is a damaged ZIP archive") from None
    if names >= _XLSX_PARTS:
        return Sniffed("xlsx")
    raise _refuse("this is a ZIP archive but not an XLSX workbook")


def _decode(head: bytes, whole: bool) -> tuple[str, bool]:
    """The head as text (BOM, else UTF-8, else Windows-1252) and whether it was UTF-16."""
    if head.startswith(_UTF16_BOMS):
        text = _decode_as(head, "utf-16", whole)
        if text is None or "\x00" in text:
            raise _refuse("this is not UTF-16 text")
        return text, True
    if b"\x00" in head:
        raise _refuse("this is binary data (it holds NUL bytes)")
    for encoding in ("utf-8-sig", "cp1252"):
        text = _decode_as(head, encoding, whole)
        if text is not None:
            return text, False
    raise _refuse("this is not text in UTF-8, UTF-16 or Windows-1252")


def _decode_as(head: bytes, encoding: str, whole: bool) -> str | None:
    """Decode ``head``; a character cut at the end of an incomplete head is not an error."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(head, final=whole)
    except UnicodeDecodeError:
        return None


def _sniff_text(text: str, utf16: bool, whole: bool) -> Sniffed:
    start = text.lstrip("\ufeff \t\r\n")
    if start[:1] in ("[", "{"):
        if utf16:
            raise _refuse("JSON must be UTF-8 (this file is UTF-16): save it as UTF-8")
        return Sniffed("ndjson" if _is_ndjson(start, whole) else "json")
    if start.startswith("<"):
        return Sniffed("xml")
    return Sniffed("csv")


def _is_ndjson(text: str, whole: bool) -> bool:
    """Several lines that each parse as a JSON object (the last one only when complete)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not whole and len(lines) > 1:
        lines = lines[:-1]  # the head may end inside it
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False


def _refuse(reason: str) -> UnsupportedType:
    return UnsupportedType(f"unsupported file type: {reason}. Accepted: {ACCEPTED}")
