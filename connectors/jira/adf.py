"""Atlassian Document Format (ADF) to and from plain text or Markdown, for the Jira connector.

Jira Cloud's REST v3 carries rich text (an issue's ``description``, comment bodies, rich-text
custom fields) as ADF JSON; the local ``tickets`` table holds text. :func:`to_adf` converts on the
way out and :func:`from_adf` on the way in. The one property that matters most to the sync is the
*echo*: text that :func:`from_adf` produced, sent back through :func:`to_adf` and read again,
comes back identical, so a ticket the sync just wrote never looks changed and never ping-pongs.

How
---
Markdown is read with markdown-it-py (already installed as a dependency of rich): a CommonMark
tokenizer, with ``~~strike~~`` enabled and raw HTML, images, entity references and link reference
definitions turned off (so ``<b>``, ``&amp;``, ``![x](y)`` and ``[x]: y`` stay literal text and
never vanish). Its tokens become ADF here; ADF is written back as Markdown by hand, and each
paragraph that could read as markup is parsed back to check it reads as the same ADF. The PyPI
packages that convert Markdown and ADF (``marklas``, ``adflux``, ``adf-bridge``, ``md-adf``,
``md2adf``...) were looked at: all are young 0.x releases without a track record; the one tried
end to end (marklas 0.8.6) does not round-trip (it joins a paragraph's lines, drops ``<b>`` typed
as text, and writes ``snake\\_case``), none has a plain-text mode, and adflux pulls in panflute
and structlog. So no new dependency.

The Markdown subset (``markdown=True``), both ways
-------------------------------------------------
paragraphs (blank line between), ``#``..``######`` headings, ``**strong**``, ``*em*``,
`` `code` ``, ``~~strike~~``, ``[text](url)`` and ``<url>`` links, ``- `` bullet lists and ``1. ``
ordered lists (nested content is indented to the item's text column: 2 spaces under ``- ``, 3
under ``1. ``), fenced code blocks with an optional language, ``> `` blockquotes, ``---`` rule.
A single newline inside a paragraph is an ADF ``hardBreak`` both ways (CommonMark calls it a soft
break; Jira has no soft break, and keeping the author's lines is what a ticket wants).
``markdown=False`` is plain text: paragraphs (blank line) and hard breaks, nothing interpreted.

Exact and one-way
-----------------
*Exact*: for any text ``s`` that :func:`from_adf` returns, ``from_adf(to_adf(s)) == s``; and for
any text written in the canonical form below, ``from_adf(to_adf(s)) == normalize_text(s)``. The
canonical form is what :func:`from_adf` writes: ``*`` for em, ``**`` strong, ``~~`` strike, ``-``
bullets, ``1.`` numbers counting up from the list's start, ATX headings, backtick fences (longer
when the code holds backticks; ``~~~`` when the language holds one), ``---``, tight lists, one
blank line between blocks (a nested list follows its item's paragraph on the next line, unless it
is numbered from other than 1), marks opened and closed on each line (``**a**\\n**b**``), a link
inside a mark that covers the same text (``**[x](u)**``), ``<url>`` for a link whose text is its
URL, and the fewest backslash escapes that keep literal text literal (below). In plain mode every
text is exact after :func:`normalize_text`; :func:`from_adf` with ``markdown=False`` writes rich
documents as text without markup (headings and paragraphs as lines, ``- ``/``1. `` items, code
as-is, ``> `` quotes, ``---``), which plain :func:`to_adf` keeps as literal paragraphs.

*One-way* (Markdown read into ADF, written back in the canonical spelling; the text is kept):
``_em_``/``__strong__`` -> ``*``/``**``; ``*``/``+`` bullets and ``1)`` -> ``-``/``1.``; loose
lists -> tight; setext headings and indented code blocks -> ``#`` and fenced; ``***``/``___`` ->
``---``; two trailing spaces or a backslash before a newline -> plain newline; surplus blank lines
and blank lines inside lists; extra backslash escapes; link titles (dropped); a heading, rule or
blockquote inside a list item or blockquote (Jira allows none there: headings become paragraphs,
rules are dropped, quotes are unwrapped); ``**`code`**`` (ADF's code mark takes no other
formatting mark, so code wins); two lists of the same kind next to each other (one list); marks
whose edges are whitespace (the whitespace moves outside: ``** a**`` is not even Markdown).

*One-way* from ADF (text kept, structure simplified, stable after one round trip):
mention -> ``@Display Name`` (attrs.text); emoji -> its text (the character) or else shortName;
inlineCard/blockCard/embedCard -> a ``<url>`` link; date -> ``YYYY-MM-DD`` (UTC); status -> its
text; panel -> blockquote; expand -> its title as a paragraph, then its content; table -> one
paragraph of ``| a | b |`` rows (``| --- |`` after a header row); media, mediaSingle, mediaGroup,
mediaInline -> ``[attachment: NAME]`` (alt text, else URL, else id), caption as a paragraph;
taskList -> ``- [ ] ...``/``- [x] ...``; decisionList -> bullets; underline, textColor,
backgroundColor, subsup, alignment, indentation and annotations are dropped (text kept);
placeholder nodes are dropped; any other node -> the text of its descendants. A link whose URL
markdown-it refuses (``javascript:``, ``vbscript:``, ``file:``, ``data:``) keeps its text but not
its URL, and so does emphasis that no Markdown spelling can express (``*a.*b`` is not emphasis in
CommonMark): such a paragraph loses its formatting marks, never its text.

Escaping
--------
Literal text that would read as markup gets a backslash, and only where it would: each
candidate character (``\\ ` * _ ~ [ ] <`` anywhere, ``# > - + =`` and the ``.``/``)`` of ``1.``
at the start of a line, ``#`` in headings) starts escaped and its escape is removed, right to
left, while the paragraph still reads back to the same ADF (checked by parsing it). So
``snake_case``, ``a * b`` and ``#hashtag`` stay as typed, while ADF text ``2*3*4`` (literal) is
written ``2\\*3*4``; typed ``2*3*4`` is CommonMark emphasis, read as ``2``, em ``3``, ``4``
and written back as ``2*3*4``, exact either way. Paragraphs with more than
``_MAX_MINIMISED_ESCAPES`` candidates keep every escape (still exact on the way back, just not
minimal).

Normalisation (:func:`normalize_text`, both sides)
-------------------------------------------------
``\\r\\n``/``\\r`` -> ``\\n``; NUL -> U+FFFD (as CommonMark does; PostgreSQL text cannot hold NUL);
trailing whitespace (``str.isspace``) on every line removed, code blocks included; leading and
trailing blank
lines removed; plain mode also collapses 3+ newlines to one blank line (Markdown needs no rule:
the reader ignores surplus blank lines outside code and the writer emits one). In Markdown mode
whitespace at the start of a paragraph line is not content (CommonMark), so ADF text starting a
line with spaces loses them; plain mode keeps them.

Markdown nested deeper than markdown-it reads (``_MAX_NESTING`` token levels: more than 48
nested lists or 97 nested quotes) would lose its tail there, so such text is read as plain text.

Cost: each paragraph or heading that holds marks or markup-like characters is parsed back once
or a few times to check it (up to ``_MAX_MINIMISED_ESCAPES`` more to minimise escapes);
typical descriptions take milliseconds, a 2,000-line log in one paragraph about half a second.

Empty
-----
``to_adf(None)``, ``to_adf("")`` and ``to_adf`` of text that normalises to nothing return None
(Jira clears the field); ``from_adf(None)`` and ``from_adf`` of a document that writes nothing (no
content, or only empty paragraphs) return None, never ``""``: None, ``""`` and an empty document
all compare equal after a round trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

__all__ = ["from_adf", "normalize_text", "to_adf"]

JsonDict = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# The document model both directions share: ADF reduced to the subset, and what Markdown reads to.
# ---------------------------------------------------------------------------------------------

_STRONG: Final = "strong"
_EM: Final = "em"
_STRIKE: Final = "strike"
_CODE: Final = "code"
_LINK: Final = "link"
_FORMAT_MARKS: Final = frozenset({_STRONG, _EM, _STRIKE})
_SUPPORTED_MARKS: Final = _FORMAT_MARKS | {_CODE, _LINK}
_MARK_ORDER: Final = (_STRONG, _EM, _STRIKE, _CODE, _LINK)  # order of marks in emitted ADF


@dataclass(frozen=True)
class _Run:
    """A text run with its marks; ``href`` is set exactly when ``"link"`` is in ``marks``."""

    text: str
    marks: frozenset[str] = frozenset()
    href: str | None = None


@dataclass(frozen=True)
class _Break:
    """An ADF ``hardBreak``: a newline inside a paragraph."""


_BR: Final = _Break()
_Atom = _Run | _Break
_Inline = tuple[_Atom, ...]


@dataclass(frozen=True)
class _Para:
    atoms: _Inline


@dataclass(frozen=True)
class _Heading:
    level: int
    atoms: _Inline


@dataclass(frozen=True)
class _Code:
    language: str | None
    text: str


@dataclass(frozen=True)
class _Quote:
    blocks: tuple[_Block, ...]


@dataclass(frozen=True)
class _List:
    ordered: bool
    start: int
    items: tuple[tuple[_Block, ...], ...]


@dataclass(frozen=True)
class _Rule:
    """An ADF ``rule`` (``---``)."""


_Block = _Para | _Heading | _Code | _Quote | _List | _Rule

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def to_adf(text: str | None, markdown: bool = True) -> JsonDict | None:
    """ADF document for ``text`` (Markdown subset, or plain text), or None when it is empty.

    See the module docstring for the subset, what round-trips exactly and the normalisation.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"to_adf expects str or None, not {type(text).__name__}")
    clean = normalize_text(text, markdown)
    if not clean:
        return None
    blocks = _normalize_blocks(_read_markdown(clean), "doc") if markdown else _read_plain(clean)
    if not blocks:
        return None
    return {"type": "doc", "version": 1, "content": [_block_json(b) for b in blocks]}


