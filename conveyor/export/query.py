"""An export's fields, filters, order and limit as one SQLAlchemy SELECT over its source.

Every name (fields, filters, order) must be a column of the source; every value is a bound
parameter converted from the command line's text to the column's kind; no user text is ever
formatted into SQL. Operators: ``=`` ``!=`` ``<`` ``<=`` ``>`` ``>=`` (or eq ne lt le gt ge),
``like`` and ``not-like`` (string and json columns), ``in`` (a comma-separated list, so an
``in`` value cannot hold a comma) and ``is`` (``null`` or ``not-null``). NULL matches only
``is null``: every other comparison leaves NULLs out, as in SQL. Types without a kind of
their own (uuid, time, …) compare as their text.

The same filter returns the same rows on both databases:

- ``like``: ``%`` any text, ``_`` one character, ``\\`` makes the next one literal, case
  sensitive. SQLite's LIKE ignores ASCII case, so there the pattern becomes a GLOB.
- Decimals Conveyor stores as text on SQLite ("12.50") compare exactly for ``=``, ``!=`` and
  ``in`` (the value is rendered at the column's scale, as stored), but as REAL for ``<``,
  ``<=``, ``>``, ``>=`` and ordering (text order puts "9.5" after "10.0"): exact to about 15
  significant digits, so values that differ only beyond that compare as equal there.
- Datetimes: ISO 8601 with or without an offset; without one a value is taken as UTC for
  time-zone-aware columns; for naive columns a value with an offset is converted to UTC and
  compared naive (Conveyor's engines keep naive timestamps in UTC). On SQLite the bound value
  is rendered like the stored text (UtcDateTimeText), so text order is time order.
- Order: ascending with NULLs last, descending with NULLs first (PostgreSQL's default, made
  explicit for SQLite). Without ``order_by``, a table's primary key keeps exports stable.
"""

from __future__ import annotations

import datetime as dt
import difflib
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from conveyor.errors import ConfigError
from conveyor.export.source import ExportSource, SourceField

__all__ = ["OPERATORS", "Filter", "build_select", "canonical_operator", "parse_filters"]

#: Operator as typed (lower case) -> the operator it means.
OPERATORS: dict[str, str] = {
    "=": "=",
    "eq": "=",
    "!=": "!=",
    "ne": "!=",
    "<": "<",
    "lt": "<",
    "<=": "<=",
    "le": "<=",
    ">": ">",
    "gt": ">",
    ">=": ">=",
    "ge": ">=",
    "like": "like",
    "not-like": "not-like",
    "in": "in",
    "is": "is",
}
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TEXT_KINDS = ("string", "json")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_FLOAT_WORDS = {"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_INT64 = 2**63
_WIDE = Context(prec=100)  # room for any decimal(p <= 38) value at its scale


@dataclass(frozen=True)
class Filter:
    """One ``--where FIELD OP VALUE`` as typed on the command line."""

    field: str
    op: str
    value: str


def parse_filters(triples: Iterable[Sequence[str]]) -> list[Filter]:
    """``(field, operator, value)`` triples as Filters, operators checked."""
    filters = []
    for triple in triples:
        if len(triple) != 3:
            raise ConfigError(f"a filter is FIELD OPERATOR VALUE, got {' '.join(triple)!r}")
        field, op, value = triple
        filters.append(Filter(field, canonical_operator(op), value))
    return filters


def canonical_operator(op: str) -> str:
    """The operator ``op`` means (``eq`` -> ``=``); an unknown one lists the valid ones."""
    found = OPERATORS.get(op.strip().lower())
    if found is None:
        raise ConfigError(f"unknown operator {op!r}: use one of {' '.join(OPERATORS)}")
    return found


def build_select(
    source: ExportSource,
    *,
    fields: Sequence[str] | None = None,
    where: Sequence[Filter] = (),
    order_by: Sequence[tuple[str, bool]] = (),
    limit: int | None = None,
) -> sa.Select[Any]:
    """``SELECT fields FROM source WHERE … ORDER BY … LIMIT …``, columns labelled by name."""
    names = list(fields) if fields else [c.name for c in source.columns]
    _no_duplicates(names, "fields")
    chosen = [_field(source, n, "field") for n in names]
    stmt = sa.select(*(f.select.label(n) for n, f in zip(names, chosen, strict=True)))
    stmt = stmt.select_from(source.selectable)
    for item in where:
        stmt = stmt.where(_condition(source, item))
    stmt = stmt.order_by(*_order(source, order_by))
    if limit is not None:
        if limit < 0:
            raise ConfigError(f"limit must be 0 or more, got {limit}")
        stmt = stmt.limit(limit)
    return stmt


def _no_duplicates(names: Sequence[str], what: str) -> None:
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"{what} name {', '.join(map(repr, twice))} more than once: list each once"
        )


def _field(source: ExportSource, name: str, role: str) -> SourceField:
    found = source.fields.get(name)
    if found is not None:
        return found
    valid = [c.name for c in source.columns]
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(
        f"unknown {role} {name!r}: {source.name!r} has no such column{hint}; "
        f"valid fields: {', '.join(valid)}"
    )


