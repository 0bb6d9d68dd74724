"""JQL text for the connector's reads, built from checked names and escaped literals.

Jira reads JQL dates in the user's profile time zone at minute precision (seconds, or an ISO
``T`` form, are refused), so a cursor is written as ``"yyyy-MM-dd HH:mm"`` in that zone, floored
to its minute; the overlap window and the engine's "already seen" check drop what is read twice.
Literals are JQL strings with ``"`` and ``\\`` escaped. A job's ``remote.filter`` is JQL written
by the job's author (trusted configuration, like a mapping) and is added in parentheses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from conveyor.errors import ConfigError

__all__ = [
    "changes_jql",
    "custom_field_clause",
    "jql_datetime",
    "jql_string",
    "keys_jql",
    "scan_jql",
]

_PROJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CUSTOM = re.compile(r"^customfield_(\d+)$")
#: characters the text search (``~``) gives a meaning to; escaped to be searched as text
_TEXT_SEARCH_SPECIALS = re.compile(r'([+\-&|!(){}\[\]^~*?\\:/"])')


def _project(key: str) -> str:
    if not _PROJECT.match(key):
        raise ConfigError(f"{key!r} is not a Jira project key (the job's remote.entity)")
    return key


def jql_string(value: str) -> str:
    """A JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jql_datetime(moment: dt.datetime, zone: ZoneInfo) -> str:
    """``"2024-01-31 14:05"``: in the user's zone, floored to the minute."""
    if moment.tzinfo is None:
        raise ValueError("a JQL datetime needs a time zone")
    local = moment.astimezone(zone)
    return local.strftime('"%Y-%m-%d %H:%M"')


def custom_field_clause(field_id: str) -> str:
    """``cf[10050]``: a custom field by its id, never by its (user-chosen) name."""
    match = _CUSTOM.match(field_id)
    if not match:
        raise ConfigError(f"{field_id!r} is not a custom field id (customfield_NNNNN)")
    return f"cf[{match.group(1)}]"


def _scope(project: str, where: str | None) -> str:
    text = f"project = {_project(project)}"
    return text + f" AND ({where})" if where else text


def changes_jql(
    project: str, since: dt.datetime | None, zone: ZoneInfo, where: str | None = None
) -> str:
    """Issues updated at or after ``since``'s minute, oldest first, ties by key."""
    text = _scope(project, where)
    if since is not None:
        text += f" AND updated >= {jql_datetime(since, zone)}"
    return text + " ORDER BY updated ASC, key ASC"


def keys_jql(project: str, field_id: str, keys: Sequence[str]) -> str:
    """Issues whose key field may hold one of ``keys``: a word search (``~``) for a text
    field, so callers keep only exact matches; ``labels`` match exactly."""
    if field_id == "labels":
        values = ", ".join(jql_string(k) for k in keys)
        return f"project = {_project(project)} AND labels in ({values})"
    clause = custom_field_clause(field_id)
    terms = " OR ".join(f"{clause} ~ {jql_string(_text_search(k))}" for k in keys)
    return f"project = {_project(project)} AND ({terms})"


def _text_search(value: str) -> str:
    """``value`` searched as text: the search's own special characters escaped."""
    return _TEXT_SEARCH_SPECIALS.sub(lambda m: "\\" + m.group(1), value)


def scan_jql(project: str, where: str | None = None) -> str:
    """Every issue of the project (and the job's filter), for delete detection."""
    return _scope(project, where) + " ORDER BY key ASC"
