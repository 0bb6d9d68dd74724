"""XML rejects writer: rejected records under the source's root elements.

The file is UTF-8, with the source's root chain and record element and their
namespace prefixes (plus those of ``source.namespaces``), each record rebuilt from its dotted
columns, ``@`` attributes and JSON-text lists (repeated elements again), then ``_row`` and
``_error`` child elements in the record's namespace. Values read back the same, except that a
record which was bare text (``<a></a>``) gains children and so reads back an empty ``#text`` as
null. When the record is the document root the file can hold that one record only.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from lxml import etree

from conveyor.errors import ConfigError
from conveyor.formats.base import ClosingSink, SourceInfo
from conveyor.formats.nested import parse_json_text, reject_columns
from conveyor.formats.xml_fields import TEXT_COL
from conveyor.formats.xml_paths import join_key, namespace_uri
from conveyor.schema import REJECT_ERROR, REJECT_ROW, ROW_COL

__all__ = ["XmlRejectSink", "open_rejects"]

_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


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


class XmlRejectSink(ClosingSink):
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
                child_path = join_key(path, name)
                uri = self._paths.get(child_path, namespace_uri(self._record_tag))
                child_tag = f"{{{uri}}}{name}" if uri else name
                for child in children:
                    self._emit(child_tag, child, child_path)

    def _attribute(self, path: str, name: str) -> str:
        uri = self._paths.get(join_key(path, "@" + name))
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