def _order(source: ExportSource, order_by: Sequence[tuple[str, bool]]) -> list[Any]:
    if not order_by:
        return [source.fields[k].order.asc() for k in source.primary_key]
    _no_duplicates([n for n, _ in order_by], "order-by")
    terms = []
    for name, descending in order_by:
        expr = _field(source, name, "order-by field").order
        terms.append(expr.desc().nulls_first() if descending else expr.asc().nulls_last())
    return terms


def _condition(source: ExportSource, item: Filter) -> ColumnElement[bool]:
    field = _field(source, item.field, "filter field")
    op = canonical_operator(item.op)
    if op == "is":
        return _is(field, item)
    if op in ("like", "not-like"):
        return _like(source, field, item, negate=op == "not-like")
    if op == "in":
        values = [_convert(field, item, part) for part in item.value.split(",")]
        if _stored_as_text(source, field):
            return _decimal_text_in(field, values)
        return field.compare.in_(values)
    value = _convert(field, item, item.value)
    if _stored_as_text(source, field):
        return _decimal_text_compare(field, op, value)
    return _compare(op, field.compare, value)


def _compare(op: str, expr: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    return cast("ColumnElement[bool]", _COMPARISONS[op](expr, value))


def _is(field: SourceField, item: Filter) -> ColumnElement[bool]:
    word = item.value.strip().lower()
    if word == "null":
        return field.compare.is_(None)
    if word == "not-null":
        return field.compare.is_not(None)
    raise ConfigError(f"filter {item.field} is {item.value!r}: after 'is' write null or not-null")


def _like(
    source: ExportSource, field: SourceField, item: Filter, *, negate: bool
) -> ColumnElement[bool]:
    if field.compare_kind not in _TEXT_KINDS:
        raise ConfigError(
            f"filter {item.field} {item.op} {item.value!r}: like works on text fields only and "
            f"{item.field!r} is {field.compare_kind}; use = < > or in"
        )
    if source.dialect == "sqlite":
        matched = field.compare.op("GLOB")(sa.bindparam(None, _glob(item.value), sa.Text()))
        return sa.not_(matched) if negate else matched
    pattern = sa.bindparam(None, item.value, sa.Text())
    return field.compare.not_like(pattern) if negate else field.compare.like(pattern)


def _glob(pattern: str) -> str:
    """A LIKE pattern (``%``, ``_``, ``\\`` escapes) as the GLOB pattern matching the same."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append(f"[{char}]" if char in "*?[" else char)
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(f"[{char}]" if char in "*?[" else char)
    return "".join(out)


def _stored_as_text(source: ExportSource, field: SourceField) -> bool:
    """A decimal SQLite holds as its text (conveyor/load/ddl.py DecimalText)."""
    return source.dialect == "sqlite" and field.fetch == "decimal_text"


def _decimal_text(field: SourceField, value: Decimal) -> str | None:
    """The text SQLite holds for ``value`` in this column, or None when it cannot hold it."""
    scale = field.column.scale or 0
    try:
        fixed = value.quantize(Decimal(1).scaleb(-scale), context=_WIDE)
    except InvalidOperation:
        return None
    if fixed != value:
        return None
    return f"{abs(fixed) if fixed == 0 else fixed:f}"


def _decimal_text_compare(field: SourceField, op: str, value: Any) -> ColumnElement[bool]:
    if op not in ("=", "!="):
        return _compare(op, field.order, float(value))
    text = _decimal_text(field, value)
    stored = sa.type_coerce(field.compare, sa.Text())
    if op == "=":
        return stored == text if text is not None else sa.false()
    return stored != text if text is not None else stored.is_not(None)


def _decimal_text_in(field: SourceField, values: list[Any]) -> ColumnElement[bool]:
    texts = [t for t in (_decimal_text(field, v) for v in values) if t is not None]
    return sa.type_coerce(field.compare, sa.Text()).in_(texts) if texts else sa.false()


def _convert(field: SourceField, item: Filter, text: str) -> Any:
    """The filter's text as a value of the field's kind, or a ConfigError saying the form."""
    kind = field.compare_kind
    value = _parse(kind, text.strip() if kind not in _TEXT_KINDS else text)
    if value is None:
        raise ConfigError(
            f"filter {item.field} {item.op} {text!r}: {text!r} is not a {kind} ({_FORMS[kind]})"
        )
    if isinstance(value, dt.datetime):
        if field.naive and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        if not field.naive and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
    return value


_FORMS = {
    "integer": "a whole number such as 42 or -7",
    "decimal": "a number such as 12.50",
    "float": "a number such as 1.5, 2e-3, nan or inf",
    "boolean": "true/false, 1/0 or yes/no",
    "date": "an ISO date such as 2024-01-31",
    "datetime": "ISO 8601 such as 2024-01-31T08:00:00, optionally with an offset like +02:00",
    "string": "any text",
    "json": "any text",
}


def _parse(kind: str, text: str) -> Any:
    """``text`` as ``kind``, or None when it is not one."""
    if kind == "integer":
        number = int(text) if _INTEGER.fullmatch(text) else None
        return number if number is not None and -_INT64 <= number < _INT64 else None
    if kind == "decimal":
        return Decimal(text) if _NUMBER.fullmatch(text) else None
    if kind == "float":
        return float(text) if _NUMBER.fullmatch(text) or text.lower() in _FLOAT_WORDS else None
    if kind == "boolean":
        return _BOOLEANS.get(text.lower())
    if kind in ("date", "datetime"):
        parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
        try:
            return parse(text)
        except ValueError:
            return None
    return text
