"""Records between Salesforce's shapes and the connector contract's flat values.

A parent's field is named by its path, ``Account.Conveyor_Key__c`` (``Parent__r.Ext__c`` for a
custom lookup), in reads and writes alike:

- REST answers nest a parent as ``{"Account": {"attributes": ..., "Conveyor_Key__c": "A1"}}``
  (``"Account": null`` when there is none); Bulk query CSV has an ``Account.Conveyor_Key__c``
  column (empty when there is none). Both become ``{"Account.Conveyor_Key__c": "A1" | None}``.
- Writes set a parent by its external id: REST sends the nested form, Bulk CSV the path column;
  no parent is written as the lookup field itself set to null (``AccountId``), the one form
  Salesforce documents for clearing a lookup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.connector import RemoteRecord

__all__ = ["from_csv", "from_rest", "to_csv", "to_rest"]


def from_rest(row: Mapping[str, Any], names: Sequence[str], modstamp: str) -> RemoteRecord:
    values = _flatten(row)
    for name in names:
        if "." in name:
            values.setdefault(name, None)  # no parent: the path is null
            relation = name.partition(".")[0]
            if values.get(relation, "") is None:
                del values[relation]
    return _record(values, modstamp)


def from_csv(row: Mapping[str, str], modstamp: str) -> RemoteRecord:
    """A Bulk query row: every value is text, and an empty cell is null."""
    values: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items()}
    values["IsDeleted"] = str(values.get("IsDeleted") or "").lower() == "true"
    return _record(values, modstamp)


def to_rest(values: Mapping[str, Any], relations: Mapping[str, str]) -> dict[str, Any]:
    """``relations``: relationship name -> its lookup field (``Account`` -> ``AccountId``)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        relation, _, target = name.partition(".")
        if not target:
            out[name] = value
        elif value is None:
            out[relations[relation]] = None
        else:
            out[relation] = {target: value}
    return out


def to_csv(values: Mapping[str, Any], relations: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        relation, _, target = name.partition(".")
        if target and value is None:
            out[relations[relation]] = None
        else:
            out[name] = value
    return out


def _flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping) and "attributes" in value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _record(values: dict[str, Any], modstamp: str) -> RemoteRecord:
    deleted = bool(values.pop("IsDeleted", False))
    stamp = values.get(modstamp)
    modified = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
    return RemoteRecord(str(values["Id"]), values, modified, deleted)
