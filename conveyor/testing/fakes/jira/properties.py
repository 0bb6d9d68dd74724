"""Entity properties of comments: checks and JSON shapes, as Jira Cloud and Data Center have them.

An entity property is a key (at most 255 characters) with a JSON value (not null, at most 32768
characters serialised). Jira shows them as ``{"key": ..., "value": ...}`` (``EntityProperty``),
lists a comment's keys as ``{"keys": [{"key": ..., "self": ...}]}`` (``PropertyKeys``) and
takes them on a comment's create and update as ``"properties": [{"key": ..., "value": ...}]``.

The wording of the refusals below is the fake's own where Atlassian does not document it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from conveyor.testing.fakes.jira.catalog import Site
from conveyor.testing.fakes.jira.routing import JiraError, bad_request, not_found

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_VALUE_LENGTH",
    "checked_key",
    "checked_mapping",
    "checked_properties",
    "checked_value",
    "keys_json",
    "properties_json",
    "property_json",
    "property_not_found",
]

MAX_KEY_LENGTH = 255
MAX_VALUE_LENGTH = 32768


def checked_key(key: Any) -> str:
    """A property key, or Jira's 400: a non-empty string of at most 255 characters."""
    if not isinstance(key, str) or not key:
        raise bad_request("The property key must be a non-empty string.")
    if len(key) > MAX_KEY_LENGTH:
        raise bad_request(f"The property key cannot be longer than {MAX_KEY_LENGTH} characters.")
    return key


def checked_value(value: Any) -> Any:
    """A property value, or Jira's 400: any JSON but null, at most 32768 characters."""
    if value is None:
        raise bad_request("The property value must be a valid, non-empty JSON.")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_VALUE_LENGTH:
        raise bad_request(
            f"The property value cannot be longer than {MAX_VALUE_LENGTH} characters."
        )
    return copy.deepcopy(value)


def checked_properties(raw: Any) -> dict[str, Any]:
    """The ``properties`` of a comment's create or update body (a list of ``{"key",
    "value"}``) as a mapping; absent means none. A later entry wins over an earlier one."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise bad_request('\'properties\' must be a list of {"key", "value"} objects.')
    found: dict[str, Any] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise bad_request('\'properties\' must be a list of {"key", "value"} objects.')
        found[checked_key(entry.get("key"))] = checked_value(entry.get("value"))
    return found


def checked_mapping(properties: Mapping[str, Any] | None) -> dict[str, Any]:
    """Properties given to the fake's own API (key → value), checked as REST checks them."""
    return {checked_key(k): checked_value(v) for k, v in (properties or {}).items()}


def property_not_found(key: str) -> JiraError:
    return not_found(f"The property with key '{key}' does not exist.")


def property_json(key: str, value: Any) -> dict[str, Any]:
    """``EntityProperty``: ``{"key", "value"}``."""
    return {"key": key, "value": copy.deepcopy(value)}


def properties_json(properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A comment's ``properties`` under ``expand=properties``, in the order they were set."""
    return [property_json(k, v) for k, v in properties.items()]


def keys_json(site: Site, comment_id: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """``PropertyKeys``: each key with the URL of its property."""
    return {
        "keys": [
            {
                "self": site.rest(f"comment/{comment_id}/properties/{quote(key, safe='')}"),
                "key": key,
            }
            for key in properties
        ]
    }
