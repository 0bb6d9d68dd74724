"""Builders of expected ADF, a structural validator of ADF, and the round trip, for the
tests of connectors.jira.adf."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.jira.adf import from_adf, to_adf
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
