"""SOQL against the fake org: binding to the schema, filtering, ordering and rendering rows.

Binding is where Salesforce's type rules bite: a quoted datetime (``SystemModstamp >
'2025-01-01T00:00:00Z'``) is INVALID_FIELD, text compares ignoring case, ``= null`` on a boolean
means ``= false``, and ``!=`` keeps null values. Rows render as REST JSON (with ``attributes`` and
nested parent objects) or as Bulk API 2.0 CSV values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from conveyor.testing.fakes.salesforce.api_errors import ApiError
from conveyor.testing.fakes.salesforce.clock import parse_date, parse_datetime
from conveyor.testing.fakes.salesforce.describe import FieldSpec, ObjectSchema
from conveyor.testing.fakes.salesforce.ids import normalize_id
from conveyor.testing.fakes.salesforce.soql import (
    And,
    Comparison,
    Condition,
    FieldRef,
    Literal_,
    Not,
    Or,
    Order,
    Query,
    located,
    parse,
)
from conveyor.testing.fakes.salesforce.store import Org, Record
from conveyor.testing.fakes.salesforce.values import NUMBER_TYPES, TEXT_TYPES, fold, to_csv, to_json

__all__ = ["Column", "Executor", "Result"]

Predicate = Callable[[Record], bool]
_TYPE_NAMES = {"datetime": "dateTime", "int": "integer"}
_TYPED = frozenset(("datetime", "date", "boolean", "int"))


@dataclass(frozen=True)
class Column:
    """A selected field; ``via`` is the reference field when it lives on the parent."""

    spec: FieldSpec
    via: FieldSpec | None
    parent: ObjectSchema | None

    @property
    def header(self) -> str:
        if self.via is None:
            return self.spec.name
        return f"{self.via.relationship_name}.{self.spec.name}"


@dataclass
class Result:
    obj: ObjectSchema
    columns: list[Column]
    rows: list[Record]
    count_only: bool


class Executor:
    """Runs parsed SOQL over the org's records (callers hold the org's lock)."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def run(self, text: str, include_deleted: bool) -> Result:
        query = parse(text)
        obj = self.org.schema.get(query.object)
        if obj is None:
            raise ApiError(
                400,
                "INVALID_TYPE",
                located(
                    query.text,
                    query.object_column,
                    f"sObject type '{query.object}' is not supported. If you are attempting to "
                    "use a custom object, be sure to append the '__c' after the entity name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                ),
            )
        columns = [self.column(obj, ref, query) for ref in query.fields]
        keep = self._predicate(obj, query.where, query) if query.where else (lambda _r: True)
        rows = [r for r in self.org.rows(obj, include_deleted) if keep(r)]
        self._sort(obj, rows, query)
        start = query.offset or 0
        end = start + query.limit if query.limit is not None else None
        return Result(obj, columns, rows[start:end], query.count_only)

    # -- binding ------------------------------------------------------------------------------

    def column(self, obj: ObjectSchema, ref: FieldRef, query: Query) -> Column:
        if len(ref.path) == 1:
            return Column(self._field(obj, ref.path[0], ref, query), None, None)
        relation, name = ref.path
        via = obj.relationship(relation)
        parent = self.org.schema.get(via.reference_to[0]) if via and via.reference_to else None
        if via is None or parent is None:
            raise _invalid(
                query,
                ref.column,
                f"Didn't understand relationship '{relation}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the "
                "custom relationship name. Please reference your WSDL or the describe call for "
                "the appropriate names.",
            )
        return Column(self._field(parent, name, ref, query), via, parent)

    def _field(self, obj: ObjectSchema, name: str, ref: FieldRef, query: Query) -> FieldSpec:
        spec = obj.field(name)
        if spec is None:
            raise _invalid(
                query,
                ref.column,
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        return spec

    def value(self, column: Column, record: Record) -> object:
        if column.via is None:
            return record.get(column.spec.name)
        parent = self.parent(column, record)
        return parent.get(column.spec.name) if parent is not None else None

    def parent(self, column: Column, record: Record) -> Record | None:
        parent_id = record.get(column.via.name) if column.via else None
        if column.parent is None or not isinstance(parent_id, str):
            return None
        return self.org.get(column.parent, parent_id)

    # -- filtering ----------------------------------------------------------------------------

    def _predicate(self, obj: ObjectSchema, cond: Condition, query: Query) -> Predicate:
        if isinstance(cond, And):
            parts = [self._predicate(obj, c, query) for c in cond.items]
            return lambda r: all(p(r) for p in parts)
        if isinstance(cond, Or):
            parts = [self._predicate(obj, c, query) for c in cond.items]
            return lambda r: any(p(r) for p in parts)
        if isinstance(cond, Not):
            inner = self._predicate(obj, cond.item, query)
            return lambda r: not inner(r)
        return self._comparison(obj, cond, query)

    def _comparison(self, obj: ObjectSchema, cmp: Comparison, query: Query) -> Predicate:
        column = self.column(obj, cmp.field, query)
        spec = column.spec
        literals = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        targets = [fold(spec, self._literal(spec, lit, query)) for lit in literals]

        def get(record: Record) -> object:
            return fold(spec, self.value(column, record))

        target = targets[0]
        if cmp.op == "LIKE":
            return self._like(column, literals[0], query)
        if cmp.op in ("IN", "NOT IN"):
            wanted = set(targets)
            if cmp.op == "IN":
                return lambda r: get(r) is not None and get(r) in wanted
            return lambda r: get(r) is None or get(r) not in wanted
        if cmp.op == "=":
            return lambda r: get(r) == target
        if cmp.op == "!=":
            return lambda r: get(r) != target
        compare = _ORDERING[cmp.op]
        return lambda r: (v := get(r)) is not None and target is not None and compare(v, target)

    def _like(self, column: Column, literal: Literal_, query: Query) -> Predicate:
        if column.spec.type not in TEXT_TYPES or literal.kind != "string":
            raise _invalid(
                query, literal.column, f"invalid operator on field {column.spec.name}: LIKE"
            )
        pattern = "".join(
            ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in str(literal.value)
        )
        regex = re.compile(pattern, re.IGNORECASE | re.DOTALL)
        return lambda r: isinstance(v := self.value(column, r), str) and bool(regex.fullmatch(v))

    def _literal(self, spec: FieldSpec, lit: Literal_, query: Query) -> object:
        kind = spec.type
        if lit.kind == "null":
            return False if kind == "boolean" else None
        if kind == "datetime" and lit.kind == "datetime":
            return parse_datetime(str(lit.value))
        if kind == "date" and lit.kind == "date":
            return parse_date(str(lit.value))
        if kind == "boolean" and lit.kind == "boolean":
            return lit.value
        if (kind == "int" or kind in NUMBER_TYPES) and lit.kind == "number":
            return lit.value
        if kind in TEXT_TYPES and lit.kind == "string":
            if kind not in ("id", "reference"):
                return lit.value
            record_id = normalize_id(lit.value)
            if record_id is None:
                raise ApiError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    located(query.text, lit.column, f"invalid ID field: {lit.value}"),
                )
            return record_id
        if kind in TEXT_TYPES or kind in NUMBER_TYPES or kind in _TYPED:
            raise _wrong_type(spec, lit, query)
        return lit.value

    # -- ordering -----------------------------------------------------------------------------

    def _sort(self, obj: ObjectSchema, rows: list[Record], query: Query) -> None:
        for order in reversed(query.order):
            self._sort_once(obj, rows, order, query)

    def _sort_once(self, obj: ObjectSchema, rows: list[Record], order: Order, query: Query) -> None:
        column = self.column(obj, order.field, query)
        null_rank = 1 if order.nulls_last != order.descending else 0

        def key(record: Record) -> tuple[int, object]:
            value = fold(column.spec, self.value(column, record))
            return (null_rank, 0) if value is None else (1 - null_rank, value)

        rows.sort(key=key, reverse=order.descending)

    # -- rendering ----------------------------------------------------------------------------

    def json_record(self, result: Result, record: Record, version: str) -> dict[str, object]:
        out: dict[str, object] = {"attributes": _attributes(result.obj, record, version)}
        for column in result.columns:
            if column.via is None or column.parent is None:
                out[column.spec.name] = to_json(column.spec, record.get(column.spec.name))
                continue
            relation = str(column.via.relationship_name)
            parent = self.parent(column, record)
            if parent is None:
                out[relation] = None
                continue
            node = out.get(relation)
            if not isinstance(node, dict):
                node = {"attributes": _attributes(column.parent, parent, version)}
                out[relation] = node
            assert isinstance(node, dict)
            node[column.spec.name] = to_json(column.spec, parent.get(column.spec.name))
        return out

    def csv_row(self, result: Result, record: Record) -> list[str]:
        return [to_csv(c.spec, self.value(c, record)) for c in result.columns]


def _attributes(obj: ObjectSchema, record: Record, version: str) -> dict[str, str]:
    return {
        "type": obj.name,
        "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}",
    }


def _invalid(query: Query, column: int, message: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", located(query.text, column, message))


def _wrong_type(spec: FieldSpec, lit: Literal_, query: Query) -> ApiError:
    if spec.type in TEXT_TYPES:
        reason = "must be of type string and should be enclosed in quotes"
    else:
        type_name = _TYPE_NAMES.get(spec.type, spec.type)
        reason = f"must be of type {type_name} and should not be enclosed in quotes"
    message = f"value of filter criterion for field '{spec.name}' {reason}"
    return _invalid(query, lit.column, message)


_ORDERING: dict[str, Callable[[object, object], bool]] = {
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}
