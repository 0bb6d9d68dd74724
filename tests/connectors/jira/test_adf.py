"""connectors.jira.adf: Atlassian Document Format to and from Markdown / plain text.

The sync relies on the echo property: text from ``from_adf``, sent through ``to_adf`` and read
back, is the same text (and the same ADF), so a ticket the sync wrote never looks changed.
Expected ADF is written out as Atlassian documents it (type, content, marks, attrs).
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.jira.adf import from_adf, normalize_text, to_adf
from tests.helpers import PEER

JIRA_CLI = PEER / "jira-cli" / "pkg" / "jira" / "testdata"

Node = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Builders for expected ADF
# ---------------------------------------------------------------------------------------------


def doc(*content: Node) -> Node:
    return {"type": "doc", "version": 1, "content": list(content)}


def p(*content: Node) -> Node:
    return {"type": "paragraph", "content": list(content)}


def t(text: str, *marks: str, href: str | None = None) -> Node:
    node: Node = {"type": "text", "text": text}
    mark_nodes: list[Node] = [{"type": m} for m in marks]
    if href is not None:
        mark_nodes.append({"type": "link", "attrs": {"href": href}})
    if mark_nodes:
        node["marks"] = mark_nodes
    return node


BR: Node = {"type": "hardBreak"}


def h(level: int, *content: Node) -> Node:
    return {"type": "heading", "attrs": {"level": level}, "content": list(content)}


def ul(*items: list[Node]) -> Node:
    return {"type": "bulletList", "content": [li(*i) for i in items]}


def ol(start: int, *items: list[Node]) -> Node:
    return {"type": "orderedList", "attrs": {"order": start}, "content": [li(*i) for i in items]}


def li(*content: Node) -> Node:
    return {"type": "listItem", "content": list(content)}


def code(text: str, language: str | None = None) -> Node:
    node: Node = {"type": "codeBlock"}
    if language:
        node["attrs"] = {"language": language}
    node["content"] = [{"type": "text", "text": text}] if text else []
    return node


def quote(*content: Node) -> Node:
    return {"type": "blockquote", "content": list(content)}


RULE: Node = {"type": "rule"}

# ---------------------------------------------------------------------------------------------
# Structural validity of what to_adf sends to Jira
# ---------------------------------------------------------------------------------------------

TOP_BLOCKS = {
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "codeBlock",
    "blockquote",
    "rule",
}
QUOTE_BLOCKS = {"paragraph", "bulletList", "orderedList", "codeBlock"}
ITEM_FIRST = {"paragraph", "codeBlock"}
ITEM_BLOCKS = {"paragraph", "bulletList", "orderedList", "codeBlock"}
FORMAT_MARKS = {"strong", "em", "strike"}


def assert_valid_adf(document: Mapping[str, Any]) -> None:
    """ADF's structural rules for the nodes to_adf emits (Atlassian's node and mark docs)."""
    assert set(document) == {"type", "version", "content"}
    assert document["type"] == "doc" and document["version"] == 1
    assert document["content"], "an empty document is sent as None"
    for block in document["content"]:
        assert block["type"] in TOP_BLOCKS
        check_block(block)


def check_block(node: Mapping[str, Any]) -> None:
    kind = node["type"]
    if kind == "paragraph":
        assert set(node) == {"type", "content"}
        check_inline(node["content"])
    elif kind == "heading":
        assert set(node) == {"type", "attrs", "content"}
        assert node["attrs"]["level"] in range(1, 7)
        check_inline(node["content"])
    elif kind == "codeBlock":
        assert set(node) <= {"type", "attrs", "content"}
        if "attrs" in node:
            assert set(node["attrs"]) == {"language"} and node["attrs"]["language"]
        for child in node["content"]:
            assert set(child) == {"type", "text"} and child["type"] == "text" and child["text"]
    elif kind == "blockquote":
        assert set(node) == {"type", "content"} and node["content"]
        for child in node["content"]:
            assert child["type"] in QUOTE_BLOCKS
            check_block(child)
    elif kind in ("bulletList", "orderedList"):
        assert node["content"]
        if kind == "orderedList":
            assert set(node) == {"type", "attrs", "content"}
            assert isinstance(node["attrs"]["order"], int) and node["attrs"]["order"] >= 0
        else:
            assert set(node) == {"type", "content"}
        for item in node["content"]:
            assert set(item) == {"type", "content"} and item["type"] == "listItem"
            assert item["content"] and item["content"][0]["type"] in ITEM_FIRST
            for child in item["content"]:
                assert child["type"] in ITEM_BLOCKS
                check_block(child)
    else:
        assert node == {"type": "rule"}


def check_inline(nodes: Sequence[Mapping[str, Any]]) -> None:
    previous_marks: object = None
    for node in nodes:
        if node["type"] == "hardBreak":
            assert dict(node) == {"type": "hardBreak"}
            previous_marks = None
            continue
        assert node["type"] == "text" and set(node) <= {"type", "text", "marks"}
        assert isinstance(node["text"], str) and node["text"], "text nodes are never empty"
        marks = node.get("marks", [])
        assert "marks" not in node or marks, "no empty marks list"
        kinds = [m["type"] for m in marks]
        assert len(kinds) == len(set(kinds)), "a mark type at most once per node"
        assert set(kinds) <= FORMAT_MARKS | {"code", "link"}
        if "code" in kinds:
            assert set(kinds) <= {"code", "link"}, "code combines only with link"
        for mark in marks:
            if mark["type"] == "link":
                assert set(mark) == {"type", "attrs"} and set(mark["attrs"]) == {"href"}
                assert isinstance(mark["attrs"]["href"], str) and mark["attrs"]["href"]
            else:
                assert set(mark) == {"type"}
        assert json.dumps(marks) != previous_marks, "equal neighbours are merged"
        previous_marks = json.dumps(marks)


def round_trip(text: str, markdown: bool = True) -> str | None:
    adf = to_adf(text, markdown)
    if adf is not None:
        assert_valid_adf(adf)
    return from_adf(adf, markdown)


# ---------------------------------------------------------------------------------------------
# Each construct, both ways: to_adf(markdown) == adf and from_adf(adf) == markdown
# ---------------------------------------------------------------------------------------------

BOTH_WAYS: list[tuple[str, Node]] = [
    ("Hello world", doc(p(t("Hello world")))),
    ("One\n\nTwo", doc(p(t("One")), p(t("Two")))),
    ("line one\nline two", doc(p(t("line one"), BR, t("line two")))),
    ("# Title", doc(h(1, t("Title")))),
    ("###### Six", doc(h(6, t("Six")))),
    ("## A *b*", doc(h(2, t("A "), t("b", "em")))),
    ("#", doc(h(1))),
    ("**bold**", doc(p(t("bold", "strong")))),
    ("*em*", doc(p(t("em", "em")))),
    ("`x = 1`", doc(p(t("x = 1", "code")))),
    ("~~gone~~", doc(p(t("gone", "strike")))),
    (
        "a **b *c* d** e",
        doc(p(t("a "), t("b ", "strong"), t("c", "strong", "em"), t(" d", "strong"), t(" e"))),
    ),
    ("***both***", doc(p(t("both", "strong", "em")))),
    (
        "[Jira](https://example.atlassian.net)",
        doc(p(t("Jira", href="https://example.atlassian.net"))),
    ),
    ("**[x](https://e.com)**", doc(p(t("x", "strong", href="https://e.com")))),
    (
        "[**x** y](https://e.com)",
        doc(p(t("x", "strong", href="https://e.com"), t(" y", href="https://e.com"))),
    ),
    ("[`f()`](https://e.com)", doc(p(t("f()", "code", href="https://e.com")))),
    (
        "see <https://e.com/a?b=1>",
        doc(p(t("see "), t("https://e.com/a?b=1", href="https://e.com/a?b=1"))),
    ),
    ("<me@example.com>", doc(p(t("me@example.com", href="mailto:me@example.com")))),
    ("[a b](<https://e.com/a b>)", doc(p(t("a b", href="https://e.com/a b")))),
    ("[x](https://e.com/ü?q=(1))", doc(p(t("x", href="https://e.com/ü?q=(1)")))),
    ("*a*\n*b*", doc(p(t("a", "em"), BR, t("b", "em")))),
    (
        "**Steps:**\n**Expected:** works",
        doc(p(t("Steps:", "strong"), BR, t("Expected:", "strong"), t(" works"))),
    ),
    ("- a\n- b", doc(ul([p(t("a"))], [p(t("b"))]))),
    ("1. a\n2. b", doc(ol(1, [p(t("a"))], [p(t("b"))]))),
    ("3. c\n4. d", doc(ol(3, [p(t("c"))], [p(t("d"))]))),
    (
        "- a\n  - b\n    - c\n- d",
        doc(ul([p(t("a")), ul([p(t("b")), ul([p(t("c"))])])], [p(t("d"))])),
    ),
    ("1. a\n   - b\n2. c", doc(ol(1, [p(t("a")), ul([p(t("b"))])], [p(t("c"))]))),
    ("- a\n\n  more\n- b", doc(ul([p(t("a")), p(t("more"))], [p(t("b"))]))),
    ("- a\n\n  3. x", doc(ul([p(t("a")), ol(3, [p(t("x"))])]))),
    ("-\n  - b", doc(ul([p(), ul([p(t("b"))])]))),
    ("- a\n-\n- c", doc(ul([p(t("a"))], [p()], [p(t("c"))]))),
    ("- ```\n  x\n  ```", doc(ul([code("x")]))),
    ("- a\n  1. b", doc(ul([p(t("a")), ol(1, [p(t("b"))])]))),
    ("```\nplain\n```", doc(code("plain"))),
    ("```python\ndef f():\n    return 1\n```", doc(code("def f():\n    return 1", "python"))),
    ("```\na\n\n\nb\n\n```", doc(code("a\n\n\nb\n"))),
    ("```\n```", doc(code(""))),
    ("````\n```\n````", doc(code("```"))),
    ("~~~a`b\nx\n~~~", doc(code("x", "a`b"))),
    ("~~~ ~`\nx\n~~~", doc(code("x", "~`"))),
    ("> quoted", doc(quote(p(t("quoted"))))),
    ("> a\n>\n> - b\n>\n> ```\n> c\n> ```", doc(quote(p(t("a")), ul([p(t("b"))]), code("c")))),
    ("> a\n\n> b", doc(quote(p(t("a"))), quote(p(t("b"))))),
    ("---", doc(RULE)),
    ("above\n\n---\n\nbelow", doc(p(t("above")), RULE, p(t("below")))),
]


@pytest.mark.parametrize(("markdown", "adf"), BOTH_WAYS, ids=[c[0][:30] for c in BOTH_WAYS])
def test_each_construct_both_ways(markdown: str, adf: Node) -> None:
    produced = to_adf(markdown)
    assert produced == adf
    assert produced is not None
    assert_valid_adf(produced)
    assert from_adf(adf) == markdown


# ---------------------------------------------------------------------------------------------
# Escaping: literal text that looks like markup
# ---------------------------------------------------------------------------------------------

ESCAPED: list[tuple[str, Node]] = [
    ("snake_case and foo__bar__baz stay", doc(p(t("snake_case and foo__bar__baz stay")))),
    ("\\_\\_init__", doc(p(t("__init__")))),
    ("a * b, 5 - 3, C#, x = y", doc(p(t("a * b, 5 - 3, C#, x = y")))),
    ("#hashtag", doc(p(t("#hashtag")))),
    ("\\# not a heading", doc(p(t("# not a heading")))),
    ("2\\*3*4", doc(p(t("2*3*4")))),
    ("\\*not em*", doc(p(t("*not em*")))),
    ("\\- not a list", doc(p(t("- not a list")))),
    ("1\\. not a list", doc(p(t("1. not a list")))),
    ("\\> not a quote", doc(p(t("> not a quote")))),
    ("\\---", doc(p(t("---")))),
    ("a\n\\- b", doc(p(t("a"), BR, t("- b")))),
    ("a\n\\===", doc(p(t("a"), BR, t("===")))),
    ("\\[x](y)", doc(p(t("[x](y)")))),
    ("\\`tick`", doc(p(t("`tick`")))),
    ("\\<http://e.com>", doc(p(t("<http://e.com>")))),
    ("\\~~no~~", doc(p(t("~~no~~")))),
    ("back\\\\\nslash", doc(p(t("back\\"), BR, t("slash")))),
    ("C:\\temp\\new", doc(p(t("C:\\temp\\new")))),
    (
        "<b>raw html</b> &amp; ![img](x) [ref]: y",
        doc(p(t("<b>raw html</b> &amp; !"), t("img", href="x"), t(" [ref]: y"))),
    ),
    ("## Tag \\#", doc(h(2, t("Tag #")))),
    ("``a`b``", doc(p(t("a`b", "code")))),
    ("`` `x ``", doc(p(t("`x", "code")))),
    ("[[1]](https://e.com)", doc(p(t("[1]", href="https://e.com")))),
    ("[js](javascript:alert(1))", doc(p(t("[js](javascript:alert(1))")))),
]


@pytest.mark.parametrize(("markdown", "adf"), ESCAPED, ids=[c[0][:30] for c in ESCAPED])
def test_escaping_is_minimal_and_exact(markdown: str, adf: Node) -> None:
    assert to_adf(markdown) == adf
    assert from_adf(adf) == markdown


def test_typed_asterisks_are_emphasis_and_come_back_as_typed() -> None:
    assert to_adf("2*3*4") == doc(p(t("2"), t("3", "em"), t("4")))
    assert round_trip("2*3*4") == "2*3*4"


# ---------------------------------------------------------------------------------------------
# One-way spellings: read, written back canonically, then stable
# ---------------------------------------------------------------------------------------------

ONE_WAY: list[tuple[str, str]] = [
    ("_em_ and __strong__", "*em* and **strong**"),
    ("* a\n+ b", "- a\n- b"),
    ("1) a\n2) b", "1. a\n2. b"),
    ("- a\n\n- b", "- a\n- b"),
    ("Title\n=====", "# Title"),
    ("Sub\n---", "## Sub"),
    ("    indented code", "```\nindented code\n```"),
    ("***\n\n___", "---\n\n---"),
    ("hard  \nbreak\\\nhere", "hard\nbreak\nhere"),
    ("a\n\n\n\nb", "a\n\nb"),
    ("\\a\\b \\q", "\\a\\b \\q"),
    ("\\snake\\_case", "\\snake_case"),
    ('[t](https://e.com "title")', "[t](https://e.com)"),
    ("- # heading in list", "- heading in list"),
    ("> # heading in quote\n> > nested\n> ---", "> heading in quote\n>\n> nested"),
    ("**`code wins`**", "`code wins`"),
    ("[a\nb](https://e.com)", "[a](https://e.com)\n[b](https://e.com)"),
    ("*a\nb*", "*a*\n*b*"),
    ("[\\[1\\]](https://e.com)", "[[1]](https://e.com)"),
    ("- a\n\n1. b\n\n- c\n* d", "- a\n\n1. b\n\n- c\n- d"),
    ("[**x**](https://e.com)", "**[x](https://e.com)**"),
    ("  leading spaces", "leading spaces"),
    ("a\n   b", "a\nb"),
    ("`  padded  `", "`  padded  `"),
    ("```py extra words\nx\n```", "```py\nx\n```"),
    ("text\n```\ncode\n```", "text\n\n```\ncode\n```"),
]


@pytest.mark.parametrize(("typed", "canonical"), ONE_WAY, ids=[c[0][:30] for c in ONE_WAY])
def test_one_way_spellings_become_canonical_and_stay(typed: str, canonical: str) -> None:
    assert round_trip(typed) == canonical
    assert round_trip(canonical) == canonical
    assert to_adf(canonical) == to_adf(typed)


# ---------------------------------------------------------------------------------------------
# Nodes outside the subset: their text is never lost (one-way)
# ---------------------------------------------------------------------------------------------

MENTION = {
    "type": "mention",
    "attrs": {"id": "5b10ac8d82e05b22cc7d4ef5", "text": "@Ada Lovelace", "accessLevel": ""},
}
EMOJI = {"type": "emoji", "attrs": {"shortName": ":grinning:", "id": "1f600", "text": "😀"}}
CUSTOM_EMOJI = {"type": "emoji", "attrs": {"shortName": ":party-parrot:", "id": "atlassian-party"}}
CARD = {"type": "inlineCard", "attrs": {"url": "https://example.atlassian.net/browse/ABC-1"}}

FROM_ADF_ONLY: list[tuple[str, Node, str]] = [
    ("mention", doc(p(t("ping "), MENTION, t(" please"))), "ping @Ada Lovelace please"),
    ("mention without @", doc(p({"type": "mention", "attrs": {"id": "x", "text": "Bob"}})), "@Bob"),
    ("emoji", doc(p(t("done "), EMOJI, t(" "), CUSTOM_EMOJI)), "done 😀 :party-parrot:"),
    ("inlineCard", doc(p(t("see "), CARD)), "see <https://example.atlassian.net/browse/ABC-1>"),
    (
        "blockCard",
        doc({"type": "blockCard", "attrs": {"url": "https://e.com/x"}}),
        "<https://e.com/x>",
    ),
    (
        "date and status",
        doc(
            p(
                {"type": "date", "attrs": {"timestamp": "1700000000000"}},
                t(" "),
                {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
            )
        ),
        "2023-11-14 IN PROGRESS",
    ),
    (
        "panel",
        doc(
            {
                "type": "panel",
                "attrs": {"panelType": "info"},
                "content": [h(3, t("Note")), p(t("Careful"))],
            }
        ),
        "> Note\n>\n> Careful",
    ),
    (
        "table",
        doc(
            {
                "type": "table",
                "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {
                                "type": "tableHeader",
                                "attrs": {},
                                "content": [p(t("Key", "strong"))],
                            },
                            {"type": "tableHeader", "attrs": {}, "content": [p(t("Value"))]},
                        ],
                    },
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableCell", "attrs": {}, "content": [p(t("a"), BR, t("b"))]},
                            {"type": "tableCell", "attrs": {}, "content": [p(t("x", "code"))]},
                        ],
                    },
                ],
            }
        ),
        "| **Key** | Value |\n| --- | --- |\n| a b | `x` |",
    ),
    (
        "mediaSingle with caption",
        doc(
            {
                "type": "mediaSingle",
                "attrs": {"layout": "center"},
                "content": [
                    {
                        "type": "media",
                        "attrs": {
                            "id": "abc-123",
                            "type": "file",
                            "collection": "",
                            "alt": "screenshot.png",
                        },
                    },
                    {"type": "caption", "content": [t("The error")]},
                ],
            }
        ),
        "[attachment: screenshot.png]\n\nThe error",
    ),
    (
        "mediaGroup",
        doc(
            {
                "type": "mediaGroup",
                "content": [
                    {"type": "media", "attrs": {"id": "f1", "type": "file", "collection": "c"}},
                    {"type": "media", "attrs": {"type": "external", "url": "https://e.com/a.png"}},
                ],
            }
        ),
        "[attachment: f1]\n\n[attachment: https://e.com/a.png]",
    ),
    (
        "expand",
        doc({"type": "expand", "attrs": {"title": "Details"}, "content": [p(t("hidden text"))]}),
        "Details\n\nhidden text",
    ),
    (
        "taskList",
        doc(
            {
                "type": "taskList",
                "attrs": {"localId": "l1"},
                "content": [
                    {
                        "type": "taskItem",
                        "attrs": {"localId": "1", "state": "DONE"},
                        "content": [t("ship")],
                    },
                    {
                        "type": "taskItem",
                        "attrs": {"localId": "2", "state": "TODO"},
                        "content": [t("test")],
                    },
                ],
            }
        ),
        "- [x] ship\n- [ ] test",
    ),
    (
        "decisionList",
        doc(
            {
                "type": "decisionList",
                "attrs": {"localId": "d"},
                "content": [
                    {
                        "type": "decisionItem",
                        "attrs": {"localId": "1", "state": "DECIDED"},
                        "content": [t("Go")],
                    }
                ],
            }
        ),
        "- Go",
    ),
    (
        "unsupported marks dropped",
        doc(
            p(
                t("u", "underline"),
                {
                    "type": "text",
                    "text": "c",
                    "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}],
                },
                {
                    "type": "text",
                    "text": "2",
                    "marks": [{"type": "subsup", "attrs": {"type": "sup"}}],
                },
            )
        ),
        "uc2",
    ),
    ("code with strong", doc(p(t("x", "code", "strong"))), "`x`"),
    ("marks in any order", doc(p(t("x", "em", "strong"))), "***x***"),
    ("whitespace edges leave marks", doc(p(t("a"), t(" b ", "strong"), t("c"))), "a **b** c"),
    ("adjacent lists merge", doc(ul([p(t("a"))]), ul([p(t("b"))])), "- a\n- b"),
    ("list item starting with a list", doc(ul([ul([p(t("a"))])])), "-\n  - a"),
    ("heading in a list", doc(ul([h(2, t("H"))])), "- H"),
    ("empty paragraphs vanish", doc(p(), p(t("a")), p(), p()), "a"),
    ("breaks at edges vanish", doc(p(BR, t("a"), BR, BR, t("b"), BR)), "a\n\nb"),
    ("newline inside a text node", doc(p(t("a\nb"))), "a\nb"),
    ("line-start spaces", doc(p(t("  a"), BR, t("   b  "))), "a\nb"),
    (
        "unknown node keeps its text",
        doc({"type": "fancyBox", "content": [p(t("inside"))]}),
        "inside",
    ),
    (
        "unknown inline node keeps its text",
        doc(p(t("x "), {"type": "sparkle", "attrs": {"text": "shiny"}})),
        "x shiny",
    ),
    (
        "placeholder dropped",
        doc(p(t("a"), {"type": "placeholder", "attrs": {"text": "Type here"}})),
        "a",
    ),
    (
        "ordered list without attrs",
        doc({"type": "orderedList", "content": [li(p(t("a")))]}),
        "1. a",
    ),
    ("javascript link keeps text", doc(p(t("click", href="javascript:alert(1)"))), "click"),
    (
        "emphasis with no Markdown spelling keeps text",  # `*a.*b` is not emphasis
        doc(p(t("a.", "em"), t("b"))),
        "a.b",
    ),
    ("emphasis after punctuation is fine", doc(p(t("a."), t("b", "em"), t("c"))), "a.*b*c"),
    ("code block with trailing spaces", doc(code("x  \ny\t")), "```\nx\ny\n```"),
    ("heading level out of range", doc(h(9, t("deep"))), "###### deep"),
]


@pytest.mark.parametrize(
    ("adf", "markdown"), [c[1:] for c in FROM_ADF_ONLY], ids=[c[0] for c in FROM_ADF_ONLY]
)
def test_nodes_outside_the_subset_keep_their_text(adf: Node, markdown: str) -> None:
    assert from_adf(adf) == markdown
    assert round_trip(markdown) == markdown


def test_plain_mode_of_rich_nodes() -> None:
    adf = doc(
        h(1, t("T")), p(t("a", "strong"), t(" "), MENTION), ul([p(t("x"))]), code("k = 1"), RULE
    )
    assert from_adf(adf, markdown=False) == "T\n\na @Ada Lovelace\n\n- x\n\nk = 1\n\n---"


def test_malformed_nodes_are_skipped_not_raised() -> None:
    adf: Node = {
        "type": "doc",
        "version": 1,
        "content": [None, 3, {"type": "paragraph", "content": "x"}, p(t("ok"))],
    }
    assert from_adf(adf) == "ok"
    with pytest.raises(TypeError):
        from_adf("a string")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_adf(3)  # type: ignore[arg-type]


def test_nesting_deeper_than_the_parser_reads_is_kept_as_plain_text() -> None:
    deep_lists = "\n".join("  " * i + f"- item{i}" for i in range(60))
    for text in ("> " * 120 + "deep", deep_lists):
        adf = to_adf(text)
        assert adf is not None
        assert_valid_adf(adf)
        assert adf["content"][0]["type"] == "paragraph"
        once = from_adf(adf)
        assert once is not None
        assert all(word in once for word in words_of(adf))
        assert "item59" in once or "deep" in once
        assert to_adf(once) == adf
    shallow = "\n".join("  " * i + f"- item{i}" for i in range(40))
    assert round_trip(shallow) == shallow


# ---------------------------------------------------------------------------------------------
# Recorded ADF from jira-cli's testdata
# ---------------------------------------------------------------------------------------------


def test_jira_cli_issue_description() -> None:
    issue = json.loads((JIRA_CLI / "issue.json").read_text(encoding="utf-8"))
    description = issue["fields"]["description"]
    assert from_adf(description) == "Test description"
    assert from_adf(description, markdown=False) == "Test description"
    assert to_adf("Test description") == description  # the same document Jira returned


def test_jira_cli_v2_description_is_a_string_not_adf() -> None:
    issue = json.loads((JIRA_CLI / "issue-2.json").read_text(encoding="utf-8"))
    assert issue["fields"]["description"] == "Test description"
    assert to_adf(issue["fields"]["description"], markdown=False) == doc(p(t("Test description")))


# ---------------------------------------------------------------------------------------------
# Empty and None
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("markdown", [True, False])
def test_empty_and_none_compare_equal(markdown: bool) -> None:
    for blank in (None, "", "   ", "\n\n \t\n", "\r\n"):
        assert to_adf(blank, markdown) is None
    assert from_adf(None, markdown) is None
    assert from_adf(doc(), markdown) is None
    assert from_adf(doc(p(), p(t("   "))), markdown) is None
    assert from_adf({"type": "doc", "version": 1}, markdown) is None


# ---------------------------------------------------------------------------------------------
# Plain text mode
# ---------------------------------------------------------------------------------------------


def test_plain_mode_interprets_nothing() -> None:
    text = "# not a heading\n  *indented* 2*3*4 [x](y)\n\n- item\n\n\n\nlast"
    assert to_adf(text, markdown=False) == doc(
        p(t("# not a heading"), BR, t("  *indented* 2*3*4 [x](y)")),
        p(t("- item")),
        p(t("last")),
    )
    assert (
        round_trip(text, markdown=False)
        == "# not a heading\n  *indented* 2*3*4 [x](y)\n\n- item\n\nlast"
    )


def test_normalisation() -> None:
    assert normalize_text("\n\r\na  \r\nb\t\x00\n\n\n\nc \n\n") == "a\nb\t\ufffd\n\n\n\nc"
    assert normalize_text("a\n\n\n\nc", markdown=False) == "a\n\nc"
    assert round_trip("a \t\r\nb\r\rc") == "a\nb\n\nc"


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


def words_of(node: Any) -> list[str]:
    """Letter runs of every text node (escapes and markup never split one)."""
    found: list[str] = []
    if isinstance(node, dict):
        text = node.get("text")
        if node.get("type") == "text" and isinstance(text, str):
            found.extend("".join(c if c.isalpha() else " " for c in text).split())
        for child in node.get("content", []):
            found.extend(words_of(child))
    return found
