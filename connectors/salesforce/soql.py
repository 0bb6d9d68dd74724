"""SOQL text for the connector's reads, built from names checked against describe.

Values never come from users: field and object names are checked against the entity's
describe (and a strict name pattern) before they reach a query; the only literal is the cursor
time, written as Salesforce wants it - an unquoted UTC datetime (a quoted one is an error, and a
``+00:00`` offset would have to be URL-encoded, so ``Z`` is used). A job's ``remote.filter`` is
SOQL written by the job's author (trusted configuration, like a mapping) and is added in
parentheses as written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from conveyor.errors import ConfigError

__all__ = ["changes_query", "datetime_literal", "ids_query"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(__[a-z]+)?(\.[A-Za-z][A-Za-z0-9_]*(__[a-z]+)?)?$")


def _name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"{name!r} is not a Salesforce field or object name")
    return name


def datetime_literal(moment: dt.datetime) -> str:
    """``2025-01-01T00:00:00.000Z``: UTC, milliseconds, unquoted."""
    if moment.tzinfo is None:
        raise ValueError("a SOQL datetime needs a time zone")
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def changes_query(
    entity: str,
    fields: Sequence[str],
    modstamp: str,
    since: dt.datetime | None,
    where: str | None = None,
    ordered: bool = True,
) -> str:
    """Records changed at or after ``since``, oldest first, ties ordered by Id (unless not
    ``ordered``: Bulk queries, which ORDER BY would keep from being split)."""
    names = list(dict.fromkeys(["Id", modstamp, *fields]))
    conditions = []
    if since is not None:  # Salesforce keeps whole seconds: from the start of since's second
        floor = since.replace(microsecond=0)
        conditions.append(f"{_name(modstamp)} >= {datetime_literal(floor)}")
    if where:
        conditions.append(f"({where})")  # the job's own filter, in SOQL, as written in the job
    selected = ", ".join(_name(n) for n in names)
    text = f"SELECT {selected} FROM {_name(entity)}"  # noqa: S608  (SOQL of checked names)
    if conditions:
        text += " WHERE " + " AND ".join(conditions)
    return text + (f" ORDER BY {_name(modstamp)} ASC, Id ASC" if ordered else "")


def ids_query(entity: str) -> str:
    """Every live record's Id (the key scan)."""
    return f"SELECT Id FROM {_name(entity)} ORDER BY Id ASC"  # noqa: S608  (a checked name)
