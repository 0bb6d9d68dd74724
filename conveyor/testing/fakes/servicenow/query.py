"""Encoded queries (``sysparm_query``) as ServiceNow reads them.

Syntax: conditions ``<field><operator><value>`` joined by ``^`` (AND) and ``^OR`` (OR with the
condition before it; OR binds tighter than AND), whole queries joined by ``^NQ`` (OR of
queries), ``ORDERBY<field>``/``ORDERBYDESC<field>`` anywhere, ``^EQ`` ignored, ``^^`` a literal
``^``. Fields may be dot-walked (``assignment_group.name=Network``).

Operators: ``= != > >= < <= IN NOT IN LIKE NOT LIKE STARTSWITH ENDSWITH ISEMPTY ISNOTEMPTY
ANYTHING EMPTYSTRING BETWEEN`` (``a@b``). Semantics, as on a ServiceNow database:

- String comparison ignores case; ``!=``, ``NOT IN`` and ``NOT LIKE`` also match empty values;
  ``>``/``<`` never do. Integers compare as numbers, date-times as instants.
- Date-time operands are a UTC value (``2024-01-01 10:00:00``) or a script
  (``javascript:gs.dateGenerate('2024-01-01','10:00:00')``, see :mod:`.glidetime`).
- An invalid part (unknown field, unknown operator, unreadable date) is dropped and the rest of
  the query still applies, which widens the result, as ServiceNow does by default
  (``glide.invalid_query.returns_no_rows`` is false).
- Ordering: empty values first ascending, last descending; a reference sorts by its display
  value; ties keep creation order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conveyor.testing.fakes.servicenow.fields import FieldReader
from conveyor.testing.fakes.servicenow.glidetime import DateGenerateZone, query_datetime
from conveyor.testing.fakes.servicenow.schema import Column
from conveyor.testing.fakes.servicenow.store import Row

__all__ = ["Condition", "EncodedQuery", "QueryCompiler"]

_OPERATORS = (
    "ISNOTEMPTY",
    "ISEMPTY",
    "ANYTHING",
    "EMPTYSTRING",
    "NOT IN",
    "NOT LIKE",
    "NOTLIKE",
    "STARTSWITH",
    "ENDSWITH",
    "BETWEEN",
    "LIKE",
    "IN",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
)
_CONDITION = re.compile(
    r"^([a-z0-9_]+(?:\.[a-z0-9_]+)*)(" + "|".join(re.escape(o) for o in _OPERATORS) + r")(.*)$",
    re.DOTALL,
)
_ORDERED = {">", ">=", "<", "<=", "BETWEEN"}
_NO_OPERAND = {"ISNOTEMPTY", "ISEMPTY", "ANYTHING", "EMPTYSTRING"}
Key = tuple[Any, ...]


@dataclass(frozen=True)
class Condition:
    path: str
    operator: str
    column: Column
    operand: str
    #: The operand(s) in the column's comparable form (dates as UTC text, numbers as int).
    values: tuple[Any, ...] = ()

    def matches(self, raw: str) -> bool:
        op = self.operator
        if op in ("ISEMPTY", "EMPTYSTRING"):
            return raw == ""
        if op == "ISNOTEMPTY":
            return raw != ""
        if op == "ANYTHING":
            return True
        if op in ("!=", "NOT IN", "NOT LIKE", "NOTLIKE"):
            return raw == "" or not self._positive(raw)
        if raw == "":
            return op in ("=", "IN") and "" in self.values
        return self._positive(raw)

    def _positive(self, raw: str) -> bool:
        op = self.operator
        have = comparable(self.column, raw)
        text = raw.casefold()
        if op in ("=", "!="):
            return bool(have == self.values[0])
        if op in ("IN", "NOT IN"):
            return have in self.values
        if op in ("LIKE", "NOT LIKE", "NOTLIKE"):
            return self.operand.casefold() in text
        if op == "STARTSWITH":
            return text.startswith(self.operand.casefold())
        if op == "ENDSWITH":
            return text.endswith(self.operand.casefold())
        return _ordered(op, have, self.values)


def _ordered(op: str, have: Any, values: tuple[Any, ...]) -> bool:
    try:
        if op == "BETWEEN":
            return bool(values[0] <= have <= values[1])
        return bool(
            {
                ">": have > values[0],
                ">=": have >= values[0],
                "<": have < values[0],
                "<=": have <= values[0],
            }[op]
        )
    except TypeError:  # a number against text: no match
        return False


def comparable(column: Column, raw: str) -> Any:
    """A stored value in the form queries compare: int for integers, text otherwise (dates are
    stored sortable), case folded for strings."""
    if column.type == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw.casefold()
    if column.type == "boolean":
        return "true" if raw.lower() in ("true", "1") else "false"
    return raw.casefold()


@dataclass
class EncodedQuery:
    """A compiled query: ``groups`` (``^NQ``) of AND-ed terms, each an OR of conditions."""

    table: str
    reader: FieldReader
    groups: list[list[list[Condition]]] = field(default_factory=list)
    orders: list[tuple[Column, str, bool]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def matches(self, row: Row) -> bool:
        groups = [g for g in self.groups if g] or [[]]
        return any(all(self._term(term, row) for term in group) for group in groups)

    def _term(self, term: list[Condition], row: Row) -> bool:
        return any(c.matches(self.reader.raw(self.table, row, c.path)) for c in term)

    def select(self, rows: Iterable[Row]) -> list[Row]:
        """The matching rows in the query's order."""
        found = [row for row in rows if self.matches(row)]
        for column, path, descending in reversed(self.orders):
            found.sort(key=self._sort_key(column, path), reverse=descending)
        return found

    def _sort_key(self, column: Column, path: str) -> Callable[[Row], Key]:
        def key(row: Row) -> Key:
            raw = self.reader.raw(self.table, row, path)
            if raw == "":
                return (0,)
            if column.type == "reference":
                return (1, self.reader.display(column, raw).casefold())
            value = comparable(column, raw)
            return (1, value) if isinstance(value, int) else (2, value)

        return key


