"""A record element as ``{column: text | list | dict}``: the columns described in ``xml``.

Attributes as ``@name``, the element's own text as ``#text``, children under their local names
(structured ones flattened to dotted columns, repeated ones as lists). The namespace of every
element and attribute path is noted for the rejects writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from conveyor.errors import SourceError
from conveyor.formats.nested import FlattenCollision
from conveyor.formats.xml_paths import join_key, split_tag

__all__ = ["TEXT_COL", "Fields"]

TEXT_COL = "#text"  # a record element's own text
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


@dataclass
class Fields:
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
            groups.setdefault(split_tag(tag)[1], []).append(child)
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
                self.namespaces[child_base] = split_tag(group[0].tag)[0]
            if len(group) > 1:
                _put(out, child_key, [self._item(child, child_base) for child in group])
            elif _nil(group[0]):
                _put(out, child_key, None)
            elif not _structured(group[0]):
                _put(out, child_key, group[0].text or "")
            elif depth == 0:
                _put(out, child_key, self._item(group[0], child_base))
            else:
                next_depth = None if depth is None else depth - 1
                self._collect(group[0], child_key, child_base, next_depth, out)

    def _item(self, element: etree._Element, base: str) -> object:
        if _nil(element):
            return None
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
            uri, local = split_tag(str(qname))
            name = "@" + local
            if name in names:
                prefixes = {u: p for p, u in element.nsmap.items() if p}
                name = f"@{prefixes.get(uri, 'ns')}:{local}"
            names.add(name)
            _put(out, join_key(key, name), str(value))
            if uri:
                self.namespaces.setdefault(join_key(base, name), uri)

    def _refuse_entity(self, node: etree._Element) -> None:
        # Unreachable while DOCTYPEs with entities are refused; kept as a second lock.
        raise SourceError(
            self.path,
            f"line {node.sourceline}: the entity reference {node.text} cannot be resolved "
            "(entities are not allowed); write its text instead",
        )


def _nil(element: etree._Element) -> bool:
    """An empty element whose only attribute is ``xsi:nil="true"``: XML Schema's null."""
    return (
        len(element) == 0
        and len(element.attrib) == 1
        and element.get(XSI_NIL) in ("true", "1")
        and not (element.text or "").strip()
    )


def _structured(element: etree._Element) -> bool:
    return len(element) > 0 or bool(element.attrib)


def _put(out: dict[str, object], key: str, value: object) -> None:
    if key in out:
        raise FlattenCollision(key)
    out[key] = value
