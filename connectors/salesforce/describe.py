"""An sObject's describe as the connector contract's EntityInfo, with parents' fields by path.

``Account.Conveyor_Key__c`` on Contact is known when Contact has the relationship ``Account``
to a single object and that object has the field; it is writable when the lookup field
(``AccountId``) can be written and the parent's field is an external id (Salesforce sets a
parent only by one). The parent is described only when a job names such a path, once per
connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.connector import EntityInfo, FieldInfo, RemoteFieldType

__all__ = ["Relation", "entity_info"]

_TYPES: dict[str, RemoteFieldType] = {
    "string": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "url": "string",
    "picklist": "string",
    "multipicklist": "string",
    "id": "string",
    "reference": "reference",
    "int": "integer",
    "double": "decimal",
    "currency": "decimal",
    "percent": "decimal",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


@dataclass(frozen=True)
class Relation:
    name: str  # Account, Parent__r
    field: str  # AccountId, Parent__c
    target: str | None  # the one object it points to; None when it may point to several
    writable: bool


class _Fields(Mapping[str, FieldInfo]):
    """The object's own fields, and any parent's field asked for by its path."""

    def __init__(
        self,
        own: dict[str, FieldInfo],
        relations: Mapping[str, Relation],
        parent: Callable[[str], EntityInfo],
    ) -> None:
        self._own = own
        self._relations = {name.lower(): r for name, r in relations.items()}
        self._parent = parent

    def __getitem__(self, name: str) -> FieldInfo:
        if name in self._own:
            return self._own[name]
        relation_name, _, target_name = name.partition(".")
        relation = self._relations.get(relation_name.lower())
        if not target_name or relation is None or relation.target is None:
            raise KeyError(name)
        target = self._parent(relation.target).fields.get(target_name)
        if target is None:
            raise KeyError(name)
        writable = relation.writable and target.external_id
        return FieldInfo(name, type=target.type, writable=writable)

    def __iter__(self) -> Iterator[str]:
        return iter(self._own)

    def __len__(self) -> int:
        return len(self._own)


def entity_info(
    entity: str, body: Mapping[str, Any], modstamp: str, parent: Callable[[str], EntityInfo]
) -> tuple[EntityInfo, dict[str, Relation]]:
    """The EntityInfo of a describe body, and its relationships by name."""
    own = {f["name"]: _field(f) for f in body["fields"]}
    relations = {
        f["relationshipName"]: Relation(
            f["relationshipName"],
            f["name"],
            f["referenceTo"][0] if len(f.get("referenceTo") or []) == 1 else None,
            bool(f.get("createable") or f.get("updateable")),
        )
        for f in body["fields"]
        if f.get("type") == "reference" and f.get("relationshipName")
    }
    fields = _Fields(own, relations, parent)
    return EntityInfo(entity, "Id", modstamp, fields), relations


def _field(f: Mapping[str, Any]) -> FieldInfo:
    return FieldInfo(
        name=f["name"],
        type=_TYPES.get(f.get("type", ""), "string"),
        writable=bool(f.get("createable") or f.get("updateable")),
        required=not f.get("nillable", True) and bool(f.get("createable")),
        external_id=bool(f.get("externalId")),
    )
