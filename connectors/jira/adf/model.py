"""The document model both directions share (ADF reduced to the supported subset, and
what Markdown reads to), and its normalisation to the one canonical form both agree on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

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
