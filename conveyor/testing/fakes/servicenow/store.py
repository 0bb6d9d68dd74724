"""The records of the fake instance, with ServiceNow's system columns.

Every stored value is a string, as the Table API sends it (``""`` for empty). On insert the
store fills ``sys_id`` (32 hex characters), ``number`` (``INC0010001`` ... per prefix),
``sys_class_name`` and the ``sys_created_*``/``sys_updated_*`` stamps (UTC, whole seconds, so
writes in one second share a stamp); an update that changes a value moves ``sys_updated_on``
and adds one to ``sys_mod_count`` (an update that changes nothing writes nothing). Deleting a
record of an audited table writes a ``sys_audit_delete`` row whose ``payload`` is the record as
XML.

Rows of a table are seen through its ancestors: ``task`` holds every incident.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from conveyor.testing.fakes.servicenow.glidetime import Clock, stamp
from conveyor.testing.fakes.servicenow.schema import Schema

__all__ = ["Row", "Store", "new_sys_id"]

Row = dict[str, str]
_FIRST_NUMBER = 10000  # a fresh instance's counters: the first new incident is INC0010001


def new_sys_id() -> str:
    return uuid.uuid4().hex


class Store:
    """Tables of rows (callers hold :attr:`lock` across a read-modify-write)."""

    def __init__(self, schema: Schema, clock: Clock) -> None:
        self.schema = schema
        self.clock = clock
        self.lock = threading.RLock()
        self._rows: dict[str, dict[str, Row]] = {t.name: {} for t in schema}
        self._order: dict[str, int] = {}
        self._sequence = itertools.count()
        self._numbers: dict[str, int] = {}

    def now(self) -> str:
        return stamp(self.clock)

    def next_number(self, table: str) -> str:
        prefix = next(
            (
                self.schema.tables[t].number_prefix
                for t in self.schema.ancestry(table)
                if self.schema.tables[t].number_prefix
            ),
            None,
        )
        if prefix is None:
            return ""
        self._numbers[prefix] = self._numbers.get(prefix, _FIRST_NUMBER) + 1
        return f"{prefix}{self._numbers[prefix]:07d}"

    # -- writes -------------------------------------------------------------------------------

    def add(self, table: str, values: Mapping[str, str], user: str, now: str | None = None) -> Row:
        """Store a new record of ``table``: its columns' defaults, then ``values``, then the
        system columns (stamped ``now``, by default the clock's reading)."""
        columns = self.schema.columns(table)
        row: Row = {name: column.default for name, column in columns.items()}
        row.update({k: v for k, v in values.items() if k in columns})
        now = now or self.now()
        row["sys_id"] = row.get("sys_id") or new_sys_id()
        if "number" in columns and not row.get("number"):
            row["number"] = self.next_number(table)
        if "sys_class_name" in columns:
            row["sys_class_name"] = table
        row.update(
            sys_created_on=now,
            sys_created_by=user,
            sys_updated_on=now,
            sys_updated_by=user,
            sys_mod_count="0",
        )
        if self.find(table, row["sys_id"]) is not None:
            raise KeyError(f"a record with sys_id {row['sys_id']} already exists")
        self._rows[table][row["sys_id"]] = row
        self._order[row["sys_id"]] = next(self._sequence)
        return row

    def change(
        self, row: Row, values: Mapping[str, str], user: str, now: str | None = None
    ) -> bool:
        """Write the values that differ; True if any did (then the record is stamped)."""
        changed = {k: v for k, v in values.items() if k in row and row[k] != v}
        if not changed:
            return False
        row.update(changed)
        row["sys_updated_on"] = now or self.now()
        row["sys_updated_by"] = user
        row["sys_mod_count"] = str(int(row.get("sys_mod_count") or 0) + 1)
        return True

    def remove(self, table: str, sys_id: str, user: str) -> Row:
        """Delete a record (found through ``table`` or its descendants) and audit it."""
        found = self.find(table, sys_id)
        if found is None:
            raise KeyError(sys_id)
        concrete, row = found
        del self._rows[concrete][sys_id]
        self._order.pop(sys_id, None)
        if self.schema.tables[concrete].audit_delete:
            self.add("sys_audit_delete", _audit_values(self.schema, concrete, row), user)
        return row

    # -- reads --------------------------------------------------------------------------------

    def find(self, table: str, sys_id: str) -> tuple[str, Row] | None:
        for concrete in self.schema.descendants(table):
            row = self._rows[concrete].get(sys_id)
            if row is not None:
                return concrete, row
        return None

    def lookup(self, table: str, key: str, value: str) -> Row | None:
        """The record of ``table`` whose ``key`` column holds ``value`` (what a reference
        column's value points at)."""
        if not value:
            return None
        if key == "sys_id":
            found = self.find(table, value)
            return found[1] if found is not None else None
        return next((row for _, row in self.rows(table) if row.get(key) == value), None)

    def rows(self, table: str) -> list[tuple[str, Row]]:
        """``(concrete table, row)`` for every record ``table`` sees, oldest first."""
        found = [
            (concrete, row)
            for concrete in self.schema.descendants(table)
            for row in self._rows[concrete].values()
        ]
        return sorted(found, key=lambda pair: self._order[pair[1]["sys_id"]])


def _audit_values(schema: Schema, table: str, row: Row) -> dict[str, str]:
    display = schema.display_column(table)
    body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in sorted(row.items()))
    payload = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<record_update table={quoteattr(table)}>"
        f'<{table} action="DELETE">{body}</{table}>'
        "</record_update>"
    )
    return {
        "tablename": table,
        "documentkey": row["sys_id"],
        "display_value": row.get(display.name, "") if display is not None else "",
        "payload": payload,
    }
