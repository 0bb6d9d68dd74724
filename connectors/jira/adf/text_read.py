"""Text to the model: Markdown through markdown-it-py tokens, and plain text (which is
also written back here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

from connectors.jira.adf.model import (
    _BR,
    _CODE,
    _EM,
    _LINK,
    _STRIKE,
    _STRONG,
    _Atom,
    _Block,
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
