"""The data model of the fake instance: tables, their columns and table inheritance.

A column belongs to the table that defines it (``task`` defines ``number``, ``state``,
``assigned_to`` ...; ``incident`` extends ``task`` and adds ``caller_id`` and ``u_conveyor_key``),
which is what ``sys_dictionary`` reports. A table's columns are its own plus its ancestors'.

Types are ServiceNow's internal types (``string``, ``integer``, ``boolean``,
``glide_date_time``, ``reference``, ``GUID``, ``sys_class_name``, ``document_id``,
``table_name``). A choice list is a property of a column, not a type: ``incident.state`` is an
``integer`` with choices, ``incident.category`` a ``string`` with choices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

__all__ = ["Column", "Schema", "TableDef"]


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str = "string"
    max_length: int = 40
    #: Referenced table (``reference``), or for a ``document_id`` the column naming the table.
    reference: str | None = None
    #: The referenced table's column a reference stores: ``sys_id`` nearly always, ``name`` for
    #: the dictionary's own references to ``sys_db_object`` and ``sys_glide_object``.
    reference_key: str = "sys_id"
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    mandatory: bool = False
    read_only: bool = False
    display: bool = False
    default: str = ""

    @property
    def choice_kind(self) -> str:
        """``sys_dictionary.choice``: 3 (dropdown without -- None --) for choice columns."""
        return "3" if self.choices else "0"

    def choice_label(self, value: str) -> str:
        return next((label for v, label in self.choices if v == value), value)


@dataclass(frozen=True)
class TableDef:
    name: str
    label: str
    columns: tuple[Column, ...]
    super_class: str | None = None
    number_prefix: str | None = None
    #: Deletes are written to ``sys_audit_delete`` (ServiceNow skips ``sys_*`` tables and
    #: tables marked no_audit_delete).
    audit_delete: bool = True
    #: The REST user may insert, update and delete (ACLs refuse system tables).
    writable: bool = True
    #: An import set staging table.
    staging: bool = False


@dataclass
class Schema:
    """The instance's tables by name (thread-safe to read; the fake never changes it after
    start, except :attr:`TableDef.audit_delete` through :meth:`set_audit_delete`)."""

    tables: dict[str, TableDef] = field(default_factory=dict)

    def add(self, table: TableDef) -> None:
        self.tables[table.name] = table

    def get(self, name: str) -> TableDef | None:
        return self.tables.get(name)

    def ancestry(self, name: str) -> list[str]:
        """``["incident", "task"]``: the table and the tables it extends, nearest first."""
        chain = []
        current: str | None = name
        while current is not None and current in self.tables:
            chain.append(current)
            current = self.tables[current].super_class
        return chain

    def extends(self, name: str, base: str) -> bool:
        return base in self.ancestry(name)

    def descendants(self, name: str) -> list[str]:
        """The table and every table extending it (the rows a query of ``name`` sees)."""
        return [t for t in self.tables if self.extends(t, name)]

    def columns(self, name: str) -> dict[str, Column]:
        """Every column of a table, inherited ones first (as ServiceNow lists them)."""
        found: dict[str, Column] = {}
        for table in reversed(self.ancestry(name)):
            for column in self.tables[table].columns:
                found[column.name] = column
        return found

    def column(self, table: str, name: str) -> Column | None:
        return self.columns(table).get(name)

    def display_column(self, table: str) -> Column | None:
        """The column whose value names a record: the one marked display, else ``number``,
        ``name``, ``u_number``, ``u_name``, else ``sys_created_on`` (ServiceNow's fallback)."""
        columns = self.columns(table)
        marked = next((c for c in columns.values() if c.display), None)
        if marked is not None:
            return marked
        for name in ("number", "name", "u_number", "u_name", "sys_created_on"):
            if name in columns:
                return columns[name]
        return None

    def by_label(self, table: str, label: str) -> Column | None:
        wanted = label.strip().casefold()
        return next((c for c in self.columns(table).values() if c.label.casefold() == wanted), None)

    def __iter__(self) -> Iterator[TableDef]:
        return iter(self.tables.values())

    def set_audit_delete(self, table: str, enabled: bool) -> None:
        self.tables[table] = replace(self.tables[table], audit_delete=enabled)
