"""The data dictionary as records: ``sys_db_object``, ``sys_glide_object`` and
``sys_dictionary``, written from the schema when the fake starts.

``sys_dictionary`` has a row per column *on the table that defines it* (``name=task,
element=state``; there is no ``name=incident, element=state`` row), plus one *collection* row per
table (``element`` empty, ``internal_type`` ``collection``) that a reader of columns must skip.
``internal_type`` is a reference to ``sys_glide_object`` and ``reference`` one to
``sys_db_object``, both stored by name, so the raw Table API answer is
``{"link": ".../sys_glide_object/string", "value": "string"}``;
``sysparm_exclude_reference_link=true`` makes them plain strings.
"""

from __future__ import annotations

from conveyor.testing.fakes.servicenow.schema import Column, Schema, TableDef
from conveyor.testing.fakes.servicenow.store import Store

__all__ = ["GLIDE_TYPES", "seed_dictionary"]

GLIDE_TYPES = {
    "string": "String",
    "integer": "Integer",
    "boolean": "True/False",
    "glide_date_time": "Date/Time",
    "reference": "Reference",
    "GUID": "Sys ID (GUID)",
    "sys_class_name": "System Class Name",
    "document_id": "Document ID",
    "table_name": "Table Name",
    "collection": "Collection",
}
_AUTHOR = "system"


def seed_dictionary(schema: Schema, store: Store) -> None:
    now = store.now()  # one reading: a stepping test clock is not moved per row
    for name, label in GLIDE_TYPES.items():
        store.add("sys_glide_object", {"name": name, "label": label}, _AUTHOR, now)
    ids: dict[str, str] = {}
    for table in sorted(schema, key=lambda t: len(schema.ancestry(t.name))):
        row = store.add(
            "sys_db_object",
            {
                "name": table.name,
                "label": table.label,
                "super_class": ids.get(table.super_class or "", ""),
            },
            _AUTHOR,
            now,
        )
        ids[table.name] = row["sys_id"]
    for table in schema:
        store.add("sys_dictionary", _collection(table), _AUTHOR, now)
        for column in table.columns:
            store.add("sys_dictionary", _entry(table.name, column), _AUTHOR, now)


def _collection(table: TableDef) -> dict[str, str]:
    return {
        "name": table.name,
        "element": "",
        "column_label": table.label,
        "internal_type": "collection",
        "max_length": "40",
        "mandatory": "false",
        "read_only": "false",
        "active": "true",
        "display": "false",
        "choice": "0",
    }


def _entry(table: str, column: Column) -> dict[str, str]:
    def flag(value: bool) -> str:
        return "true" if value else "false"

    return {
        "name": table,
        "element": column.name,
        "column_label": column.label,
        "internal_type": column.type,
        "max_length": str(column.max_length),
        "reference": column.reference if column.type == "reference" and column.reference else "",
        "mandatory": flag(column.mandatory),
        "read_only": flag(column.read_only),
        "active": "true",
        "display": flag(column.display),
        "choice": column.choice_kind,
        "default_value": column.default,
    }
