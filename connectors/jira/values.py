"""Issue field values between Jira's JSON and the connector contract's flat values.

Each field is read and written by its schema (from ``/field``), so the local side sees plain
values: a priority, status or issue type by name; a user by account id (Cloud) or user name
(Data Center); options by their value; components and versions as lists of names; labels as a
list; rich text (descriptions, and on Cloud's v3 rich-text custom fields) as Markdown or plain
text through :mod:`connectors.jira.adf`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.jira.adf import from_adf, to_adf

__all__ = ["FieldSchema", "from_jira", "to_jira"]

_BY_NAME = ("priority", "status", "issuetype", "resolution", "project", "securitylevel")
_NAMED_LISTS = ("component", "version")


@dataclass(frozen=True)
class FieldSchema:
    id: str
    name: str
    type: str  # schema.type: string, number, date, datetime, array, option, user, priority ...
    items: str | None = None  # schema.items for arrays
    rich: bool = False  # rich text: ADF on the v3 API
    custom: str = ""  # schema.custom of a custom field (its type's key)


def from_jira(value: Any, schema: FieldSchema, markdown: bool) -> Any:
    """A field's value as the local side holds it."""
    if value is None:
        return None
    if isinstance(value, Mapping) and value.get("type") == "doc":
        return from_adf(value, markdown)
    if schema.type == "array":  # an empty list is null, as empty text is (the engine's rule)
        return [_item(v, schema.items or "") for v in value] or None
    return _item(value, schema.type)


def _item(value: Any, kind: str) -> Any:
    if not isinstance(value, Mapping):
        return value
    if kind == "user":
        return value.get("accountId") or value.get("name")
    if kind in ("option", "option-with-child"):
        return value.get("value")
    if kind in _BY_NAME or kind in _NAMED_LISTS:
        return value.get("name")
    return value.get("value") or value.get("name") or value.get("key") or value.get("id")


def to_jira(value: Any, schema: FieldSchema, cloud: bool, markdown: bool) -> Any:
    """A field's value as Jira takes it in a create or an edit."""
    if value is None:
        return None
    if schema.rich and cloud:
        return to_adf(str(value), markdown)
    if schema.type == "array":
        items = value if isinstance(value, list) else [value]
        return [_as(item, schema.items or "", cloud) for item in items]
    return _as(value, schema.type, cloud)


def _as(value: Any, kind: str, cloud: bool) -> Any:
    if kind == "user":
        return {"accountId": value} if cloud else {"name": value}
    if kind in ("option", "option-with-child"):
        return {"value": value}
    if kind in _BY_NAME or kind in _NAMED_LISTS:
        return {"name": value}
    return value
