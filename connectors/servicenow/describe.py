"""A table's columns as the connector contract's EntityInfo, from ``sys_dictionary``.

A column belongs to the table that defines it (most of incident's are ``name=task``), so the
table's ancestry is read first from ``sys_db_object`` (``super_class``), and the dictionary rows
of the whole chain are merged, the child's definition winning. Read-only and ``sys_`` columns
cannot be written; ``correlation_id`` and custom ``u_`` text columns can hold our key.
``name:display`` reads a column's display value and is read only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.connector import EntityInfo, FieldInfo, RemoteFieldType
from conveyor.errors import ConfigError

__all__ = ["Rows", "TableSchema", "table_schema"]

#: (table, encoded query, fields) -> the rows
Rows = Callable[[str, str, str], list[dict[str, Any]]]
_TYPES: dict[str, RemoteFieldType] = {
    "integer": "integer",
    "longint": "integer",
    "decimal": "decimal",
    "float": "decimal",
    "currency": "decimal",
    "price": "decimal",
    "boolean": "boolean",
    "glide_date_time": "datetime",
    "glide_date": "date",
    "due_date": "datetime",
    "reference": "reference",
}
_TEXT = ("string", "GUID", "choice", "journal_input", "html", "url", "email")


@dataclass(frozen=True)
class TableSchema:
    info: EntityInfo
    chain: tuple[str, ...]  # the table, then its ancestors


def table_schema(table: str, rows: Rows) -> TableSchema:
    chain = _ancestry(table, rows)
    query = f"nameIN{','.join(chain)}^elementISNOTEMPTY"
    fields = "name,element,internal_type,mandatory,read_only,active"
    found = rows("sys_dictionary", query, fields)
    by_table: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        by_table.setdefault(_value(row.get("name")), []).append(row)
    infos: dict[str, FieldInfo] = {}
    for level in reversed(chain):  # ancestors first: the child's definition wins
        for row in by_table.get(level, []):
            if _value(row.get("active")) == "false":
                continue
            info = _field(row)
            infos[info.name] = info
            infos[f"{info.name}:display"] = FieldInfo(f"{info.name}:display", writable=False)
    return TableSchema(EntityInfo(table, "sys_id", "sys_updated_on", infos), chain)


def _ancestry(table: str, rows: Rows) -> tuple[str, ...]:
    chain: list[str] = []
    found = rows("sys_db_object", f"name={table}", "sys_id,name,super_class")
    if not found:
        raise ConfigError(f"ServiceNow has no table {table!r} (the job's remote.entity)")
    while found and len(chain) < 20:
        row = found[0]
        chain.append(_value(row.get("name")))
        parent = _value(row.get("super_class"))
        if not parent:
            break
        found = rows("sys_db_object", f"sys_id={parent}", "sys_id,name,super_class")
    return tuple(chain)


def _field(row: Mapping[str, Any]) -> FieldInfo:
    element = _value(row.get("element"))
    kind = _value(row.get("internal_type"))
    read_only = _value(row.get("read_only")) == "true" or element.startswith("sys_")
    return FieldInfo(
        element,
        _TYPES.get(kind, "string"),
        writable=not read_only,
        required=_value(row.get("mandatory")) == "true",
        external_id=kind in _TEXT and not read_only and _correlation(element),
    )


def _correlation(element: str) -> bool:
    """Columns that can hold another system's key: ``correlation_id`` and custom ``u_`` ones."""
    return element == "correlation_id" or element.startswith("u_")


def _value(cell: Any) -> str:
    if isinstance(cell, Mapping):
        return str(cell.get("value") or "")
    return "" if cell is None else str(cell)