def from_adf(doc: Mapping[str, Any] | None, markdown: bool = True) -> str | None:
    """Text (Markdown subset, or plain text) for an ADF document, or None when it has no text.

    Never loses text: nodes outside the subset are written as described in the module docstring.
    """
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        raise TypeError(f"from_adf expects a mapping or None, not {type(doc).__name__}")
    blocks = _read_adf_blocks([doc])
    if markdown:
        text = _render_md_blocks(_normalize_blocks(blocks, "doc"), "doc")
    else:
        text = _render_plain_blocks(blocks)
    clean = normalize_text(text, markdown)
    return clean or None


def normalize_text(text: str, markdown: bool = True) -> str:
    """``text`` as both directions normalise it (see the module docstring); "" when blank.

    The sync engine may apply it to local text before comparing it with :func:`from_adf` output.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    if not markdown:
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text


# ---------------------------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------------------------


def _read_plain(text: str) -> list[_Block]:
    """Paragraphs split on blank lines; every other newline a hard break; nothing interpreted."""
    return [_Para(_lines_to_atoms(para.split("\n"))) for para in text.split("\n\n")]


def _lines_to_atoms(lines: Sequence[str], marks: frozenset[str] = frozenset()) -> _Inline:
    atoms: list[_Atom] = []
    for index, line in enumerate(lines):
        if index:
            atoms.append(_BR)
        if line:
            atoms.append(_Run(line, marks))
    return tuple(atoms)


def _render_plain_blocks(blocks: Sequence[_Block], separator: str = "\n\n") -> str:
    return separator.join(_render_plain_block(block) for block in blocks)


def _render_plain_block(block: _Block) -> str:
    if isinstance(block, _Para | _Heading):
        return "".join("\n" if isinstance(a, _Break) else a.text for a in block.atoms)
    if isinstance(block, _Code):
        return block.text
    if isinstance(block, _Quote):
        return _prefix_lines(_render_plain_blocks(block.blocks), "> ", ">")
    if isinstance(block, _List):
        items = [_render_plain_blocks(item, "\n") for item in block.items]
        return _render_list_items(block, items)
    return "---"


# ---------------------------------------------------------------------------------------------
# Markdown -> model (markdown-it-py tokens)
# ---------------------------------------------------------------------------------------------

_MAX_NESTING: Final = 100  # markdown-it drops the rest of a document nested deeper than this


class _MarkdownParser(MarkdownIt):
    """CommonMark + strikethrough; no HTML, images, entities or reference definitions.

    Link destinations are kept exactly as written (markdown-it would percent-encode them), so a
    URL read from Jira is the URL written back. Dangerous schemes are still refused.
    """

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False, "maxNesting": _MAX_NESTING})
        self.enable("strikethrough")
        self.disable(["reference", "image", "entity", "html_block", "html_inline"])

    def normalizeLink(self, url: str) -> str:
        return url

    def normalizeLinkText(self, link: str) -> str:
        return link


_PARSER: Final = _MarkdownParser()


def _read_markdown(text: str) -> list[_Block]:
    """Blocks of Markdown ``text``; plain paragraphs if it nests deeper than markdown-it reads."""
    tokens = _PARSER.parse(text)
    if any(token.level >= _MAX_NESTING - 1 for token in tokens):
        return _read_plain(text)
    blocks, _ = _blocks_from_tokens(tokens, 0, None)
    return blocks


def _blocks_from_tokens(
    tokens: Sequence[Token], index: int, close: str | None
) -> tuple[list[_Block], int]:
    """Blocks from ``tokens[index:]`` up to the token of type ``close``; and the index after it."""
    blocks: list[_Block] = []
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == close:
            return blocks, index + 1
        if kind == "paragraph_open":
            blocks.append(_Para(_atoms_from_inline(tokens[index + 1])))
            index += 3
        elif kind == "heading_open":
            blocks.append(_Heading(int(token.tag[1:]), _atoms_from_inline(tokens[index + 1])))
            index += 3
        elif kind == "blockquote_open":
            inner, index = _blocks_from_tokens(tokens, index + 1, "blockquote_close")
            blocks.append(_Quote(tuple(inner)))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            block, index = _list_from_tokens(tokens, index)
            blocks.append(block)
        elif kind in ("fence", "code_block"):
            blocks.append(_Code(_fence_language(token.info), _strip_one_newline(token.content)))
            index += 1
        elif kind == "hr":
            blocks.append(_Rule())
            index += 1
        else:  # nothing else is enabled; keep any text a future rule might produce
            if token.content:
                blocks.append(_Para(_lines_to_atoms(token.content.split("\n"))))
            index += 1
    return blocks, index


def _list_from_tokens(tokens: Sequence[Token], index: int) -> tuple[_List, int]:
    opening = tokens[index]
    ordered = opening.type == "ordered_list_open"
    start_attr = opening.attrGet("start")
    start = int(start_attr) if ordered and start_attr is not None else 1
    items: list[tuple[_Block, ...]] = []
    index += 1
    while tokens[index].type == "list_item_open":
        inner, index = _blocks_from_tokens(tokens, index + 1, "list_item_close")
        items.append(tuple(inner))
    return _List(ordered, start, tuple(items)), index + 1


def _fence_language(info: str) -> str | None:
    words = unescapeAll(info).split()
    return words[0] if words else None


def _strip_one_newline(content: str) -> str:
    return content[:-1] if content.endswith("\n") else content


def _atoms_from_inline(token: Token) -> _Inline:
    """Runs and breaks of an ``inline`` token, marks tracked through the open/close tokens."""
    depth = {_STRONG: 0, _EM: 0, _STRIKE: 0}
    opening = {"strong_open": _STRONG, "em_open": _EM, "s_open": _STRIKE}
    closing = {"strong_close": _STRONG, "em_close": _EM, "s_close": _STRIKE}
    hrefs: list[str] = []
    atoms: list[_Atom] = []
    for child in token.children or []:
        kind = child.type
        active = frozenset(mark for mark, count in depth.items() if count)
        link = {_LINK} if hrefs else set()
        href = hrefs[-1] if hrefs else None
        if kind in opening:
            depth[opening[kind]] += 1
        elif kind in closing:
            depth[closing[kind]] -= 1
        elif kind == "link_open":
            hrefs.append(str(child.attrGet("href") or ""))
        elif kind == "link_close":
            hrefs.pop()
        elif kind in ("softbreak", "hardbreak"):
            atoms.append(_BR)
        elif kind == "code_inline":
            atoms.append(_Run(child.content, active | link | {_CODE}, href))
        elif child.content:
            atoms.append(_Run(child.content, active | link, href))
    return tuple(atoms)


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
# Normalisation: the canonical model that both directions agree on (see module docstring)
# ---------------------------------------------------------------------------------------------

# What markdown-it strips at the ends of a paragraph (mdTrim): CommonMark whitespace.
_MD_TRIM: Final = "\t\n\x0b\x0c\r \xa0\u1680\u202f\u205f\u3000\u2028\u2029" + "".join(
    chr(code) for code in range(0x2000, 0x200B)
)
# What CommonMark counts as whitespace next to a ``*``/``~`` delimiter (markdown-it isWhiteSpace).
_FLANK_SPACE: Final = frozenset(
    "\t\n\x0b\x0c\r \xa0\u1680\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_MAX_ORDER: Final = 99_999_999


def _normalize_blocks(blocks: Iterable[_Block], context: str) -> list[_Block]:
    """Blocks valid in ``context`` ("doc", "quote" or "item"), merged and cleaned."""
    out: list[_Block] = []
    for block in blocks:
        for clean in _normalize_block(block, context):
            previous = out[-1] if out else None
            if (  # two lists of one kind side by side: Markdown reads them as one list
                isinstance(previous, _List)
                and isinstance(clean, _List)
                and previous.ordered == clean.ordered
            ):
                out[-1] = _List(previous.ordered, previous.start, previous.items + clean.items)
            else:
                out.append(clean)
    return out


def _normalize_block(block: _Block, context: str) -> list[_Block]:
    if isinstance(block, _Heading) and context == "doc":
        return [_Heading(block.level, _normalize_heading_atoms(block.atoms))]
    if isinstance(block, _Para | _Heading):
        return [_Para(atoms) for atoms in _normalize_para_atoms(block.atoms)]
    if isinstance(block, _Code):
        return [_Code(_clean_language(block.language), _clean_code(block.text))]
    if isinstance(block, _Quote):
        inner = _normalize_blocks(block.blocks, "quote" if context == "doc" else context)
        if context != "doc":
            return inner
        return [_Quote(tuple(inner))] if inner else []
    if isinstance(block, _List):
        items = tuple(_normalize_item(item) for item in block.items)
        start = min(max(block.start, 0), _MAX_ORDER) if block.ordered else 1
        return [_List(block.ordered, start, items)] if items else []
    return [block] if context == "doc" else []


def _normalize_item(blocks: Sequence[_Block]) -> tuple[_Block, ...]:
    """A list item's content: starts with a paragraph or code block; never empty."""
    inner = _normalize_blocks(blocks, "item")
    if not inner or isinstance(inner[0], _List):
        inner.insert(0, _Para(()))
    return tuple(inner)


