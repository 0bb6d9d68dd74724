"""Writing records as the Table API does: value checks, the instance's business rules, refusals.

- Values: JSON strings, numbers, booleans and null are taken (null and ``""`` empty a column);
  columns the table does not have are ignored silently, as are read-only system columns
  (``sys_id`` may be given on insert). An integer that is not a number, a value outside a choice
  list, a reference that names no record (by sys_id or by display value) or an unreadable
  date-time is refused with 400 (a decision of this fake, which holds the data to what a
  connector must send: an instance without data policies stores such values as given).
- With ``sysparm_input_display_value=true`` date-times are read in the user's zone and choice
  labels are accepted.
- Business rules of a fresh instance: ``sys_user.name`` is first and last name; on ``task``
  and its tables ``priority`` follows impact and urgency (the priority lookup:
  ``impact + urgency - 1``, so a written priority is overwritten), ``active`` is false once
  ``state`` is Closed (7) or Canceled (8), ``opened_at``, ``opened_by``, ``closed_at`` and
  ``resolved_at`` are filled.
- A refusal planned with :meth:`~.faults.Faults.reject_records` answers 403, as a business rule
  that aborts the write does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.servicenow.glidetime import format_glide, parse_glide
from conveyor.testing.fakes.servicenow.routing import ServiceNowError, not_found
from conveyor.testing.fakes.servicenow.schema import Column, Schema
from conveyor.testing.fakes.servicenow.store import Row, Store

__all__ = ["Rejection", "Writer", "acl_refusal", "text_value"]

#: ``(table, operation, resulting record)`` → a refusal or None (see :mod:`.faults`).
Rejection = Callable[[str, str, Mapping[str, str]], ServiceNowError | None]

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_CLOSED_STATES = {"7", "8"}


def acl_refusal(operation: str) -> ServiceNowError:
    """ServiceNow's 403 when an ACL refuses a write."""
    return ServiceNowError(
        403, "Operation Failed", f"ACL Exception {operation} Failed due to security constraints"
    )


