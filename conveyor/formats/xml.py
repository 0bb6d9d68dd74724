"""Streaming XML reader and rejects writer.

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
first error. Memory stays flat: iterparse reports only elements named like the record (all
elements for a path ending in ``*``); each record is cleared after use and its preceding
siblings deleted, which also frees the non-record elements before it.

Rejects (``open_rejects``): UTF-8, the source's root chain and record element with its
namespace prefixes (plus those of ``source.namespaces``), each record rebuilt from its dotted
columns, ``@`` attributes and JSON-text lists (repeated elements again), then ``_row`` and
``_error`` child elements in the record's namespace. Values read back the same, except that a
record which was bare text (``<a></a>``) gains children and so reads back an empty ``#text`` as
null. When the record is the document root the file can hold that one record only.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import polars as pl
from lxml import etree

from conveyor.errors import ConfigError, SourceError
from conveyor.formats.base import Batch, ReadResult, SourceInfo, SourceOptions
from conveyor.formats.nested import (
    FlattenCollision,
    json_text,
    parse_json_text,
    reject_columns,
)
from conveyor.schema import REJECT_ERROR, REJECT_ROW, ROW_COL

__all__ = ["DEFAULT_RECORD_PATH", "TEXT_COL", "VALUE_COL", "XmlRejectSink", "open_rejects", "read"]

DEFAULT_RECORD_PATH = "/*/*"
TEXT_COL = "#text"  # a record element's own text
VALUE_COL = "_value"  # reader rejects: the record element as XML text

_ENCODING_DECL = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_LOCATION = re.compile(r", line \d+, column \d+$")
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- record paths --------------------------------------------------------------------------


@dataclass(frozen=True)
class _RecordPath:
    text: str
    steps: tuple[str | None, ...]  # Clark names; None matches any element
    absolute: bool

    def matches(self, stack: list[str]) -> bool:
        size = len(self.steps)
        if len(stack) < size or (self.absolute and len(stack) != size):
            return False
        return all(s is None or s == tag for s, tag in zip(self.steps, stack[-size:], strict=True))

    @property
    def local(self) -> str | None:
        """The local name of the record element, unless it is ``*``."""
        last = self.steps[-1]
        return None if last is None else _local(last)


def _parse_record_path(path: Path, text: str, namespaces: dict[str, str]) -> _RecordPath:
    parts = text.strip().removeprefix("/").split("/")
    steps: list[str | None] = []
    for part in parts:
        if not part:
            raise SourceError(path, f"source.record_path {text!r} has an empty step")
        if part == "*":
            steps.append(None)
            continue
        prefix, _, local = part.rpartition(":")
        if prefix and prefix not in namespaces:
            raise SourceError(
                path,
                f"source.record_path {text!r} uses the prefix {prefix!r}, which "
                f"source.namespaces does not declare; add {prefix}: <namespace URI>",
            )
        steps.append(f"{{{namespaces[prefix]}}}{local}" if prefix else local)
    return _RecordPath(text=text, steps=tuple(steps), absolute=text.strip().startswith("/"))


def _local(tag: str) -> str:
    return _split(tag)[1]


def _uri(tag: str) -> str:
    return _split(tag)[0]


@functools.lru_cache(maxsize=4096)
def _split(tag: str) -> tuple[str, str]:
    """A Clark name's namespace URI ('' for none) and local name (cached: tags repeat)."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


# --- reading -------------------------------------------------------------------------------


def read(path: Path, options: SourceOptions) -> ReadResult:
    """Describe the XML file at ``path`` and stream its records in batches."""
    path = Path(path)
    record_path = _parse_record_path(
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
    path: Path, record_path: _RecordPath, options: SourceOptions, layout: dict[str, Any]
) -> Iterator[Batch]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise SourceError(path, f"cannot open: {exc.strerror}") from exc
    with fh:
        head = fh.read(256)
        if not head:
            raise SourceError(path, "the file is empty: expected an XML document")
        layout["encoding"] = _declared_encoding(head)
        fh.seek(0)
        fields = _Fields(path, options.flatten_depth, layout["xml_paths"])
        builder = _BatchBuilder(layout["json_columns"])
        for number, element in _Walker(path, fh, record_path, options, layout).records():
            try:
                builder.add(number, fields.record(element))
            except FlattenCollision as exc:
                text = etree.tostring(element, encoding="unicode", with_tail=False)
                reason = f"record {number}: two elements give the column {exc.name!r}"
                builder.reject(number, text, reason)
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


