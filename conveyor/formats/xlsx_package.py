"""The parts of an XLSX package that calamine does not tell us about.

fastexcel/calamine read the cells; this module opens the zip itself for what they hide:

- a clear reason when a file is not a workbook at all (empty, encrypted, an old ``.xls``, a
  renamed CSV, a damaged zip) instead of a low-level parser message;
- which sheets are chart sheets (calamine lists them as empty worksheets) and where each sheet's
  XML part lives (to weigh progress, and for the scans in ``xlsx_cells``);
- the workbook's date system, where calamine misreads it (see ``Package.date_shift_days``).

Parts are resolved through the package relationships with the leniency real files need:
backslashes and letter case in part names, absolute targets, Strict OOXML namespaces, any
namespace prefix.
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lxml import etree

from conveyor.errors import SourceError

__all__ = [
    "Package",
    "SheetEntry",
    "SheetKind",
    "open_package",
]

SheetKind = Literal["worksheet", "chartsheet", "dialogsheet", "macrosheet", "unknown"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_CHUNK = 1 << 20
_EPOCH_GAP_DAYS = 1462  # 1904-01-01 minus 1899-12-31 (Excel's two date systems)
_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class SheetEntry:
    name: str
    kind: SheetKind
    part: str | None  # the zip member holding the sheet XML, None if it cannot be found
    size: int  # compressed bytes of that part (to weigh progress)
    hidden: bool


class Package:
    """An XLSX package's sheet list (the zip is not kept open)."""

    def __init__(self, path: Path, sheets: list[SheetEntry], date_shift_days: int = 0) -> None:
        self.path = path
        self.sheets = sheets
        #: Days to add to calamine's dates: calamine takes the 1904 flag from the *last*
        #: ``workbookPr`` element, and Excel 2016 for Mac writes an ``x14:workbookPr`` without
        #: the flag after the real one, so 1904 workbooks come out 1,462 days early.
        self.date_shift_days = date_shift_days


def open_package(path: Path) -> Package:
    """Open ``path`` as an XLSX package, or raise ``SourceError`` saying what the file is."""
    _check_bytes(path)
    try:
        with zipfile.ZipFile(path) as archive:
            sheets, shift = _sheets(path, archive)
            return Package(path, sheets, shift)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(
            path,
            "is damaged or incomplete: the .xlsx zip archive cannot be opened "
            f"({exc}); copy the file again or re-save it from Excel",
        ) from exc


def _check_bytes(path: Path) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise SourceError(path, f"cannot be opened: {exc.strerror}") from exc
    if size == 0:
        raise SourceError(path, "is empty (0 bytes): it is not an Excel workbook")
    if head == _OLE_MAGIC:
        if _contains(path, _ENCRYPTED_STREAM):
            raise SourceError(
                path,
                "is password-protected (encrypted); open it in Excel, remove the password and "
                "save an unprotected copy",
            )
        raise SourceError(
            path,
            "is an old-style Excel 97-2003 (.xls) or other OLE file, not an .xlsx workbook; "
            "open it in Excel and save it as .xlsx",
        )
    if not head.startswith(b"PK"):
        raise SourceError(
            path,
            "is not an Excel .xlsx workbook (it is not a zip archive; is it a CSV or text file "
            "renamed to .xlsx?); give it its real extension or save it as .xlsx",
        )


def _contains(path: Path, needle: bytes) -> bool:
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False


def _sheets(path: Path, archive: zipfile.ZipFile) -> tuple[list[SheetEntry], int]:
    members = {_norm(info.filename): info for info in archive.infolist()}
    workbook = _main_part(archive, members)
    if workbook is None:
        raise SourceError(
            path,
            "is a zip archive but not an Excel workbook (it has no xl/workbook.xml part); "
            "save it from Excel as .xlsx",
        )
    try:
        root = etree.fromstring(archive.read(members[workbook]), _XML)
        rels = _relationships(archive, members, workbook)
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError) as exc:
        raise SourceError(
            path, f"is damaged: its workbook part cannot be read ({exc}); re-save it from Excel"
        ) from exc
    entries = []
    for sheet in root.iter("{*}sheet"):
        rel_id = next((str(v) for k, v in sheet.attrib.items() if _local(k) == "id"), "")
        rel_type, target = rels.get(rel_id, ("", ""))
        part = _resolve(workbook, target, members) if target else None
        info = members.get(part) if part else None
        entries.append(
            SheetEntry(
                name=str(sheet.get("name", "")),
                kind=_kind(rel_type),
                part=info.filename if info else None,
                size=info.compress_size if info else 0,
                hidden=str(sheet.get("state", "visible")) != "visible",
            )
        )
    return entries, _date_shift(root)


def _date_shift(workbook: etree._Element) -> int:
    """Days between the workbook's date system and the one calamine applies."""
    main = etree.QName(workbook).namespace
    props = list(workbook.iter("{*}workbookPr"))
    declared = [p for p in props if etree.QName(p).namespace == main]
    is_1904 = bool(declared) and _truthy(declared[0].get("date1904"))
    calamine_1904 = bool(props) and _truthy(props[-1].get("date1904"))
    return (is_1904 - calamine_1904) * _EPOCH_GAP_DAYS


def _truthy(value: object) -> bool:
    return str(value).lower() in {"1", "true", "on"}


def _main_part(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> str | None:
    rels = _relationships(archive, members, "")
    for rel_type, target in rels.values():
        if rel_type.endswith("/officeDocument"):
            part = _resolve("", target, members)
            if part in members:
                return part
    return "xl/workbook.xml" if "xl/workbook.xml" in members else None


def _relationships(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], source: str
) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target) of the part ``source`` ("" for the package)."""
    folder, name = posixpath.split(source)
    info = members.get(_norm(posixpath.join(folder, "_rels", f"{name}.rels")))
    if info is None:
        return {}
    root = etree.fromstring(archive.read(info), _XML)
    return {
        str(rel.get("Id", "")): (str(rel.get("Type", "")), str(rel.get("Target", "")))
        for rel in root.iter("{*}Relationship")
        if rel.get("TargetMode", "Internal") == "Internal"
    }


def _resolve(source: str, target: str, members: dict[str, zipfile.ZipInfo]) -> str:
    target = target.replace("\\", "/")
    if target.startswith("/"):
        return _norm(target)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
    resolved = _norm(joined)
    if resolved not in members and _norm(target) in members:
        return _norm(target)  # some writers give package-relative targets
    return resolved


def _norm(name: str) -> str:
    return name.replace("\\", "/").lstrip("/").lower()


def _kind(rel_type: str) -> SheetKind:
    last = rel_type.rsplit("/", 1)[-1].lower()
    kinds: dict[str, SheetKind] = {
        "worksheet": "worksheet",
        "chartsheet": "chartsheet",
        "dialogsheet": "dialogsheet",
        "xlmacrosheet": "macrosheet",
        "xlintlmacrosheet": "macrosheet",
    }
    return kinds.get(last, "unknown")


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]
