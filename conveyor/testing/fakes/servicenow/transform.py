"""The transform map that moves ``u_incident_import`` staging rows into ``incident``.

Field maps are what ServiceNow's *Auto Map Matching Fields* makes: each staging column (not the
``sys_import_*`` ones) goes to the incident column with the same label:

=======================  =====================  ==============================
staging column           label                  incident column
=======================  =====================  ==============================
``u_conveyor_key``       Conveyor key           ``u_conveyor_key`` (coalesce)
``u_short_description``  Short description      ``short_description``
``u_description``        Description            ``description``
``u_state``              State                  ``state`` (choice, reject)
``u_impact``             Impact                 ``impact`` (choice, reject)
``u_urgency``            Urgency                ``urgency`` (choice, reject)
``u_category``           Category               ``category`` (choice, reject)
``u_assignment_group``   Assignment group       ``assignment_group`` (reject)
``u_assigned_to``        Assigned to            ``assigned_to`` (reject)
``u_caller_id``          Caller                 ``caller_id`` (reject)
``u_correlation_id``     Correlation ID         ``correlation_id``
=======================  =====================  ==============================

Per row: empty staging values leave the target's value alone ("copy empty fields" is off); a
choice column takes a choice value or label, a reference a sys_id or the record's display value;
with choice action *reject* an unknown one skips the row (``skipped``). The row coalesces on
``u_conveyor_key`` (case-insensitive, as the database compares): no match inserts
(``inserted``), a match is updated (``updated``, or ``ignored`` when no value changes). A write
the instance refuses (a bad value, a business rule planned with
:meth:`~.faults.Faults.reject_records`) leaves the row in ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from conveyor.testing.fakes.servicenow.env import Env
from conveyor.testing.fakes.servicenow.routing import ServiceNowError
from conveyor.testing.fakes.servicenow.schema import Column, Schema
from conveyor.testing.fakes.servicenow.store import Row
from conveyor.testing.fakes.servicenow.tables import STAGING_TABLE

__all__ = ["FieldMap", "Outcome", "TransformMap", "Transformer", "default_transform_map"]

ChoiceAction = Literal["create", "reject", "ignore"]
COALESCE = "u_conveyor_key"


@dataclass(frozen=True)
class FieldMap:
    source: str
    target: str
    coalesce: bool = False
    choice_action: ChoiceAction = "create"


@dataclass(frozen=True)
class TransformMap:
    name: str
    source_table: str
    target_table: str
    field_maps: tuple[FieldMap, ...]


@dataclass(frozen=True)
class Outcome:
    """A transformed row: ``state`` is the row's ``sys_import_state``."""

    state: str
    comment: str = ""
    target_sys_id: str = ""


def default_transform_map(schema: Schema) -> TransformMap:
    """The incident import map: staging columns matched to incident columns by label."""
    maps = []
    for name, column in schema.columns(STAGING_TABLE).items():
        if name.startswith("sys_"):
            continue
        target = schema.by_label("incident", column.label)
        if target is None:
            continue
        strict = bool(target.choices) or target.type == "reference"
        maps.append(
            FieldMap(name, target.name, target.name == COALESCE, "reject" if strict else "create")
        )
    return TransformMap("Conveyor incident import", STAGING_TABLE, "incident", tuple(maps))


class _Skip(Exception):
    """A choice action of *reject* refused the row."""


class Transformer:
    def __init__(self, env: Env, transform_map: TransformMap) -> None:
        self.env = env
        self.map = transform_map

    def run(self, staging: Row, user: str) -> Outcome:
        try:
            values = self._values(staging)
        except _Skip as skip:
            return Outcome("skipped", str(skip))
        except ServiceNowError as error:
            return Outcome("error", error.detail or error.message)
        existing = self._coalesce(values)
        try:
            if existing is None:
                row = self.env.writer.insert(self.map.target_table, values, user)
                return Outcome("inserted", target_sys_id=row["sys_id"])
            before = existing["sys_mod_count"]
            _, row = self.env.writer.update(self.map.target_table, existing["sys_id"], values, user)
        except ServiceNowError as error:
            return Outcome("error", error.detail or error.message)
        if row["sys_mod_count"] == before:
            return Outcome("ignored", "No field values changed", target_sys_id=row["sys_id"])
        return Outcome("updated", target_sys_id=row["sys_id"])

    def _values(self, staging: Row) -> dict[str, str]:
        values: dict[str, str] = {}
        target_table = self.map.target_table
        for field_map in self.map.field_maps:
            raw = staging.get(field_map.source, "").strip()
            column = self.env.schema.column(target_table, field_map.target)
            if raw == "" or column is None:
                continue
            if column.choices or column.type == "reference":
                found = self._lookup(column, raw)
                if found is None:
                    if field_map.choice_action == "reject":
                        raise _Skip(
                            f"Row skipped: '{raw}' is not a valid {column.label} "
                            "(choice action reject)"
                        )
                    continue
                values[column.name] = found
            else:
                values[column.name] = self.env.writer.value(target_table, column, raw)
        return values

    def _lookup(self, column: Column, raw: str) -> str | None:
        """A choice value or label, or a referenced record's sys_id or display value."""
        wanted = raw.casefold()
        if column.choices:
            return next(
                (v for v, label in column.choices if wanted in (v.casefold(), label.casefold())),
                None,
            )
        table = column.reference or ""
        shown = self.env.schema.display_column(table)
        for _, row in self.env.store.rows(table):
            if row["sys_id"] == raw or (shown and row.get(shown.name, "").casefold() == wanted):
                return row["sys_id"]
        return None

    def _coalesce(self, values: dict[str, str]) -> Row | None:
        keys = [m.target for m in self.map.field_maps if m.coalesce]
        if not keys or not all(values.get(k) for k in keys):
            return None
        for _, row in self.env.store.rows(self.map.target_table):
            if all(row.get(k, "").casefold() == values[k].casefold() for k in keys):
                return row
        return None