def text_value(value: Any) -> str:
    """A JSON value as the string ServiceNow stores."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict) and "value" in value:
        return text_value(value["value"])
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


@dataclass
class Writer:
    schema: Schema
    store: Store
    zone: ZoneInfo
    rejection: Rejection

    # -- operations ---------------------------------------------------------------------------

    def insert(
        self,
        table: str,
        body: Mapping[str, Any],
        user: str,
        *,
        display_input: bool = False,
        api: bool = True,
    ) -> Row:
        """Insert a record; ``api`` applies ACLs and planned refusals (the fake's own seeding
        writes skip them)."""
        self._check_writable(table, "Insert", api)
        values = self.values(table, body, display_input=display_input, insert=True)
        record = {name: column.default for name, column in self.schema.columns(table).items()}
        record.update(values)
        now = self.store.now()  # one clock reading per write
        record.update(self._rules(table, record, None, user, now))
        if api:
            self._check_rejection(table, "insert", record)
        return self.store.add(table, record, user, now)

    def update(
        self,
        table: str,
        sys_id: str,
        body: Mapping[str, Any],
        user: str,
        *,
        display_input: bool = False,
        api: bool = True,
    ) -> tuple[str, Row]:
        """Update a record (PATCH and PUT alike); returns ``(concrete table, row)``."""
        self._check_writable(table, "Update", api)
        concrete, row = self.require(table, sys_id)
        values = self.values(concrete, body, display_input=display_input, insert=False)
        merged = {**row, **values}
        now = self.store.now()
        merged.update(self._rules(concrete, merged, row, user, now))
        if api:
            self._check_rejection(concrete, "update", merged)
        self.store.change(row, {k: v for k, v in merged.items() if row.get(k) != v}, user, now)
        return concrete, row

    def delete(self, table: str, sys_id: str, user: str, *, api: bool = True) -> Row:
        self._check_writable(table, "Delete", api)
        concrete, row = self.require(table, sys_id)
        if api:
            self._check_rejection(concrete, "delete", row)
        return self.store.remove(concrete, sys_id, user)

    def require(self, table: str, sys_id: str) -> tuple[str, Row]:
        found = self.store.find(table, sys_id)
        if found is None:
            raise not_found()
        return found

    # -- values -------------------------------------------------------------------------------

    def values(
        self, table: str, body: Mapping[str, Any], *, display_input: bool, insert: bool
    ) -> dict[str, str]:
        columns = self.schema.columns(table)
        values: dict[str, str] = {}
        for name, raw in body.items():
            column = columns.get(name)
            if column is None or (column.read_only and not (insert and name == "sys_id")):
                continue
            values[name] = self.value(table, column, text_value(raw), display_input)
        return values

    def value(self, table: str, column: Column, text: str, display_input: bool = False) -> str:
        """One column's stored form of ``text``, or ServiceNow-shaped 400."""
        if text == "":
            return ""
        kind = column.type
        if kind == "integer":
            text = self._integer(table, column, text)
        elif kind == "boolean":
            text = self._boolean(table, column, text)
        elif kind == "glide_date_time":
            parsed = parse_glide(text, self.zone if display_input else None)
            if parsed is None:
                raise self._invalid(table, column, text, "is not a date-time yyyy-MM-dd HH:mm:ss")
            text = format_glide(parsed)
        elif kind == "reference":
            return self._reference(table, column, text)
        if column.choices:
            return self._choice(table, column, text, display_input)
        return text

    def _integer(self, table: str, column: Column, text: str) -> str:
        try:
            return str(int(text.strip()))
        except ValueError:
            if column.choices:  # a label is checked against the choices below
                return text
            raise self._invalid(table, column, text, "is not an integer") from None

    def _boolean(self, table: str, column: Column, text: str) -> str:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return "true"
        if lowered in _FALSE:
            return "false"
        raise self._invalid(table, column, text, "is not true or false")

    def _choice(self, table: str, column: Column, text: str, display_input: bool) -> str:
        for value, label in column.choices:
            if text == value or (display_input and text.casefold() == label.casefold()):
                return value
        allowed = ", ".join(v for v, _ in column.choices)
        raise self._invalid(table, column, text, f"is not one of the choices {allowed}")

    def _reference(self, table: str, column: Column, text: str) -> str:
        target = column.reference or ""
        key = column.reference_key
        rows = [row for _, row in self.store.rows(target)]
        if any(row.get(key) == text for row in rows):
            return text
        display = self.schema.display_column(target)
        if display is not None:
            named = [
                row[key] for row in rows if row.get(display.name, "").casefold() == text.casefold()
            ]
            if len(named) == 1:
                return named[0]
        raise self._invalid(table, column, text, f"names no record of {target}")

    def _invalid(self, table: str, column: Column, text: str, why: str) -> ServiceNowError:
        label = self.schema.tables[table].label
        return ServiceNowError(
            400,
            f"Invalid value for field: {column.name}",
            f"{label}.{column.label}: '{text}' {why}",
        )

    # -- rules and checks ---------------------------------------------------------------------

    def _rules(
        self, table: str, record: Mapping[str, str], before: Row | None, user: str, now: str
    ) -> Row:
        """The business rules of ``task`` tables (and ``sys_user``'s calculated ``name``): the
        values they change."""
        if table == "sys_user":
            full = f"{record.get('first_name', '')} {record.get('last_name', '')}".strip()
            return {"name": full} if full else {}
        if not self.schema.extends(table, "task"):
            return {}
        out: Row = {}
        impact, urgency = record.get("impact", ""), record.get("urgency", "")
        if impact.isdigit() and urgency.isdigit():
            out["priority"] = str(min(5, max(1, int(impact) + int(urgency) - 1)))
        state = record.get("state", "")
        state_changed = before is None or before.get("state") != state
        if state_changed:
            out["active"] = "false" if state in _CLOSED_STATES else "true"
            if state == "7" and not record.get("closed_at"):
                out["closed_at"] = now
            if state == "6" and "resolved_at" in record and not record.get("resolved_at"):
                out["resolved_at"] = now
        if before is None:
            if not record.get("opened_at"):
                out["opened_at"] = now
            if not record.get("opened_by"):
                out["opened_by"] = self._user_sys_id(user)
        return out

    def _user_sys_id(self, user_name: str) -> str:
        return next(
            (
                row["sys_id"]
                for _, row in self.store.rows("sys_user")
                if row["user_name"] == user_name
            ),
            "",
        )

    def _check_writable(self, table: str, operation: str, api: bool) -> None:
        definition = self.schema.get(table)
        if definition is None:
            raise ServiceNowError(400, f"Invalid table {table}", None)
        if api and not definition.writable:
            raise acl_refusal(operation)

    def _check_rejection(self, table: str, operation: str, record: Mapping[str, str]) -> None:
        refusal = self.rejection(table, operation, dict(record))
        if refusal is not None:
            raise refusal
