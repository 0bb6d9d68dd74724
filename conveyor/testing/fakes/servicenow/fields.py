"""Reading a record's columns as ServiceNow does: dot-walked paths and display values.

- A path is a column (``short_description``) or a walk through reference columns
  (``assignment_group.name``, ``assigned_to.manager.email``); queries and ``sysparm_fields``
  accept both.
- Display values: a reference shows the referenced record's display column (a dangling one shows
  ``""``), a choice its label, a date-time the user's zone and date format, an integer with
  thousands separators (``1,000``), ``sys_class_name`` the table's label.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.servicenow.glidetime import display
from conveyor.testing.fakes.servicenow.schema import Column, Schema
from conveyor.testing.fakes.servicenow.store import Row, Store

__all__ = ["FieldReader"]

REFERENCE_TYPES = ("reference", "document_id")


@dataclass
class FieldReader:
    schema: Schema
    store: Store
    zone: ZoneInfo
    date_format: str = "yyyy-MM-dd"

    def column(self, table: str, path: str) -> Column | None:
        """The column a path ends on, or None if any step is not a column of its table (or a
        walk passes through a column that is not a reference)."""
        current = table
        parts = path.split(".")
        for index, part in enumerate(parts):
            column = self.schema.column(current, part)
            if column is None:
                return None
            if index == len(parts) - 1:
                return column
            if column.type != "reference" or column.reference is None:
                return None
            current = column.reference
        return None

    def raw(self, table: str, row: Row, path: str) -> str:
        """The stored value at the end of a path (``""`` where a walk meets an empty or
        dangling reference)."""
        current_table, current = table, row
        parts = path.split(".")
        for part in parts[:-1]:
            column = self.schema.column(current_table, part)
            if column is None or column.reference is None:
                return ""
            target = self.referenced(column, current)
            if target is None:
                return ""
            current_table, current = column.reference, target
        return current.get(parts[-1], "")

    def referenced(self, column: Column, row: Row) -> Row | None:
        """The record a reference (or document id) column of ``row`` points at."""
        table = self.reference_table(column, row)
        if not table or self.schema.get(table) is None:
            return None
        return self.store.lookup(table, column.reference_key, row.get(column.name, ""))

    def reference_table(self, column: Column, row: Row) -> str:
        if column.type == "document_id":
            return row.get(column.reference or "", "")
        return column.reference or ""

    def display(self, column: Column, raw: str, row: Row | None = None) -> str:
        """The display value of ``raw`` in ``column`` (``row`` holds it, for document ids)."""
        if raw == "":
            return ""
        if column.type in REFERENCE_TYPES:
            holder = row if row is not None else {column.name: raw}
            target = self.referenced(column, {**holder, column.name: raw})
            table = self.reference_table(column, holder)
            shown = self.schema.display_column(table) if table else None
            if target is None or shown is None:
                return ""
            return self.display(shown, target.get(shown.name, ""), target)
        if column.choices:
            return column.choice_label(raw)
        if column.type == "glide_date_time":
            return display(raw, self.zone, self.date_format)
        if column.type == "integer":
            try:
                return f"{int(raw):,}"
            except ValueError:
                return raw
        if column.type == "sys_class_name":
            definition = self.schema.get(raw)
            return definition.label if definition is not None else raw
        return raw
