"""An entity set's properties as the connector contract's EntityInfo, from pyodata's model of
``$metadata``, with SAP's annotations: a property is writable when ``sap:creatable`` or
``sap:updatable``; the change stamp must be ``sap:filterable`` (incremental reads filter on it);
text properties that are filterable can hold our key (the job's external id, looked up by it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from connectors.sap.values import parse_date, parse_time, to_odata
from conveyor.connector import EntityInfo, FieldInfo, RemoteFieldType
from conveyor.errors import ConfigError

__all__ = ["ServiceSchema", "describe_set"]

_TYPES: dict[str, RemoteFieldType] = {
    "Edm.String": "string",
    "Edm.Guid": "string",
    "Edm.Boolean": "boolean",
    "Edm.Int16": "integer",
    "Edm.Int32": "integer",
    "Edm.Int64": "integer",
    "Edm.Byte": "integer",
    "Edm.Decimal": "decimal",
    "Edm.Double": "decimal",
    "Edm.Single": "decimal",
    "Edm.DateTime": "datetime",
    "Edm.DateTimeOffset": "datetime",
    "Edm.Time": "string",
}


class ServiceSchema:
    """pyodata's schema, and the Edm type of each described property."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.types: dict[str, str] = {}  # property -> Edm type
        self.dates: set[str] = set()  # Edm.DateTime properties shown as dates

    def entity_set(self, name: str) -> Any:
        try:
            return self.schema.entity_set(name)
        except KeyError:
            raise ConfigError(f"the OData service has no entity set {name!r}") from None

    def deletable(self, name: str) -> bool:
        return bool(self.entity_set(name).deletable)

    def value(self, raw: Any, name: str) -> Any:
        """A property's JSON value as the engine compares it (ISO text for date-times)."""
        kind = self.types.get(name)
        if raw in (None, ""):
            return None
        if kind == "Edm.DateTime":
            moment = parse_date(raw)
            assert moment is not None
            return moment.date().isoformat() if name in self.dates else moment.isoformat()
        if kind == "Edm.Time":
            delta = parse_time(raw) or dt.timedelta()
            seconds = int(delta.total_seconds())
            return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        return raw

    def odata(self, value: Any, name: str) -> Any:
        return to_odata(value, self.types.get(name, "Edm.String"))


def describe_set(schema: ServiceSchema, name: str, changed: str) -> EntityInfo:
    entity_set = schema.entity_set(name)
    entity_type = entity_set.entity_type
    keys = [p.name for p in entity_type.key_proprties]
    if len(keys) != 1:
        raise ConfigError(f"{name} has {len(keys)} key properties: one is needed")
    fields: dict[str, FieldInfo] = {}
    for prop in entity_type.proprties():
        edm = str(prop.typ.name)
        schema.types[prop.name] = edm
        if edm == "Edm.DateTime" and str(getattr(prop, "date", "") or "").lower() in (
            "true",
            "date",
        ):
            schema.dates.add(prop.name)
        writable = bool(prop.creatable or prop.updatable) and prop.name not in keys
        text = edm == "Edm.String" and writable and bool(prop.filterable)
        fields[prop.name] = FieldInfo(
            prop.name, _TYPES.get(edm, "string"), writable, external_id=text
        )
    stamp = entity_type.proprty(changed) if changed in fields else None
    if stamp is None or not stamp.filterable:
        raise ConfigError(
            f"{name} has no filterable property {changed!r} to read changes by (changed_date "
            "in the connection settings)"
        )
    return EntityInfo(name, keys[0], changed, fields, deletable=bool(entity_set.deletable))
