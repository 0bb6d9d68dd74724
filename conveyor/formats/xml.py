"""Streaming XML reader; its rejects writer (``open_rejects``) is in ``xml_rejects``.

Record paths are parsed and matched in ``xml_paths``, a record element becomes columns in
``xml_fields``; ``open_rejects``, ``XmlRejectSink`` and ``TEXT_COL`` are re-exported here.

Records: ``options.record_path`` names the record elements, either absolute
(``/ns:export/ns:contact``: exactly that chain from the root) or relative (``contact`` or
``ns:orders/ns:order``: any element whose ancestors end so, the outermost one when they nest).
A step is ``prefix:name`` with the prefix declared in ``options.namespaces``, a plain ``name``
(no namespace: a document's default namespace must be given a prefix) or ``*`` (any element).
Default: ``/*/*``, every child of the root element.

Columns (all ``pl.String``), for a record element:

- its attributes as ``@name`` (the local name; ``@prefix:name`` when two differ only in
  namespace), its own text as ``#text``;
- each child element under its local name. A child that is a leaf without attributes gives its
  text exactly (``""`` when empty). A structured child (attributes or children) is flattened:
  ``address.city``, ``address.@kind``, and its own text (the text between its children, for
  mixed content) under ``address``, stripped of the whitespace around it (indentation);
- children repeated under one name give a JSON text list of their values: text for leaves,
  flattened objects (``{"@href": "x", "#text": "y"}``) for structured ones;
- below ``options.flatten_depth`` levels a structured child is kept as such a JSON object.

The columns of JSON text are listed in ``SourceInfo.extra["json_columns"]``. OData Atom feeds
read with ``/atom:feed/atom:entry`` give ``id``, ``title``, ``title.@type``, ``link`` (a list),
``content.@type`` and the properties as ``content.properties.Name`` (or
``properties.Name`` for media entries, whose ``m:properties`` sit beside ``content``).

Security (defusedxml's policy): DTDs are never loaded, entities never resolved, the network
never touched; a document whose DOCTYPE declares entities or refers to an external DTD is
refused with a ``SourceError`` (so is xmlbomb2.xml, which defusedxml parses only with
entities allowed). Malformed XML raises ``SourceError`` with the line, column and libxml2's
first error. A document without a DOCTYPE is parsed with libxml2's ``huge`` option, so a text
node may exceed its default 10 MB (up to 1 GB): with no DTD there is no entity to expand, so
the option only lifts size limits; a document with a DOCTYPE keeps the default limits. A record
nested too deep to flatten is rejected with its reason.

Memory stays flat: iterparse reports only elements named like the record (all elements for a
path ending in ``*``); each record is cleared after use and its preceding
siblings deleted, which also frees the non-record elements before it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
from lxml import etree

from conveyor.errors import SourceError
from conveyor.formats.base import Batch, ReadResult, SourceInfo, SourceOptions
from conveyor.formats.nested import FlattenCollision, json_text
from conveyor.formats.records import VALUE_COL, RecordBatcher
from conveyor.formats.xml_fields import TEXT_COL, Fields
from conveyor.formats.xml_paths import RecordPath, local_name, parse_record_path
from conveyor.formats.xml_rejects import XmlRejectSink, open_rejects
from conveyor.schema import ROW_COL

__all__ = ["DEFAULT_RECORD_PATH", "TEXT_COL", "VALUE_COL", "XmlRejectSink", "open_rejects", "read"]

DEFAULT_RECORD_PATH = "/*/*"

_ENCODING_DECL = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_LOCATION = re.compile(r", line \d+, column \d+$")
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_ELEMENT_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")
_PROLOG_BYTES = 64 * 1024  # the root element must start within this for the huge option


def read(path: Path, options: SourceOptions) -> ReadResult:
    """Describe the XML file at ``path`` and stream its records in batches."""
    path = Path(path)
    record_path = parse_record_path(
        path, options.record_path or DEFAULT_RECORD_PATH, options.namespaces
    )
    layout: dict[str, Any] = {"json_columns": [], "xml_paths": {}}
    batches = _batches(path, record_path, options, layout)
    first = next(batches, None)
    columns = [c for c in first.data.columns if c != ROW_COL] if first is not None else []
    resolved = options.model_copy(update={"format": "xml", "record_path": record_path.text})
    info = SourceInfo(
        path=path,
        format="xml",
        columns=columns,
        options=resolved,
        size=path.stat().st_size,
        encoding=layout.get("encoding"),
        extra=layout,
    )
    head = [first] if first is not None else []
    return ReadResult(info=info, batches=itertools.chain(head, batches))


def _batches(
    path: Path, record_path: RecordPath, options: SourceOptions, layout: dict[str, Any]
) -> Iterator[Batch]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise SourceError(path, f"cannot open: {exc.strerror}") from exc
    with fh:
        head = fh.read(_PROLOG_BYTES)
        if not head:
            raise SourceError(path, "the file is empty: expected an XML document")
        layout["encoding"] = _declared_encoding(head)
        fh.seek(0)
        fields = Fields(path, options.flatten_depth, layout["xml_paths"])
        builder = _BatchBuilder(layout["json_columns"])
        walker = _Walker(path, fh, record_path, options, layout, huge=_without_doctype(head))
        for number, element in walker.records():
            try:
                builder.add_row(number, fields.record(element))
            except (FlattenCollision, RecursionError) as exc:
                text = etree.tostring(element, encoding="unicode", with_tail=False)
                builder.reject(number, text, _record_problem(number, exc))
            _release(element)
            if builder.count >= options.batch_size:
                yield builder.take(fh.tell())
        if builder.count:
            yield builder.take(fh.tell())


def _declared_encoding(head: bytes) -> str:
    """The encoding named in the XML declaration, else what the BOM says, else UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    found = _ENCODING_DECL.match(head.removeprefix(b"\xef\xbb\xbf"))
    return found.group(1).decode("ascii").lower() if found else "utf-8"


