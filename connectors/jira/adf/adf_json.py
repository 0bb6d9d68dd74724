"""The ADF JSON side: ADF documents read into the model (every node kept as text at
least), and the model written as ADF."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from connectors.jira.adf.model import (
    _BR,
    _CODE,
    _LINK,
    _MARK_ORDER,
    _SUPPORTED_MARKS,
    JsonDict,
    _Atom,
    _Block,
    _Break,
    _Code,
    _Heading,
    _Inline,
    _List,
    _Para,
    _Quote,
    _Rule,
    _Run,
)

# ---------------------------------------------------------------------------------------------
# ADF -> model
# ---------------------------------------------------------------------------------------------

_INLINE_TYPES: Final = frozenset(
    {
        "text",
        "hardBreak",
        "mention",
        "emoji",
        "inlineCard",
        "date",
        "status",
        "mediaInline",
        "placeholder",
        "inlineExtension",
    }
)


def _nodes(value: object) -> list[Mapping[str, Any]]:
    """The mappings in a node's ``content`` (anything malformed is skipped, never raised on)."""
    if not isinstance(value, list):
        return []
    return [node for node in value if isinstance(node, Mapping)]


def _attrs(node: Mapping[str, Any]) -> Mapping[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, Mapping) else {}


def _attr_text(node: Mapping[str, Any], *names: str) -> str:
    """The first non-empty string attribute among ``names``."""
    attrs = _attrs(node)
    for name in names:
        value = attrs.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _is_inline(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind in _INLINE_TYPES or (kind not in _BLOCK_READERS and "text" in node)


def _read_adf_blocks(nodes: Iterable[Mapping[str, Any]]) -> list[_Block]:
    """Blocks of a sequence of ADF nodes; stray inline nodes are gathered into paragraphs."""
    blocks: list[_Block] = []
    pending: list[_Atom] = []
    for node in nodes:
        if _is_inline(node):
            pending.extend(_read_adf_inline([node]))
            continue
        if pending:
            blocks.append(_Para(tuple(pending)))
            pending = []
        reader = _BLOCK_READERS.get(str(node.get("type")), _read_unknown_block)
        blocks.extend(reader(node))
    if pending:
        blocks.append(_Para(tuple(pending)))
    return blocks


def _read_unknown_block(node: Mapping[str, Any]) -> list[_Block]:
    """Container nodes (doc, layouts, bodied extensions, ...) and unknown ones: their content."""
    blocks = _read_adf_blocks(_nodes(node.get("content")))
    text = _attr_text(node, "text")
    if not blocks and text:
        blocks = [_Para((_Run(text),))]
    return blocks


def _read_paragraph(node: Mapping[str, Any]) -> list[_Block]:
    return [_Para(_read_adf_inline(_nodes(node.get("content"))))]


def _read_heading(node: Mapping[str, Any]) -> list[_Block]:
    level = _attrs(node).get("level")
    level = min(max(level, 1), 6) if isinstance(level, int) else 1
    return [_Heading(level, _read_adf_inline(_nodes(node.get("content"))))]


def _read_code_block(node: Mapping[str, Any]) -> list[_Block]:
    text = "".join(_plain_text(child) for child in _nodes(node.get("content")))
    return [_Code(_attr_text(node, "language") or None, text)]


def _read_quote(node: Mapping[str, Any]) -> list[_Block]:
    return [_Quote(tuple(_read_adf_blocks(_nodes(node.get("content")))))]


def _read_list(node: Mapping[str, Any]) -> list[_Block]:
    ordered = node.get("type") == "orderedList"
    order = _attrs(node).get("order", 1)
    start = order if isinstance(order, int) and not isinstance(order, bool) else 1
    items = []
    for child in _nodes(node.get("content")):
        if child.get("type") == "listItem":
            items.append(tuple(_read_adf_blocks(_nodes(child.get("content")))))
        else:  # not allowed by ADF; keep its text as an item of its own
            items.append(tuple(_read_adf_blocks([child])))
    return [_List(ordered, start, tuple(items))] if items else []


def _read_task_list(node: Mapping[str, Any]) -> list[_Block]:
    """taskList/decisionList: bullets; tasks start ``[ ]`` or ``[x]``; nested lists nest."""
    items: list[tuple[_Block, ...]] = []
    for child in _nodes(node.get("content")):
        kind = child.get("type")
        if kind in ("taskList", "decisionList") and items:
            items[-1] = items[-1] + tuple(_read_task_list(child))
            continue
        if kind in ("taskItem", "decisionItem", "blockTaskItem"):
            blocks = _read_adf_blocks(_nodes(child.get("content")))
        else:
            blocks = _read_adf_blocks([child])
        if kind in ("taskItem", "blockTaskItem"):
            box = "[x] " if _attrs(child).get("state") == "DONE" else "[ ] "
            first = blocks[0] if blocks else _Para(())
            if isinstance(first, _Para):
                blocks[:1] = [_Para((_Run(box), *first.atoms))]
            else:
                blocks.insert(0, _Para((_Run(box),)))
        items.append(tuple(blocks))
    return [_List(False, 1, tuple(items))] if items else []


def _read_rule(node: Mapping[str, Any]) -> list[_Block]:
    return [_Rule()]


def _read_expand(node: Mapping[str, Any]) -> list[_Block]:
    title = _attr_text(node, "title")
    blocks: list[_Block] = [_Para((_Run(title),))] if title else []
    return blocks + _read_adf_blocks(_nodes(node.get("content")))


def _read_card(node: Mapping[str, Any]) -> list[_Block]:
    atoms = _read_adf_inline([{**node, "type": "inlineCard"}])
    return [_Para(atoms)] if atoms else []


def _read_media_container(node: Mapping[str, Any]) -> list[_Block]:
    """mediaSingle/mediaGroup/media: ``[attachment: NAME]`` per media, captions as paragraphs."""
    if node.get("type") == "media":
        return [_Para((_Run(_media_placeholder(node)),))]
    blocks: list[_Block] = []
    for child in _nodes(node.get("content")):
        if child.get("type") == "media":
            blocks.append(_Para((_Run(_media_placeholder(child)),)))
        else:
            blocks.append(_Para(_read_adf_inline(_nodes(child.get("content")))))
    return blocks


def _media_placeholder(node: Mapping[str, Any]) -> str:
    name = _attr_text(node, "alt", "url", "id") or "file"
    return f"[attachment: {name}]"


def _read_table(node: Mapping[str, Any]) -> list[_Block]:
    """A table as one paragraph of ``| a | b |`` rows; cells flattened to one line each."""
    rows: list[list[_Atom]] = []
    for row in _nodes(node.get("content")):
        cells = _nodes(row.get("content"))
        if not cells:
            continue
        line: list[_Atom] = [_Run("|")]
        for cell in cells:
            line.append(_Run(" "))
            line.extend(_one_line(_read_adf_blocks(_nodes(cell.get("content")))))
            line.append(_Run(" |"))
        rows.append(line)
        if all(cell.get("type") == "tableHeader" for cell in cells):
            rows.append([_Run("|" + " --- |" * len(cells))])
    atoms: list[_Atom] = []
    for index, line in enumerate(rows):
        if index:
            atoms.append(_BR)
        atoms.extend(line)
    return [_Para(tuple(atoms))] if atoms else []


def _one_line(blocks: Sequence[_Block]) -> list[_Atom]:
    """The inline content of ``blocks`` on one line: breaks and block ends become spaces."""
    atoms: list[_Atom] = []
    for block in blocks:
        if atoms:
            atoms.append(_Run(" "))
        if isinstance(block, _Para | _Heading):
            atoms.extend(_Run(" ") if isinstance(a, _Break) else a for a in block.atoms)
        elif isinstance(block, _Code):
            atoms.append(_Run(block.text.replace("\n", " "), frozenset({_CODE})))
        elif isinstance(block, _Quote):
            atoms.extend(_one_line(block.blocks))
        elif isinstance(block, _List):
            atoms.extend(_one_line([b for item in block.items for b in item]))
    return [a for a in atoms if not isinstance(a, _Run) or a.text]


_BLOCK_READERS: Final = {
    "paragraph": _read_paragraph,
    "heading": _read_heading,
    "codeBlock": _read_code_block,
    "blockquote": _read_quote,
    "panel": _read_quote,
    "bulletList": _read_list,
    "orderedList": _read_list,
    "taskList": _read_task_list,
    "decisionList": _read_task_list,
    "rule": _read_rule,
    "expand": _read_expand,
    "nestedExpand": _read_expand,
    "blockCard": _read_card,
    "embedCard": _read_card,
    "mediaSingle": _read_media_container,
    "mediaGroup": _read_media_container,
    "media": _read_media_container,
    "table": _read_table,
}


def _read_adf_inline(nodes: Iterable[Mapping[str, Any]]) -> _Inline:
    """Runs and breaks of ADF inline nodes; block nodes met here give their text, line by line."""
    atoms: list[_Atom] = []
    for node in nodes:
        kind = node.get("type")
        if kind == "text":
            text = node.get("text")
            if isinstance(text, str) and text:
                marks, href = _read_marks(node.get("marks"))
                atoms.append(_Run(text, marks, href))
        elif kind == "hardBreak":
            atoms.append(_BR)
        elif kind == "mention":
            name = _attr_text(node, "text", "displayName", "id") or "someone"
            atoms.append(_Run(name if name.startswith("@") else "@" + name))
        elif kind == "emoji":
            atoms.append(_Run(_attr_text(node, "text", "shortName") or "?"))
        elif kind == "inlineCard":
            url = _card_url(node)
            if url:
                atoms.append(_Run(url, frozenset({_LINK}), url))
        elif kind == "date":
            atoms.append(_Run(_date_text(_attrs(node).get("timestamp"))))
        elif kind == "mediaInline":
            atoms.append(_Run(_media_placeholder(node)))
        elif kind == "placeholder":
            continue
        elif kind in _BLOCK_READERS:
            for block in _read_adf_blocks([node]):  # a block where text belongs: one line each
                if atoms:
                    atoms.append(_BR)
                atoms.extend(_one_line([block]))
        else:  # status, inline extensions, unknown inline nodes: their text
            atoms.extend(_read_unknown_inline(node))
    return tuple(atoms)


def _read_unknown_inline(node: Mapping[str, Any]) -> _Inline:
    inner = _read_adf_inline(_nodes(node.get("content")))
    if inner:
        return inner
    text = _attr_text(node, "text") or node.get("text")
    return (_Run(text),) if isinstance(text, str) and text else ()


def _read_marks(value: object) -> tuple[frozenset[str], str | None]:
    marks: set[str] = set()
    href: str | None = None
    for mark in _nodes(value):
        kind = mark.get("type")
        if kind == _LINK:
            url = _attr_text(mark, "href")
            if url:
                marks.add(_LINK)
                href = url
        elif kind in _SUPPORTED_MARKS:
            marks.add(str(kind))
    return frozenset(marks), href


def _card_url(node: Mapping[str, Any]) -> str:
    url = _attr_text(node, "url")
    data = _attrs(node).get("data")
    if not url and isinstance(data, Mapping):
        found = data.get("url") or data.get("name")
        url = found if isinstance(found, str) else ""
    return url


def _date_text(timestamp: object) -> str:
    try:
        millis = int(str(timestamp))
        return datetime.fromtimestamp(millis / 1000, UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return str(timestamp or "")


def _plain_text(node: Mapping[str, Any]) -> str:
    """All text under ``node``, hard breaks as newlines."""
    if node.get("type") == "hardBreak":
        return "\n"
    text = node.get("text")
    own = text if isinstance(text, str) else ""
    return own + "".join(_plain_text(child) for child in _nodes(node.get("content")))


# ---------------------------------------------------------------------------------------------
# Model -> ADF JSON
# ---------------------------------------------------------------------------------------------


def _block_json(block: _Block) -> JsonDict:
    if isinstance(block, _Para):
        return {"type": "paragraph", "content": _inline_json(block.atoms)}
    if isinstance(block, _Heading):
        return {
            "type": "heading",
            "attrs": {"level": block.level},
            "content": _inline_json(block.atoms),
        }
    if isinstance(block, _Code):
        node: JsonDict = {"type": "codeBlock"}
        if block.language:
            node["attrs"] = {"language": block.language}
        node["content"] = [{"type": "text", "text": block.text}] if block.text else []
        return node
    if isinstance(block, _Quote):
        return {"type": "blockquote", "content": [_block_json(b) for b in block.blocks]}
    if isinstance(block, _List):
        items = [
            {"type": "listItem", "content": [_block_json(b) for b in item]} for item in block.items
        ]
        if block.ordered:
            return {"type": "orderedList", "attrs": {"order": block.start}, "content": items}
        return {"type": "bulletList", "content": items}
    return {"type": "rule"}


def _inline_json(atoms: _Inline) -> list[JsonDict]:
    nodes: list[JsonDict] = []
    for atom in atoms:
        if isinstance(atom, _Break):
            nodes.append({"type": "hardBreak"})
            continue
        node: JsonDict = {"type": "text", "text": atom.text}
        marks = [_mark_json(mark, atom.href) for mark in _MARK_ORDER if mark in atom.marks]
        if marks:
            node["marks"] = marks
        nodes.append(node)
    return nodes


def _mark_json(mark: str, href: str | None) -> JsonDict:
    if mark == _LINK:
        return {"type": _LINK, "attrs": {"href": href}}
    return {"type": mark}