def _clean_language(language: str | None) -> str | None:
    words = (language or "").split()
    return words[0] if words else None


def _clean_code(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    return "\n".join(line.rstrip() for line in text.split("\n"))


# Inline normalisation works on characters: (char, marks, href) or None for a break.
_Char = tuple[str, frozenset[str], str | None]
_Line = list[_Char]


def _normalize_para_atoms(atoms: Iterable[_Atom]) -> list[_Inline]:
    """The paragraphs ``atoms`` read as in CommonMark: an empty line splits a paragraph."""
    lines = _strip_mark_edges(_lines_of(atoms))
    lines = [_strip_line(line, lead=" \t") for line in lines]
    paragraphs: list[list[_Line]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [
        _atoms_of([_strip_line(para[0], lead=_MD_TRIM), *para[1:]]) for para in paragraphs if para
    ]


def _normalize_heading_atoms(atoms: Iterable[_Atom]) -> _Inline:
    """A heading is one line: breaks become spaces; ends trimmed as markdown-it trims them."""
    lines = _lines_of(atoms)
    joined: _Line = []
    for index, line in enumerate(lines):
        if index:
            joined.append((" ", frozenset(), None))
        joined.extend(line)
    (line,) = _strip_mark_edges([joined])
    return _atoms_of([_strip_line(line, lead=_MD_TRIM)])


def _lines_of(atoms: Iterable[_Atom]) -> list[_Line]:
    """Characters with valid marks, split into lines at breaks and at newlines inside text."""
    lines: list[_Line] = [[]]
    for atom in atoms:
        if isinstance(atom, _Break):
            lines.append([])
            continue
        marks = atom.marks & _SUPPORTED_MARKS
        href = atom.href if _LINK in marks and atom.href else None
        if href is None:
            marks -= {_LINK}
        if _CODE in marks:
            marks -= _FORMAT_MARKS
        text = atom.text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
        for index, part in enumerate(text.split("\n")):
            if index:
                lines.append([])
            lines[-1].extend((char, marks, href) for char in part)
    return lines


def _strip_mark_edges(lines: list[_Line]) -> list[_Line]:
    """Move whitespace at the edges of strong/em/strike/link ranges outside them.

    CommonMark cannot open emphasis before whitespace or close it after, and keeping link text
    edges clean keeps line-edge whitespace unmarked. Code keeps its whitespace.
    """
    result = []
    for line in lines:
        chars = list(line)
        for mark in (*_FORMAT_MARKS, _LINK):
            _strip_one_mark(chars, mark)
        result.append(chars)
    return result


def _strip_one_mark(chars: _Line, mark: str) -> None:
    """Clean the edges of every maximal range of ``mark`` (for links: of one URL) in a line."""
    index = 0
    while index < len(chars):
        if mark not in chars[index][1]:
            index += 1
            continue
        href = chars[index][2]
        end = index
        while end < len(chars) and mark in chars[end][1]:
            if mark == _LINK and chars[end][2] != href:
                break
            end += 1
        _unmark_edges(chars, index, end, mark)
        index = end


def _unmark_edges(chars: _Line, start: int, end: int, mark: str) -> None:
    """Remove ``mark`` from the whitespace (not code) at both ends of ``chars[start:end]``."""
    for step, first in ((1, start), (-1, end - 1)):
        position = first
        while start <= position < end:
            char, marks, href = chars[position]
            if char not in _FLANK_SPACE or _CODE in marks or mark not in marks:
                break
            marks = marks - {mark}
            chars[position] = (char, marks, href if _LINK in marks else None)
            position += step


def _strip_line(line: _Line, lead: str) -> _Line:
    """Drop unmarked whitespace at the end of a line and unmarked ``lead`` characters at its
    start: Markdown has no way to keep them (marked text is inside delimiters, so it keeps its
    whitespace)."""
    end = len(line)
    while end and line[end - 1][0].isspace() and not line[end - 1][1]:
        end -= 1
    start = 0
    while start < end and line[start][0] in lead and not line[start][1]:
        start += 1
    return line[start:end]


def _atoms_of(lines: Sequence[_Line]) -> _Inline:
    """Lines of characters back to runs (adjacent characters with equal marks merged)."""
    atoms: list[_Atom] = []
    for index, line in enumerate(lines):
        if index:
            atoms.append(_BR)
        run: list[str] = []
        key: tuple[frozenset[str], str | None] | None = None
        for char, marks, href in line:
            if key != (marks, href) and run and key is not None:
                atoms.append(_Run("".join(run), *key))
                run = []
            key = (marks, href)
            run.append(char)
        if run and key is not None:
            atoms.append(_Run("".join(run), *key))
    return tuple(atoms)


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


# ---------------------------------------------------------------------------------------------
# Model -> Markdown
# ---------------------------------------------------------------------------------------------


def _render_md_blocks(blocks: Sequence[_Block], context: str) -> str:
    parts: list[str] = []
    for index, block in enumerate(blocks):
        if index:
            parts.append(_item_separator(blocks[index - 1], block) if context == "item" else "\n\n")
        parts.append(_render_md_block(block))
    return "".join(parts)


def _item_separator(previous: _Block, block: _Block) -> str:
    """Inside a list item a nested list follows its paragraph on the next line when CommonMark
    lets a list interrupt a paragraph there (bullets, or numbers from 1, with a first item that
    is not empty); otherwise blocks are a blank line apart."""
    if isinstance(previous, _Para) and not previous.atoms:
        return "\n"
    if isinstance(previous, _Para) and isinstance(block, _List):
        first = block.items[0][0]
        interrupts = not block.ordered or block.start == 1
        if interrupts and not (isinstance(first, _Para) and not first.atoms):
            return "\n"
    return "\n\n"


def _render_md_block(block: _Block) -> str:
    if isinstance(block, _Para):
        return _render_paragraph(block.atoms)
    if isinstance(block, _Heading):
        text = _render_inline_block(block.atoms, block.level) if block.atoms else ""
        return "#" * block.level + (" " + text if text else "")
    if isinstance(block, _Code):
        return _render_code_block(block)
    if isinstance(block, _Quote):
        return _prefix_lines(_render_md_blocks(block.blocks, "quote"), "> ", ">")
    if isinstance(block, _List):
        return _render_list_items(block, [_render_md_blocks(i, "item") for i in block.items])
    return "---"


def _render_list_items(block: _List, items: Sequence[str]) -> str:
    lines: list[str] = []
    for index, body in enumerate(items):
        marker = f"{block.start + index}. " if block.ordered else "- "
        if not body:
            lines.append(marker.rstrip())
            continue
        first, *rest = body.split("\n")
        lines.append(marker + first if first else marker.rstrip())
        lines.extend(" " * len(marker) + line if line else "" for line in rest)
    return "\n".join(lines)


def _prefix_lines(text: str, prefix: str, blank: str) -> str:
    return "\n".join(prefix + line if line else blank for line in text.split("\n"))


def _render_code_block(block: _Code) -> str:
    language = block.language or ""
    fence_char = "~" if "`" in language else "`"
    longest = max(
        (len(run) for run in re.findall(f"{re.escape(fence_char)}+", block.text)), default=0
    )
    fence = fence_char * max(3, longest + 1)
    info = language.replace("\\", "\\\\").replace("&", "\\&")
    if info.startswith(fence_char):  # or it would lengthen the fence
        info = " " + info
    body = block.text + "\n" if block.text else ""
    return f"{fence}{info}\n{body}{fence}"


# Inline rendering. A paragraph's Markdown is checked by parsing it back; see _render_verified.

_MAX_MINIMISED_ESCAPES: Final = 40
_INLINE_SPECIAL: Final = frozenset("\\`*_~[]<")
_LINE_START_SPECIAL: Final = frozenset("#>-+=")
_ORDERED_MARKER: Final = re.compile(r"[0-9]{1,9}[.)]")
_AUTOLINK: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\x00-\x20]*")
_EMAIL: Final = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
_DELIMITERS: Final = {_STRONG: "**", _EM: "*", _STRIKE: "~~"}
_KEY_ORDER: Final = {_STRONG: 0, _EM: 1, _STRIKE: 2}  # links open innermost on ties

_Escapes = frozenset[tuple[int, int]]
# Marks dropped, in turn, from a paragraph that has no Markdown spelling reading back the same.
_REDUCTIONS: Final[tuple[frozenset[str], ...]] = (
    frozenset(),
    _FORMAT_MARKS,
    _FORMAT_MARKS | {_LINK},
    _SUPPORTED_MARKS,
)


def _render_paragraph(atoms: _Inline) -> str:
    """A paragraph's Markdown; if it has no spelling that reads back the same, its marks are
    dropped in steps (formatting, then links, then code) until one does. Text is never lost."""
    if not atoms:
        return ""
    last = ""
    for dropped in _REDUCTIONS:
        reduced = tuple(
            _Run(a.text, a.marks - dropped, None if _LINK in dropped else a.href)
            if isinstance(a, _Run)
            else a
            for a in atoms
        )
        paragraphs = _normalize_para_atoms(reduced)
        if len(paragraphs) != 1:
            return "\n\n".join(_render_paragraph(p) for p in paragraphs)
        text = _render_verified(paragraphs[0], 0)
        if text is not None:
            return text
        last = _render_inline(paragraphs[0], frozenset(_escape_candidates(paragraphs[0], 0)))
    return last


def _render_inline_block(atoms: _Inline, level: int) -> str:
    """A heading's text, with the same fallbacks as a paragraph."""
    last = ""
    for dropped in _REDUCTIONS:
        reduced = _normalize_heading_atoms(
            _Run(a.text, a.marks - dropped, None if _LINK in dropped else a.href)
            if isinstance(a, _Run)
            else a
            for a in atoms
        )
        text = _render_verified(reduced, level)
        if text is not None:
            return text
        last = _render_inline(reduced, frozenset(_escape_candidates(reduced, level)))
    return last


def _render_verified(atoms: _Inline, level: int) -> str | None:
    """Markdown for ``atoms`` that reads back as exactly ``atoms``, with the fewest escapes the
    right-to-left search finds; None if even escaping every candidate does not.

    Unmarked text without a single candidate character cannot read as markup (whitespace that
    Markdown drops is already normalised away), so it skips the parse: most prose is this.
    """
    candidates = _escape_candidates(atoms, level)
    text = _render_inline(atoms, frozenset())
    if not candidates and all(isinstance(a, _Break) or not a.marks for a in atoms):
        return text
    if _reads_back(text, atoms, level):
        return text
    escapes = set(candidates)
    text = _render_inline(atoms, frozenset(escapes))
    if not candidates or not _reads_back(text, atoms, level):
        return None
    if len(candidates) > _MAX_MINIMISED_ESCAPES:
        return text
    for candidate in reversed(candidates):  # keep the opening escape: `\*y*`, not `*y\*`
        escapes.discard(candidate)
        if not _reads_back(_render_inline(atoms, frozenset(escapes)), atoms, level):
            escapes.add(candidate)
    return _render_inline(atoms, frozenset(escapes))


def _reads_back(text: str, atoms: _Inline, level: int) -> bool:
    """Whether Markdown ``text`` (as a paragraph, or a heading of ``level``) reads as ``atoms``."""
    source = "#" * level + (" " + text if text else "") if level else text
    tokens = _PARSER.parse(source)
    kind = "heading" if level else "paragraph"
    expected = (f"{kind}_open", "inline", f"{kind}_close")
    if tuple(token.type for token in tokens) != expected:
        return False
    if level and tokens[0].tag != f"h{level}":
        return False
    read = _atoms_from_inline(tokens[1])
    if level:
        return _normalize_heading_atoms(read) == atoms
    return _normalize_para_atoms(read) == [atoms]


def _escape_candidates(atoms: _Inline, level: int) -> list[tuple[int, int]]:
    """Positions (atom, character) of literal characters that might read as markup."""
    found: list[tuple[int, int]] = []
    line_start = True
    for index, atom in enumerate(atoms):
        if isinstance(atom, _Break):
            line_start = True
            continue
        if _CODE not in atom.marks:
            for position, char in enumerate(atom.text):
                if (
                    char in _INLINE_SPECIAL
                    or (level and char == "#")
                    or (line_start and position == 0 and char in _LINE_START_SPECIAL)
                ):
                    found.append((index, position))
            marker = _ORDERED_MARKER.match(atom.text) if line_start else None
            if marker:
                found.append((index, marker.end() - 1))
        line_start = False
    return sorted(set(found))


def _keys(atoms: _Inline) -> list[frozenset[str]]:
    """The delimiter keys over each atom; none over a break, so each line closes its own."""
    keys = []
    for atom in atoms:
        key: set[str] = set()
        if isinstance(atom, _Run):
            key = {mark for mark in atom.marks if mark in _FORMAT_MARKS}
            if atom.href is not None:
                key.add(_LINK + ":" + atom.href)
        keys.append(frozenset(key))
    return keys


def _render_inline(atoms: _Inline, escapes: _Escapes) -> str:
    """Markdown for ``atoms``: delimiters opened longest-range first, closed innermost first."""
    keys = _keys(atoms)
    out: list[str] = []
    stack: list[str] = []
    for index, atom in enumerate(atoms):
        key = keys[index]
        closing = next((depth for depth, open_key in enumerate(stack) if open_key not in key), None)
        if closing is not None:
            out.extend(_closer(open_key) for open_key in reversed(stack[closing:]))
            del stack[closing:]
        fresh = sorted(
            (k for k in key if k not in stack),
            key=lambda k: (-_extent(keys, index, k), _KEY_ORDER.get(k, 3)),
        )
        autolink = _autolink(atom, fresh, keys, index)
        if autolink is not None:
            fresh = fresh[:-1]
        for open_key in fresh:
            out.append("[" if open_key.startswith(_LINK + ":") else _DELIMITERS[open_key])
            stack.append(open_key)
        out.append(autolink if autolink is not None else _atom_markdown(atom, index, escapes))
    out.extend(_closer(open_key) for open_key in reversed(stack))
    return "".join(out)


def _extent(keys: Sequence[frozenset[str]], index: int, key: str) -> int:
    end = index
    while end < len(keys) and key in keys[end]:
        end += 1
    return end - index


def _closer(key: str) -> str:
    if key.startswith(_LINK + ":"):
        return "](" + _link_destination(key[len(_LINK) + 1 :]) + ")"
    return _DELIMITERS[key]


def _autolink(
    atom: _Atom, fresh: Sequence[str], keys: Sequence[frozenset[str]], index: int
) -> str | None:
    """``<url>`` when the innermost new delimiter is a link over exactly this run's plain text."""
    if not isinstance(atom, _Run) or atom.href is None or _CODE in atom.marks or not fresh:
        return None
    link_key = _LINK + ":" + atom.href
    if fresh[-1] != link_key or _extent(keys, index, link_key) != 1:
        return None
    if atom.text == atom.href and _AUTOLINK.fullmatch(atom.text):
        return f"<{atom.text}>"
    if atom.href == "mailto:" + atom.text and _EMAIL.fullmatch(atom.text):
        return f"<{atom.text}>"
    return None


def _link_destination(href: str) -> str:
    """A link destination that markdown-it reads back as ``href`` exactly."""
    escaped = re.sub(r"\\(?=[!-/:-@\[-`{-~])", r"\\\\", href)
    escaped = re.sub(r"&(?=#?[0-9A-Za-z]+;)", r"\\&", escaped)
    balanced = _parens_balanced(href)
    if href and balanced and not re.search(r"[\x00-\x20<>]", href):
        return escaped
    escaped = escaped.replace("<", "\\<").replace(">", "\\>")
    return "<" + escaped + ">"


def _parens_balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _atom_markdown(atom: _Atom, index: int, escapes: _Escapes) -> str:
    if isinstance(atom, _Break):
        return "\n"
    if _CODE in atom.marks:
        return _code_span(atom.text)
    return "".join(
        "\\" + char if (index, position) in escapes else char
        for position, char in enumerate(atom.text)
    )


def _code_span(text: str) -> str:
    runs = {len(run) for run in re.findall("`+", text)}
    size = next(n for n in range(1, len(runs) + 2) if n not in runs)
    fence = "`" * size
    pad = (
        text.startswith("`")
        or text.endswith("`")
        or (text.startswith(" ") and text.endswith(" ") and text.strip(" ") != "")
    )
    return f"{fence} {text} {fence}" if pad else f"{fence}{text}{fence}"
