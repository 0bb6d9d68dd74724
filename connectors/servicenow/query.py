"""Encoded queries for the connector's reads, from checked names and escaped values.

Reads are keyset-paged on (``sys_updated_on``, ``sys_id``) rather than by offset, because an
offset skips rows while the table changes under the reader: each page asks for rows after the
last one seen, ``sys_updated_on>LAST^NQsys_updated_on=LAST^sys_id>ID`` (``^NQ`` is OR between
whole queries), ordered by both. ``sys_updated_on`` has one-second resolution, so the cursor is
read with ``>=`` and ties are broken by ``sys_id``. ServiceNow silently drops a condition on an
unknown field (which widens the result), so names are checked against the table's dictionary
before they get here. A job's ``remote.filter`` is an encoded query written by the job's author
(trusted configuration, like a mapping) and is ANDed to every part.
"""

from __future__ import annotations

import datetime as dt
import re

from conveyor.errors import ConfigError

__all__ = ["after_query", "changes_query", "glide_datetime", "name"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
STAMP = "sys_updated_on"


def name(value: str) -> str:
    if not _NAME.match(value):
        raise ConfigError(f"{value!r} is not a ServiceNow table or column name")
    return value


def glide_datetime(moment: dt.datetime) -> str:
    """UTC, whole seconds, as the Table API compares raw values: ``2024-01-31 13:05:00``."""
    if moment.tzinfo is None:
        raise ValueError("a ServiceNow datetime needs a time zone")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _value(text: str) -> str:
    if "^" in text or "\n" in text:  # the separators of an encoded query
        raise ConfigError(f"{text!r} cannot be written in an encoded query")
    return text


def _order() -> str:
    return f"ORDERBY{STAMP}^ORDERBYsys_id"


def changes_query(since: dt.datetime | None, where: str | None = None) -> str:
    """Records updated at or after ``since``'s second, oldest first, ties by sys_id."""
    parts = [f"{STAMP}>={glide_datetime(since)}"] if since is not None else []
    if where:
        parts.append(where)
    return "^".join([*parts, _order()])


def after_query(
    since: dt.datetime | None, last_stamp: str, last_id: str, where: str | None = None
) -> str:
    """The next page: rows after (``last_stamp``, ``last_id``) in the reading order."""
    extra = f"^{where}" if where else ""
    floor = f"^{STAMP}>={glide_datetime(since)}" if since is not None else ""
    stamp, sys_id = _value(last_stamp), _value(last_id)
    first = f"{STAMP}>{stamp}{floor}{extra}"
    tie = f"{STAMP}={stamp}^sys_id>{sys_id}{floor}{extra}"
    return f"{first}^NQ{tie}^{_order()}"