def _syntax_problem(exc: etree.XMLSyntaxError) -> str:
    """The first error libxml2 logged (the exception's own message can be a later symptom)."""
    log: Iterable[Any] = exc.error_log  # type: ignore[assignment]
    errors = [e for e in log if e.level_name in ("ERROR", "FATAL")]
    if errors:
        line, column, message = errors[0].line, errors[0].column, errors[0].message
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
        record_path: _RecordPath,
        options: SourceOptions,
        layout: dict[str, Any],
    ) -> None:
        self.path = path
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
            huge_tree=False,
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
            raise SourceError(self.path, _syntax_problem(exc)) from exc
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
        if self.record_path.local == _local(element.tag) and len(self.lookalikes) < 5:
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


# --- fields --------------------------------------------------------------------------------


@dataclass
class _Fields:
    """Turns a record element into ``{column: text | list | dict}``."""

    path: Path
    depth: int | None
    namespaces: dict[str, str]  # element or attribute path (from the record) -> namespace URI

    def record(self, element: etree._Element) -> dict[str, object]:
        out: dict[str, object] = {}
        self._collect(element, "", "", self.depth, out)
        return out

    def _collect(
        self,
        element: etree._Element,
        key: str,
        base: str,
        depth: int | None,
        out: dict[str, object],
    ) -> None:
        """Put ``element``'s content in ``out`` under ``key`` ('' for the record itself)."""
        attributes = element.items()
        if attributes:
            self._attributes(element, attributes, key, base, out)
        groups: dict[str, list[etree._Element]] = {}
        tails = []
        for child in element:
            tag = child.tag
            if type(tag) is not str:
                self._refuse_entity(child)
            groups.setdefault(_split(tag)[1], []).append(child)
            tails.append(child.tail or "")
        if not groups:
            text = element.text or ""
            if text or not attributes:
                _put(out, key or TEXT_COL, text)
            return
        direct = ((element.text or "") + "".join(tails)).strip()
        if direct:  # mixed content: the text between children, without indentation
            _put(out, key or TEXT_COL, direct)
        for name, group in groups.items():
            child_key = f"{key}.{name}" if key else name
            child_base = f"{base}.{name}" if base else name
            if child_base not in self.namespaces:
                self.namespaces[child_base] = _split(group[0].tag)[0]
            if len(group) > 1:
                _put(out, child_key, [self._item(child, child_base) for child in group])
            elif not _structured(group[0]):
                _put(out, child_key, group[0].text or "")
            elif depth == 0:
                _put(out, child_key, self._item(group[0], child_base))
            else:
                next_depth = None if depth is None else depth - 1
                self._collect(group[0], child_key, child_base, next_depth, out)

    def _item(self, element: etree._Element, base: str) -> object:
        if not _structured(element):
            return element.text or ""
        out: dict[str, object] = {}
        self._collect(element, "", base, None, out)
        return out

    def _attributes(
        self,
        element: etree._Element,
        attributes: Iterable[tuple[Any, Any]],
        key: str,
        base: str,
        out: dict[str, object],
    ) -> None:
        names: set[str] = set()
        for qname, value in attributes:
            uri, local = _split(str(qname))
            name = "@" + local
            if name in names:
                prefixes = {u: p for p, u in element.nsmap.items() if p}
                name = f"@{prefixes.get(uri, 'ns')}:{local}"
            names.add(name)
            _put(out, _join(key, name), str(value))
            if uri:
                self.namespaces.setdefault(_join(base, name), uri)

    def _refuse_entity(self, node: etree._Element) -> None:
        # Unreachable while DOCTYPEs with entities are refused; kept as a second lock.
        raise SourceError(
            self.path,
            f"line {node.sourceline}: the entity reference {node.text} cannot be resolved "
            "(entities are not allowed); write its text instead",
        )