@dataclass
class QueryCompiler:
    reader: FieldReader
    now: Callable[[], datetime]
    generate_zone: Callable[[], DateGenerateZone]

    def compile(self, table: str, text: str | None) -> EncodedQuery:
        query = EncodedQuery(table, self.reader)
        group: list[list[Condition]] = []
        query.groups.append(group)
        for token in (text or "").replace("^^", "\x00").split("^"):
            token = token.replace("\x00", "^")
            if token.startswith("NQ"):
                group = []
                query.groups.append(group)
                token = token[2:]
            if token in ("", "EQ") or token.startswith("GROUPBY"):
                continue
            if token.startswith("ORDERBY"):
                self._order(query, token)
            elif token.startswith("OR") and group and _CONDITION.match(token[2:]):
                self._add(query, group[-1], token[2:])
            else:
                term: list[Condition] = []
                self._add(query, term, token)
                if term:
                    group.append(term)
        return query

    def _order(self, query: EncodedQuery, token: str) -> None:
        descending = token.startswith("ORDERBYDESC")
        path = token[len("ORDERBYDESC") :] if descending else token[len("ORDERBY") :]
        column = self.reader.column(query.table, path)
        if column is None:
            query.dropped.append(token)
        else:
            query.orders.append((column, path, descending))

    def _add(self, query: EncodedQuery, term: list[Condition], text: str) -> None:
        condition = self._condition(query.table, text)
        if condition is None:
            query.dropped.append(text)
        else:
            term.append(condition)

    def _condition(self, table: str, text: str) -> Condition | None:
        match = _CONDITION.match(text)
        if match is None:
            return None
        path, operator, operand = match.groups()
        column = self.reader.column(table, path)
        if column is None:
            return None
        if operator in _NO_OPERAND:
            return Condition(path, operator, column, "")
        if operator in ("IN", "NOT IN"):
            parts = operand.split(",")
        elif operator == "BETWEEN":
            parts = operand.split("@")
            if len(parts) != 2:
                return None
        else:
            parts = [operand]
        values = [self._operand(column, p) for p in parts]
        if any(v is None for v in values):
            return None  # an unreadable date-time: the condition is dropped
        if operator in _ORDERED and any(v == "" for v in values):
            return None
        return Condition(path, operator, column, operand, tuple(values))

    def _operand(self, column: Column, text: str) -> Any:
        if text == "":
            return ""
        if column.type == "glide_date_time":
            converted = query_datetime(text, self.reader.zone, self.now(), self.generate_zone())
            return converted.casefold() if converted is not None else None
        return comparable(column, text)
