"""An entity set's properties as the connector contract's EntityInfo, from pyodata's model of
``$metadata``, with SAP's annotations: a property is writable when ``sap:creatable`` or
``sap:updatable``; the change stamp must be ``sap:filterable`` (incremental reads filter on it);
text properties that are filterable can hold our key (the job's external id, looked up by it).
Each property's limits (``MaxLength``, ``Precision``/``Scale``, ``Nullable="false"``) are kept,
so a value SAP would refuse is refused before it is sent (:meth:`ServiceSchema.problem`): one
such value would otherwise roll back its whole changeset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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


@dataclass(frozen=True)
class Limits:
    """What a property takes, from ``$metadata`` (0: no limit stated)."""

    max_length: int
    precision: int
    scale: int
    nullable: bool


class ServiceSchema:
    """pyodata's schema, and the Edm type and limits of each described property."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.types: dict[str, str] = {}  # property -> Edm type
        self.dates: set[str] = set()  # Edm.DateTime properties shown as dates
        self.limits: dict[str, Limits] = {}

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

    def problem(self, value: Any, name: str, creating: bool) -> str | None:
        """Why SAP would refuse ``value`` for property ``name`` (None: it fits)."""
        limits, kind = self.limits.get(name), self.types.get(name)
        if limits is None:
            return None
        if value is None:
            empty = not limits.nullable and not creating  # a create leaves it out
            return f"{name} cannot be empty in SAP" if empty else None
        if kind == "Edm.String" and 0 < limits.max_length < len(str(value)):
            return (
                f"{name} holds {len(str(value))} characters; SAP takes at most {limits.max_length}"
            )
        if kind == "Edm.Decimal" and limits.precision:
            return _decimal_problem(value, name, limits)
        return None


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
        length = prop.max_length if prop.max_length and prop.max_length > 0 else 0
        schema.limits[prop.name] = Limits(length, prop.precision, prop.scale, prop.nullable)
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


def _decimal_problem(value: Any, name: str, limits: Limits) -> str | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return f"{name}: {value!r} is not a decimal number"
    _, digits, exponent = number.normalize().as_tuple()
    decimals = max(0, -int(exponent))
    whole = max(0, len(digits) + int(exponent))
    if decimals > limits.scale or whole > limits.precision - limits.scale:
        return (
            f"{name}: {value} does not fit Edm.Decimal({limits.precision},{limits.scale}) "
            f"(at most {limits.precision - limits.scale} digits before the point and "
            f"{limits.scale} after)"
        )
    return None