def _structured(element: etree._Element) -> bool:
    return len(element) > 0 or bool(element.attrib)


def _put(out: dict[str, object], key: str, value: object) -> None:
    if key in out:
        raise FlattenCollision(key)
    out[key] = value


@dataclass
class _BatchBuilder:
    json_columns: list[str]
    rows: list[dict[str, object]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    rejects: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.numbers) + len(self.rejects)

    def add(self, number: int, row: dict[str, object]) -> None:
        self.rows.append(row)
        self.numbers.append(number)

    def reject(self, number: int, text: str, reason: str) -> None:
        self.rejects.append((text, number, reason))

    def take(self, position: int) -> Batch:
        seen: dict[str, object] = {}
        for row in self.rows:
            seen.update(row)  # keeps first-seen key order, at C speed
        columns = [self._series(name) for name in seen]
        data = pl.DataFrame([*columns, pl.Series(ROW_COL, self.numbers, pl.Int64)])
        rejects = None
        if self.rejects:
            texts, numbers, reasons = zip(*self.rejects, strict=True)
            rejects = pl.DataFrame(
                {VALUE_COL: list(texts), ROW_COL: list(numbers), REJECT_ERROR: list(reasons)},
                schema={VALUE_COL: pl.String, ROW_COL: pl.Int64, REJECT_ERROR: pl.String},
            )
        self.rows, self.numbers, self.rejects = [], [], []
        return Batch(data=data, rejects=rejects, position=position)

    def _series(self, name: str) -> pl.Series:
        values = [row.get(name) for row in self.rows]
        kinds = set(map(type, values))
        if list in kinds or dict in kinds:
            if name not in self.json_columns:
                self.json_columns.append(name)
            values = [v if v is None or isinstance(v, str) else json_text(v) for v in values]
        return pl.Series(name, values, pl.String)


# --- rejects -------------------------------------------------------------------------------


def open_rejects(path: Path, info: SourceInfo) -> XmlRejectSink:
    """Open a rejects file with the source's root elements, record element and prefixes."""
    return XmlRejectSink(Path(path), info)


@dataclass
class _Node:
    """An element being rebuilt from dotted columns."""

    text: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[_Node]] = field(default_factory=dict)

    def child(self, name: str) -> _Node:
        nodes = self.children.setdefault(name, [])
        if not nodes:
            nodes.append(_Node())
        return nodes[-1]

    def place(self, key: str, value: object) -> None:
        """Set the column ``key`` (relative to this element) to ``value``."""
        parts = key.split(".")
        at = next((i for i, part in enumerate(parts) if part.startswith("@")), len(parts))
        parts = [*parts[:at], ".".join(parts[at:])] if at < len(parts) else parts
        node = self
        for part in parts[:-1]:
            node = node.child(part)
        node.set(parts[-1], value)

    def set(self, name: str, value: object) -> None:
        if isinstance(value, list):
            self.children.setdefault(name, []).extend(_Node.of(item) for item in value)
        elif isinstance(value, dict):
            self.child(name).fill(value)
        elif name.startswith("@"):
            self.attrs[name[1:]] = _xml_text(value)
        elif name == TEXT_COL:
            self.text = _xml_text(value)
        else:
            self.child(name).text = _xml_text(value)

    def fill(self, flat: dict[str, object]) -> None:
        for key, value in flat.items():
            if value is not None:
                self.place(key, value)

    @staticmethod
    def of(item: object) -> _Node:
        node = _Node()
        if isinstance(item, dict):
            node.fill(item)
        elif item is not None:
            node.text = _xml_text(item)
        return node


