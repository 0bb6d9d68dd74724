"""connectors.jira.adf, property tests: generated documents in the subset round-trip exactly,
any text is stable after one round trip, any ADF reads back stably and keeps its words, and
every to_adf output is valid ADF."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.jira.adf import from_adf, normalize_text, to_adf
from tests.connectors.jira.adf_nodes import (
    BR,
    RULE,
    Node,
    assert_valid_adf,
    code,
    doc,
    h,
    ol,
    p,
    quote,
    round_trip,
    t,
    ul,
    words_of,
)
from tests.helpers import PEER

JIRA_CLI = PEER / "jira-cli" / "pkg" / "jira" / "testdata"

# ---------------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------------

WORD = st.text(string.ascii_letters, min_size=1, max_size=6)
URL = st.builds(
    lambda path: f"https://example.com/{path}", st.text(string.ascii_lowercase, max_size=5)
)


@st.composite
def pieces(draw: st.DrawFn) -> tuple[str, list[Node]]:
    """One inline piece: Markdown and its ADF text nodes (words only, so nothing to escape)."""
    words = " ".join(draw(st.lists(WORD, min_size=1, max_size=3)))
    kind = draw(
        st.sampled_from(["plain", "strong", "em", "strike", "strong-em", "code", "link", "auto"])
    )
    if kind == "plain":
        return words, [t(words)]
    if kind == "code":
        body = draw(
            st.text(string.ascii_letters + "*_#-[] ", min_size=1, max_size=8).filter(
                lambda s: s.strip()
            )
        )
        pad = body.startswith(" ") and body.endswith(" ")
        return (f"` {body} `" if pad else f"`{body}`"), [t(body, "code")]
    if kind in ("link", "auto"):
        url = draw(URL)
        if kind == "auto":
            return f"<{url}>", [t(url, href=url)]
        return f"[{words}]({url})", [t(words, href=url)]
    delimiter = {"strong": "**", "em": "*", "strike": "~~", "strong-em": "***"}[kind]
    marks = {
        "strong": ["strong"],
        "em": ["em"],
        "strike": ["strike"],
        "strong-em": ["strong", "em"],
    }[kind]
    return f"{delimiter}{words}{delimiter[::-1]}", [t(words, *marks)]


def merge(nodes: list[Node]) -> list[Node]:
    """Adjacent text nodes with equal marks as one, as to_adf emits them."""
    out: list[Node] = []
    for node in nodes:
        last = out[-1] if out else None
        if (
            last
            and last["type"] == node["type"] == "text"
            and last.get("marks") == node.get("marks")
        ):
            out[-1] = {**last, "text": last["text"] + node["text"]}
        else:
            out.append(node)
    return out


@st.composite
def lines(draw: st.DrawFn, max_lines: int = 3) -> tuple[str, list[Node]]:
    md_lines: list[str] = []
    nodes: list[Node] = []
    for index in range(draw(st.integers(1, max_lines))):
        parts = draw(st.lists(pieces(), min_size=1, max_size=4))
        if index:
            nodes.append(BR)
        md_lines.append(" ".join(md for md, _ in parts))
        for number, (_, adf) in enumerate(parts):
            if number:
                nodes.append(t(" "))
            nodes.extend(adf)
    return "\n".join(md_lines), merge(nodes)


@st.composite
def blocks(draw: st.DrawFn, depth: int = 0) -> tuple[str, Node]:
    kinds = ["para", "heading", "code", "quote", "list", "rule"] if depth == 0 else ["para", "list"]
    kind = draw(st.sampled_from(kinds))
    if kind == "para":
        md, nodes = draw(lines())
        return md, p(*nodes)
    if kind == "heading":
        level = draw(st.integers(1, 6))
        md, nodes = draw(lines(max_lines=1))
        return "#" * level + " " + md, h(level, *nodes)
    if kind == "code":
        language = draw(st.one_of(st.none(), WORD))
        body_lines = draw(
            st.lists(
                st.text(string.ascii_letters + " *#->_", max_size=8).map(str.rstrip), max_size=4
            )
        )
        body = "\n".join(body_lines)
        fence_body = body + "\n" if body else ""
        return f"```{language or ''}\n{fence_body}```", code(body, language)
    if kind == "quote":
        md, nodes = draw(lines())
        return "\n".join("> " + line for line in md.split("\n")), quote(p(*nodes))
    if kind == "rule":
        return "---", RULE
    return draw(lists(depth))


@st.composite
def lists(draw: st.DrawFn, depth: int) -> tuple[str, Node]:
    ordered = draw(st.booleans())
    start = draw(st.integers(0, 12)) if ordered and depth == 0 else 1
    md_items: list[str] = []
    adf_items: list[list[Node]] = []
    for index in range(draw(st.integers(1, 3))):
        marker = f"{start + index}. " if ordered else "- "
        md, nodes = draw(lines(max_lines=2))
        item_md = md
        content: list[Node] = [p(*nodes)]
        if depth < 2 and draw(st.booleans()):
            nested_md, nested = draw(lists(depth + 1))
            item_md += "\n" + nested_md
            content.append(nested)
        indent = " " * len(marker)
        md_items.append(marker + item_md.replace("\n", "\n" + indent))
        adf_items.append(content)
    node = ol(start, *adf_items) if ordered else ul(*adf_items)
    return "\n".join(md_items), node


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, Node]:
    parts: list[tuple[str, Node]] = []
    for md, node in draw(st.lists(blocks(), min_size=1, max_size=5)):
        previous = parts[-1][1]["type"] if parts else None
        if node["type"] in ("bulletList", "orderedList") and previous == node["type"]:
            continue  # two lists of one kind side by side are one list
        parts.append((md, node))
    return "\n\n".join(md for md, _ in parts), doc(*(node for _, node in parts))


@settings(max_examples=100)
@given(documents())
def test_generated_subset_documents_round_trip_exactly(case: tuple[str, Node]) -> None:
    markdown, adf = case
    produced = to_adf(markdown)
    assert produced == adf
    assert produced is not None
    assert_valid_adf(produced)
    assert from_adf(adf) == markdown


PROSE_TOKENS = st.one_of(
    WORD,
    st.sampled_from(
        [
            "snake_case",
            "C#",
            "a-b",
            "x=y",
            "*",
            "-",
            "+",
            "2+2",
            "(see)",
            "it's",
            "#1",
            "1.5",
            "_",
            "!",
        ]
    ),
)


@st.composite
def prose(draw: st.DrawFn) -> str:
    paragraphs = []
    for _ in range(draw(st.integers(1, 3))):
        paragraph_lines = []
        for _ in range(draw(st.integers(1, 3))):
            words = [draw(WORD), *draw(st.lists(PROSE_TOKENS, max_size=6))]
            end = draw(st.sampled_from(["", ".", ",", "!", "?", ":"]))
            paragraph_lines.append(" ".join(words) + end)
        paragraphs.append("\n".join(paragraph_lines))
    return "\n\n".join(paragraphs)


@given(prose())
def test_plain_prose_is_exact_in_markdown_mode(text: str) -> None:
    assert round_trip(text) == text


MARKUP_ALPHABET = st.sampled_from(
    [*"ab1 \n\t*_`~[]()<>#-+=.!\\|&:/", "http://", "\xa0", "  \n", "- ", "1. ", "> ", "```"]
)
MARKUPISH = st.lists(MARKUP_ALPHABET, max_size=40).map("".join)


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=60), MARKUPISH))
def test_any_text_is_stable_after_one_round_trip(text: str) -> None:
    first_adf = to_adf(text)
    if first_adf is not None:
        assert_valid_adf(first_adf)
    once = from_adf(first_adf)
    if once is None:
        assert first_adf is None or not first_adf["content"]
        return
    assert normalize_text(once) == once
    assert to_adf(once) == first_adf  # Jira would see no change
    assert from_adf(to_adf(once)) == once  # and neither does the sync


@given(st.text(max_size=80))
def test_any_text_is_exact_in_plain_mode(text: str) -> None:
    expected = normalize_text(text, markdown=False) or None
    assert round_trip(text, markdown=False) == expected


# Arbitrary ADF (including overlapping marks and nodes outside the subset) reads back stably.

ADF_TEXT = st.text(string.ascii_letters + " *_`#-\n\\[]<>.", min_size=1, max_size=10)
MARK_SETS = st.lists(
    st.sampled_from(["strong", "em", "strike", "code", "underline"]), unique=True, max_size=3
)


@st.composite
def adf_inline(draw: st.DrawFn) -> Node:
    kind = draw(st.sampled_from(["text", "text", "text", "break", "mention", "emoji", "card"]))
    if kind == "break":
        return BR
    if kind == "mention":
        return {"type": "mention", "attrs": {"id": "1", "text": "@" + draw(WORD)}}
    if kind == "emoji":
        return {"type": "emoji", "attrs": {"shortName": ":" + draw(WORD) + ":"}}
    if kind == "card":
        return {"type": "inlineCard", "attrs": {"url": draw(URL)}}
    href = draw(st.one_of(st.none(), URL))
    return t(draw(ADF_TEXT), *draw(MARK_SETS), href=href)


@st.composite
def adf_block(draw: st.DrawFn, depth: int = 0) -> Node:
    kinds = (
        ["p", "p", "h", "code", "quote", "list", "panel", "table", "rule"]
        if depth < 2
        else ["p", "code"]
    )
    kind = draw(st.sampled_from(kinds))
    inline = st.lists(adf_inline(), max_size=5)
    if kind == "p":
        return p(*draw(inline))
    if kind == "h":
        return h(draw(st.integers(1, 6)), *draw(inline))
    if kind == "code":
        return code(
            draw(st.text(string.ascii_letters + " `~\n*", max_size=12)),
            draw(st.one_of(st.none(), WORD)),
        )
    if kind in ("quote", "panel"):
        node = quote(*draw(st.lists(adf_block(depth=depth + 1), min_size=1, max_size=2)))
        return {**node, "type": "panel"} if kind == "panel" else node
    if kind == "rule":
        return RULE
    if kind == "table":
        cell = st.builds(lambda c: {"type": "tableCell", "content": [p(*c)]}, inline)
        row = st.builds(
            lambda cells: {"type": "tableRow", "content": cells},
            st.lists(cell, min_size=1, max_size=2),
        )
        return {"type": "table", "content": draw(st.lists(row, min_size=1, max_size=2))}
    items = draw(
        st.lists(
            st.lists(adf_block(depth=depth + 1), min_size=1, max_size=2), min_size=1, max_size=3
        )
    )
    return ol(draw(st.integers(0, 5)), *items) if draw(st.booleans()) else ul(*items)


@settings(max_examples=100)
@given(st.lists(adf_block(), max_size=4))
def test_any_adf_reads_back_stably_and_keeps_its_words(content: list[Node]) -> None:
    adf = doc(*content)
    once = from_adf(adf)
    if once is None:
        return
    second_adf = to_adf(once)
    assert second_adf is not None
    assert_valid_adf(second_adf)
    assert from_adf(second_adf) == once
    for word in words_of(adf):
        assert word in once
    plain = from_adf(adf, markdown=False)  # None only when there is no text at all
    assert from_adf(to_adf(plain, markdown=False), markdown=False) == plain
    for word in words_of(adf):
        assert plain is not None and word in plain
