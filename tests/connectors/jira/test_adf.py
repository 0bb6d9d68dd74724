"""connectors.jira.adf: Atlassian Document Format to and from Markdown / plain text.

The sync relies on the echo property: text from ``from_adf``, sent through ``to_adf`` and read
back, is the same text (and the same ADF), so a ticket the sync wrote never looks changed.
Expected ADF is written out as Atlassian documents it (type, content, marks, attrs).
"""

from __future__ import annotations

import json

import pytest

from connectors.jira.adf import from_adf, normalize_text, to_adf
from tests.connectors.jira.adf_nodes import (
    BR,
    RULE,
    Node,
    assert_valid_adf,
    code,
    doc,
    h,
    li,
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
