"""Atlassian Document Format: the fake keeps rich text (descriptions, comment bodies) as ADF and
renders plain text for REST v2.

- v3 reads and writes ADF (``{"version": 1, "type": "doc", "content": [...]}``); a plain string
  is refused there, as on Jira Cloud.
- v2 reads and writes strings: a blank line separates paragraphs, a single newline is a
  ``hardBreak``, so text written through v2 reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["NOT_ADF", "adf_to_text", "is_adf", "text_to_adf"]

#: Jira Cloud's message when a v3 rich-text field is given something other than ADF.
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"

_BLOCKS = frozenset(
    {
        "paragraph",
        "heading",
        "blockquote",
        "codeBlock",
        "bulletList",
        "orderedList",
        "listItem",
        "panel",
        "rule",
        "table",
        "tableRow",
        "tableHeader",
        "tableCell",
        "mediaSingle",
        "mediaGroup",
        "expand",
    }
)


def text_to_adf(text: str | None) -> dict[str, Any] | None:
    """Plain text as an ADF document (None for empty text: Jira stores an empty description
    as null)."""
    if text is None or text == "":
        return None
    paragraphs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        content: list[dict[str, Any]] = []
        for number, line in enumerate(block.split("\n")):
            if number:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraph: dict[str, Any] = {"type": "paragraph"}
        if content:
            paragraph["content"] = content
        paragraphs.append(paragraph)
    return {"version": 1, "type": "doc", "content": paragraphs}


def adf_to_text(doc: Mapping[str, Any] | None) -> str | None:
    """An ADF document as plain text: the inverse of :func:`text_to_adf` for what it makes;
    other block nodes are separated by blank lines, their inline text kept."""
    if not doc:
        return None
    return "\n\n".join(_block_text(node) for node in doc.get("content") or [])


def _block_text(node: Mapping[str, Any]) -> str:
    children = node.get("content") or []
    if any(child.get("type") in _BLOCKS for child in children):
        return "\n\n".join(_block_text(child) for child in children)
    return "".join(_inline_text(child) for child in children)


def _inline_text(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    attrs = node.get("attrs") or {}
    if kind in ("mention", "emoji", "status", "date", "inlineCard"):
        return str(attrs.get("text") or attrs.get("shortName") or attrs.get("url") or "")
    return "".join(_inline_text(child) for child in node.get("content") or [])


def is_adf(value: object) -> bool:
    """Whether ``value`` is an ADF document Jira would take: a ``doc`` of version 1 whose nodes
    all have a type, whose text nodes hold text and whose children are lists."""
    if not isinstance(value, Mapping):
        return False
    if value.get("type") != "doc" or value.get("version") != 1:
        return False
    return isinstance(value.get("content"), list) and all(
        _valid_node(node) for node in value["content"]
    )


def _valid_node(node: object) -> bool:
    if not isinstance(node, Mapping) or not isinstance(node.get("type"), str):
        return False
    if node["type"] == "text" and not (isinstance(node.get("text"), str) and node["text"]):
        return False
    content = node.get("content", [])
    return isinstance(content, list) and all(_valid_node(child) for child in content)