def _without_doctype(head: bytes) -> bool:
    """True when the root element starts in ``head`` with no DOCTYPE before it (UTF-8 only)."""
    position = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while (found := _PROLOG_ITEM.match(head, position)) is not None and found.end() > position:
        position = found.end()
    return _ELEMENT_START.match(head, position) is not None


def _record_problem(number: int, exc: Exception) -> str:
    if isinstance(exc, FlattenCollision):
        return f"record {number}: two elements give the column {exc.name!r}"
    return f"record {number} is nested too deeply to be read as columns"


def _syntax_problem(exc: etree.XMLSyntaxError) -> str:
    """The first error libxml2 logged (the exception's own message can be a later symptom)."""
    log: Iterable[Any] = exc.error_log  # type: ignore[assignment]
    errors = [e for e in log if e.level_name in ("ERROR", "FATAL")]
    if errors:
        line, column, message = errors[0].line, errors[0].column, errors[0].message.strip()
    else:
        (line, column), message = exc.position, _LOCATION.sub("", exc.msg)
    if line == 0:
        return f"not XML: {message} (the file holds no element)"
    return f"not well-formed XML at line {line}, column {column}: {message}"


def _release(element: etree._Element) -> None:
    """Free a finished element and the siblings before it (the classic iterparse pattern)."""
    element.clear(keep_tail=True)  # type: ignore[call-arg]
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


