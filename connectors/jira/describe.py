"""A project's fields as the connector contract's EntityInfo, from ``/field`` and createmeta.

A job names Jira fields by id (``summary``, ``customfield_10050``) or by their name as Jira
shows it ("Conveyor Key"), when that name is unique. A field is writable when it is on the
project's create screen for the connector's issue type (createmeta), and ``status`` is written
through transitions. Our key lives in a custom text field (external id), or with
``external_id_field: label`` in a label ``<label_prefix><key>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.jira.values import FieldSchema
from conveyor.connector import EntityInfo, FieldInfo, RemoteFieldType

__all__ = ["LABEL_KEY", "Catalogue", "catalogue", "entity_info"]

#: the pseudo-field that keeps our key in a label
LABEL_KEY = "label"
_TYPES: dict[str, RemoteFieldType] = {
    "string": "string",
    "number": "decimal",
    "date": "date",
    "datetime": "datetime",
    "array": "json",
}
_RICH_SYSTEM = ("description", "environment")


@dataclass(frozen=True)
class Catalogue:
    by_id: Mapping[str, FieldSchema]
    names: Mapping[str, str]  # a field's id, or its unique name -> its id

    def resolve(self, name: str) -> FieldSchema | None:
        field_id = self.names.get(name)
        return self.by_id.get(field_id) if field_id else None


def catalogue(fields: Iterable[Mapping[str, Any]]) -> Catalogue:
    by_id = {str(f["id"]): _schema(f) for f in fields}
    counts = Counter(s.name for s in by_id.values())
    names = {s.name: s.id for s in by_id.values() if counts[s.name] == 1}
    names.update({field_id: field_id for field_id in by_id})
    return Catalogue(by_id, names)


def _schema(field: Mapping[str, Any]) -> FieldSchema:
    schema = field.get("schema") or {}
    custom = str(schema.get("custom") or "")
    rich = schema.get("system") in _RICH_SYSTEM or custom.endswith(":textarea")
    return FieldSchema(
        id=str(field["id"]),
        name=str(field.get("name") or field["id"]),
        type=str(schema.get("type") or "string"),
        items=schema.get("items"),
        rich=rich,
        custom=custom,
    )


def entity_info(project: str, fields: Catalogue, creatable: set[str]) -> EntityInfo:
    infos: dict[str, FieldInfo] = {}
    for name, field_id in fields.names.items():
        schema = fields.by_id[field_id]
        writable = field_id in creatable or field_id == "status"
        text_field = schema.custom.endswith(":textfield")
        infos[name] = FieldInfo(
            name, _TYPES.get(schema.type, "string"), writable, external_id=text_field
        )
    infos[LABEL_KEY] = FieldInfo(LABEL_KEY, "string", "labels" in creatable, external_id=True)
    infos["key"] = FieldInfo("key", "string", writable=False)
    return EntityInfo(project, "id", "updated", infos)