def _xml_text(value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    return _NOT_XML_CHARS.sub("\ufffd", text)


class XmlRejectSink:
    """Writes rejected records under the source's root elements, streaming (lxml xmlfile).

    Records are rebuilt from dotted columns and ``@`` attributes; JSON-text lists become
    repeated elements again; ``_row`` and ``_error`` are child elements of each record. The
    namespaces come from the source (with its prefixes) and ``source.namespaces``.
    """

    def __init__(self, path: Path, info: SourceInfo) -> None:
        self.path = path
        self._info = info
        extra = info.extra
        ancestors = extra.get("xml_ancestors")
        self._ancestors = _str_list(ancestors) if isinstance(ancestors, list) else ["records"]
        record_tag = extra.get("xml_record_tag")
        self._record_tag = record_tag if isinstance(record_tag, str) else "record"
        paths = extra.get("xml_paths")
        self._paths: dict[str, str] = paths if isinstance(paths, dict) else {}
        self._json_columns = _str_list(extra.get("json_columns"))
        self._count = 0
        self._stack: ExitStack | None = ExitStack()
        try:
            fh = self._stack.enter_context(path.open("wb"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot write the rejects file: {exc.strerror}") from exc
        self._xf = self._stack.enter_context(etree.xmlfile(fh, encoding="utf-8"))
        self._xf.write_declaration()
        for i, tag in enumerate(self._ancestors):
            nsmap = self._nsmap() if i == 0 else None
            self._stack.enter_context(self._xf.element(tag, nsmap=nsmap))

    def _nsmap(self) -> dict[str | None, str]:
        found = self._info.extra.get("xml_nsmap")
        nsmap: dict[str | None, str] = dict(found) if isinstance(found, dict) else {}
        for prefix, uri in self._info.options.namespaces.items():
            if prefix not in nsmap and uri not in nsmap.values():
                nsmap[prefix] = uri
        return nsmap

    def __enter__(self) -> XmlRejectSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, frame: pl.DataFrame) -> None:
        columns = reject_columns(self._info.columns, frame.columns)
        for row in frame.iter_rows(named=True):
            record = _Node()
            for column in columns:
                value = self._value(column, row.get(column))
                if value is not None:
                    record.place(column, value)
            for name, source in ((REJECT_ROW, ROW_COL), (REJECT_ERROR, REJECT_ERROR)):
                if row.get(source) is not None:
                    record.set(name, row[source])
            self._emit_record(record)

    def _emit_record(self, record: _Node) -> None:
        if self._ancestors:
            self._xf.write("\n")
        elif self._count:
            raise ConfigError(
                f"{self.path}: the record element is the document root, so a rejects file "
                "holds one record only"
            )
        self._emit(self._record_tag, record, "")
        self._count += 1

    def _value(self, column: str, value: object) -> object:
        if column in self._json_columns and isinstance(value, str) and value[:1] in "[{":
            try:
                return parse_json_text(value)
            except ValueError:
                return value
        return value

    def _emit(self, tag: str, node: _Node, path: str) -> None:
        attrib = {self._attribute(path, name): value for name, value in node.attrs.items()}
        with self._xf.element(tag, attrib):
            if node.text:
                self._xf.write(node.text)
            for name, children in node.children.items():
                child_path = _join(path, name)
                uri = self._paths.get(child_path, _uri(self._record_tag))
                child_tag = f"{{{uri}}}{name}" if uri else name
                for child in children:
                    self._emit(child_tag, child, child_path)

    def _attribute(self, path: str, name: str) -> str:
        uri = self._paths.get(_join(path, "@" + name))
        local = name.rpartition(":")[2]
        return f"{{{uri}}}{local}" if uri else local

    def close(self) -> None:
        if self._stack is None:
            return
        if self._count and self._ancestors:
            self._xf.write("\n")
        elif not self._ancestors and not self._count:
            self._emit(self._record_tag, _Node(), "")  # a document needs its root element
        self._stack.close()
        self._stack = None


def _str_list(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
