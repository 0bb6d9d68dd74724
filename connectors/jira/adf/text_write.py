"""The model written as text: Markdown in the canonical spelling (each paragraph checked by
parsing it back, with the fewest escapes that keep literal text literal), or plain text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from connectors.jira.adf.model import (
    _CODE,
    _EM,
    _FORMAT_MARKS,
    _LINK,
    _STRIKE,
    _STRONG,
    _SUPPORTED_MARKS,
    _Atom,
    _Block,
    _Break,
    _Code,
    _Heading,
    _Inline,
    _List,
    _normalize_heading_atoms,
    _normalize_para_atoms,
    _Para,
    _Quote,
    _Run,
)
from connectors.jira.adf.text_read import _PARSER, _atoms_from_inline

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


# Plain text out: blocks as lines, nothing marked up.


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