class _Walker:
    """Runs iterparse over the file and picks out the record elements."""

    def __init__(
        self,
        path: Path,
        fh: BinaryIO,
        record_path: RecordPath,
        options: SourceOptions,
        layout: dict[str, Any],
        *,
        huge: bool = False,
    ) -> None:
        self.path = path
        self.huge = huge
        self.fh = fh
        self.record_path = record_path
        self.namespaces = options.namespaces
        self.layout = layout
        self.lookalikes: list[str] = []  # paths of elements named like the record, unmatched

    def records(self) -> Iterator[tuple[int, etree._Element]]:
        etree.clear_error_log()  # the log is per thread: keep only this parse's errors
        local = self.record_path.local
        events = etree.iterparse(
            self.fh,
            events=("start", "end"),
            tag=None if local is None else "{*}" + local,  # fewer events: any namespace
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=self.huge,
            remove_comments=True,
            remove_pis=True,
        )
        record: etree._Element | None = None
        number = 0
        checked = False
        try:
            for event, element in events:
                if not checked:
                    self._check_document(element.getroottree().getroot())
                    checked = True
                if record is not None:
                    if event == "end" and element is record:
                        number += 1
                        yield number, element
                        record = None
                elif event == "start":
                    record = self._start(element, first=number == 0)
                else:
                    _release(element)  # finished, outside any record
        except etree.XMLSyntaxError as exc:
            problem = _syntax_problem(exc)
            if problem.endswith("Invalid bytes in character encoding"):
                problem += (
                    f" (the document is read as {self.layout.get('encoding') or 'utf-8'}, as "
                    "its XML declaration says or by default: the file mixes encodings or "
                    "declares the wrong one; convert it to one encoding)"
                )
            raise SourceError(self.path, problem) from exc
        if not checked:
            self._check_document(events.root)
        if number == 0 and self.lookalikes:
            raise SourceError(
                self.path,
                f"no element matches source.record_path {self.record_path.text!r}, but "
                f"these are named alike: {', '.join(self.lookalikes)} (a namespace shown "
                "in braces needs a prefix in source.namespaces, used in record_path)",
            )

    def _start(self, element: etree._Element, first: bool) -> etree._Element | None:
        """Return ``element`` when it starts a record (it is outside any record)."""
        chain = [element.tag]
        parent = element.getparent()
        while parent is not None:
            chain.append(parent.tag)
            parent = parent.getparent()
        chain.reverse()
        if self.record_path.matches(chain):
            if first:
                self._remember_layout(chain, element)
            return element
        if self.record_path.local == local_name(element.tag) and len(self.lookalikes) < 5:
            where = "/" + "/".join(chain)
            if where not in self.lookalikes:
                self.lookalikes.append(where)
        return None

    def _check_document(self, root: etree._Element) -> None:
        docinfo = root.getroottree().docinfo
        dtd = docinfo.internalDTD
        if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
            raise SourceError(
                self.path,
                "the DOCTYPE declares entities (<!ENTITY ...>); entity declarations are not "
                "allowed (they make entity-expansion and external-entity attacks possible): "
                "remove the DOCTYPE and use the plain text",
            )
        external = getattr(docinfo, "system_url", None) or docinfo.public_id
        if external:
            raise SourceError(
                self.path,
                f"the DOCTYPE refers to an external DTD ({external}); external DTDs are not "
                "loaded and not allowed: remove the DOCTYPE line",
            )
        steps = self.record_path.steps
        if self.record_path.absolute and steps[0] is not None and steps[0] != root.tag:
            raise SourceError(
                self.path,
                f"source.record_path {self.record_path.text!r} starts at {steps[0]} but the "
                f"document root is {root.tag} (a namespace shown in braces needs a prefix in "
                "source.namespaces, used in record_path)",
            )
        self.layout["xml_ancestors"] = [root.tag]
        self.layout["xml_record_tag"] = steps[-1] or "record"
        self.layout["xml_nsmap"] = dict(root.nsmap)

    def _remember_layout(self, chain: list[str], element: etree._Element) -> None:
        self.layout["xml_ancestors"] = chain[:-1]
        self.layout["xml_record_tag"] = element.tag
        self.layout["xml_nsmap"] = dict(element.nsmap)


class _BatchBuilder(RecordBatcher):
    """XML records into a ``Batch``: every column text; repeated elements as JSON text."""

    def _series(self, name: str, values: list[object]) -> pl.Series:
        kinds = set(map(type, values))
        if list in kinds or dict in kinds:
            if name not in self.json_columns:
                self.json_columns.append(name)
            values = [v if v is None or isinstance(v, str) else json_text(v) for v in values]
        return pl.Series(name, values, pl.String)
