"""XML record paths (``/ns:export/ns:contact``, ``ns:orders/ns:order``) and Clark names.

``parse_record_path`` turns ``source.record_path`` into a ``RecordPath`` of Clark names
(``{uri}local``) that matches the chain of tags from the root to an element. The helpers split
a Clark name into its namespace URI and local name, and join dotted column keys.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import SourceError

__all__ = [
    "RecordPath",
    "join_key",
    "local_name",
    "namespace_uri",
    "parse_record_path",
    "split_tag",
]


@dataclass(frozen=True)
class RecordPath:
    """A parsed ``source.record_path``: its steps as Clark names."""

    text: str
    steps: tuple[str | None, ...]  # Clark names; None matches any element
    absolute: bool

    def matches(self, stack: list[str]) -> bool:
        size = len(self.steps)
        if len(stack) < size or (self.absolute and len(stack) != size):
            return False
        return all(s is None or s == tag for s, tag in zip(self.steps, stack[-size:], strict=True))

    @property
    def local(self) -> str | None:
        """The local name of the record element, unless it is ``*``."""
        last = self.steps[-1]
        return None if last is None else local_name(last)


def parse_record_path(path: Path, text: str, namespaces: dict[str, str]) -> RecordPath:
    """Parse ``text``; its prefixes must be declared in ``namespaces``."""
    parts = text.strip().removeprefix("/").split("/")
    steps: list[str | None] = []
    for part in parts:
        if not part:
            raise SourceError(path, f"source.record_path {text!r} has an empty step")
        if part == "*":
            steps.append(None)
            continue
        prefix, _, local = part.rpartition(":")
        if prefix and prefix not in namespaces:
            raise SourceError(
                path,
                f"source.record_path {text!r} uses the prefix {prefix!r}, which "
                f"source.namespaces does not declare; add {prefix}: <namespace URI>",
            )
        steps.append(f"{{{namespaces[prefix]}}}{local}" if prefix else local)
    return RecordPath(text=text, steps=tuple(steps), absolute=text.strip().startswith("/"))


def local_name(tag: str) -> str:
    """A Clark name's local name."""
    return split_tag(tag)[1]


def namespace_uri(tag: str) -> str:
    """A Clark name's namespace URI ('' for none)."""
    return split_tag(tag)[0]


@functools.lru_cache(maxsize=4096)
def split_tag(tag: str) -> tuple[str, str]:
    """A Clark name's namespace URI ('' for none) and local name (cached: tags repeat)."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def join_key(key: str, name: str) -> str:
    """The dotted column key of ``name`` below ``key`` ('' for the record itself)."""
    return f"{key}.{name}" if key else name
