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

Modules
-------
:mod:`.model` the document model both directions share and its normalisation; :mod:`.text_read`
Markdown and plain text into the model; :mod:`.adf_json` ADF into the model and the model into
ADF; :mod:`.text_write` the model as Markdown (verified by parsing it back) or plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.jira.adf.adf_json import _block_json, _read_adf_blocks
from connectors.jira.adf.model import JsonDict, _normalize_blocks
from connectors.jira.adf.text_read import _read_markdown, _read_plain
from connectors.jira.adf.text_write import _render_md_blocks, _render_plain_blocks

__all__ = ["from_adf", "normalize_text", "to_adf"]

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
