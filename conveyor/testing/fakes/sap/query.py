"""System query options of an entity-set read, and SAP Gateway's server-side paging.

- ``$filter`` (see :mod:`~conveyor.testing.fakes.sap.filters`), ``$select`` (``*`` or property
  names; ``__metadata`` always comes along), ``$orderby`` (several keys, ``asc``/``desc``; the key
  breaks ties so pages are stable; unsortable properties are refused), ``$top``, ``$skip``,
  ``$inlinecount=allpages`` (``__count``, a string, counts after ``$filter`` and before
  ``$skip``/``$top``).
- Server paging: an answer holds at most ``page_size`` entities (100 unless the fake is made
  with another size); when more remain it carries ``__next``, the request's own URL with
  ``$skiptoken=N`` (N: entities already served of the ``$skip``/``$top`` window). Following
  ``__next`` as it is reads the rest. A faulted page (``faults.empty_pages``) is empty but still
  carries a ``__next`` to the same position, so nothing is lost by following it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from conveyor.testing.fakes.sap.errors import bad_request
from conveyor.testing.fakes.sap.filters import compile_filter
from conveyor.testing.fakes.sap.schema import EntityType
from conveyor.testing.fakes.sap.store import internal_key

__all__ = [
    "Page",
    "QueryOptions",
    "Row",
    "cut",
    "next_link",
    "ordered_rows",
    "run_query",
    "select_names",
]

Row = Mapping[str, Any]
#: Characters left as they are in a ``__next`` link's query (SAP writes ``$skiptoken`` and
#: OData literals unescaped).
_SAFE = "$'(),:*"


@dataclass(frozen=True)
class QueryOptions:
    """The system query options of one request (raw texts as sent)."""

    filter: str | None = None
    select: str | None = None
    orderby: str | None = None
    top: str | None = None
    skip: str | None = None
    skiptoken: str | None = None
    inlinecount: str | None = None

    @classmethod
    def of(cls, query: Mapping[str, list[str]]) -> QueryOptions:
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        return cls(
            filter=one("$filter"),
            select=one("$select"),
            orderby=one("$orderby"),
            top=one("$top"),
            skip=one("$skip"),
            skiptoken=one("$skiptoken"),
            inlinecount=one("$inlinecount"),
        )


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    count: int | None  # for $inlinecount=allpages
    next_token: int | None  # $skiptoken of the next page, None on the last


def select_names(text: str | None, entity: EntityType) -> list[str] | None:
    """The properties ``$select`` keeps (None: all), or a 400 for an unknown name."""
    if text is None or text.strip() in ("", "*"):
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name != "*" and entity.get(name) is None:
            raise bad_request(f"Property '{name}' not found in type '{entity.name}'")
    return None if "*" in names else names


def run_query(
    rows: Sequence[Row],
    options: QueryOptions,
    entity: EntityType,
    page_size: int,
    *,
    empty_page: bool = False,
) -> Page:
    """Filter, order and cut ``rows`` (stored values, in key order) into the page asked for."""
    return cut(ordered_rows(rows, options, entity), options, page_size, empty_page=empty_page)


def ordered_rows(rows: Sequence[Row], options: QueryOptions, entity: EntityType) -> list[Row]:
    """``rows`` that pass ``$filter``, in ``$orderby`` order (the key breaking ties)."""
    selected = list(rows)
    if options.filter is not None and options.filter.strip():
        predicate = compile_filter(options.filter, entity)
        selected = [row for row in selected if predicate(row)]
    return _ordered(selected, options.orderby, entity)


def cut(
    selected: Sequence[Row], options: QueryOptions, page_size: int, *, empty_page: bool = False
) -> Page:
    """The page of ``selected`` (filtered and ordered) that ``$skip``, ``$top`` and
    ``$skiptoken`` ask for."""
    total = len(selected)
    skip = _count_option("$skip", options.skip) or 0
    top = _count_option("$top", options.top)
    end = total if top is None else min(total, skip + top)
    window = max(0, end - skip)  # the $skip/$top window's size (not copied: pages are cut)
    start = _count_option("$skiptoken", options.skiptoken) or 0
    count = total if _inline_count(options.inlinecount) else None
    if empty_page:
        return Page([], count, start)
    first = skip + start
    page = list(selected[first : min(end, first + page_size)])
    more = start + page_size < window
    return Page(page, count, start + page_size if more else None)


def next_link(base: str, query: Mapping[str, list[str]], token: int) -> str:
    """``base`` with the request's query options and ``$skiptoken=token`` in place of its own."""
    pairs = [(k, v) for k, values in query.items() if k != "$skiptoken" for v in values]
    pairs.append(("$skiptoken", str(token)))
    text = "&".join(f"{quote(k, safe='$')}={quote(v, safe=_SAFE)}" for k, v in pairs)
    return f"{base}?{text}"


def _count_option(name: str, text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise bad_request(f"Invalid value '{text}' for system query option {name}")
    return int(text)


def _inline_count(text: str | None) -> bool:
    if text is None or text == "none":
        return False
    if text == "allpages":
        return True
    raise bad_request(f"Invalid value '{text}' for system query option $inlinecount")


def _ordered(rows: list[Row], text: str | None, entity: EntityType) -> list[Row]:
    keys: list[tuple[str, bool]] = []
    for part in (text or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise bad_request(f"Invalid $orderby expression '{part.strip()}'")
        prop = entity.get(words[0])
        if prop is None:
            raise bad_request(f"Property '{words[0]}' not found in type '{entity.name}'")
        if not prop.sortable:
            raise bad_request(f"Property '{words[0]}' is not sortable", target=words[0])
        keys.append((prop.name, len(words) == 2 and words[1].lower() == "desc"))
    keys.append((entity.key, False))

    def compare(a: Row, b: Row) -> int:
        for name, descending in keys:
            left, right = (
                _sortable(a[name], name == entity.key),
                _sortable(b[name], name == entity.key),
            )
            if left != right:
                result = -1 if left < right else 1
                return -result if descending else result
        return 0

    return sorted(rows, key=functools.cmp_to_key(compare))


def _sortable(value: Any, is_key: bool) -> Any:
    """Empty dates sort first, as ABAP's initial date does; keys sort by their internal form."""
    if is_key:
        return internal_key(value)
    return datetime.min if value is None else value
