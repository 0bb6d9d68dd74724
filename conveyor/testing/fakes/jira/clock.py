"""Time for the fake Jira: its replaceable clock and Jira's datetime forms.

Jira keeps datetimes to the millisecond and writes them with the user's offset, never ``Z``:
``2024-01-31T14:05:12.345+0100``. JQL reads date literals in the user's profile time zone at
minute precision (:func:`parse_jql_date`); seconds and ISO ``T`` forms are refused.

The clock is :class:`~conveyor.testing.fakes.salesforce.clock.ManualClock`-compatible: any
callable returning an aware datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.salesforce.clock import Clock, ManualClock, system_clock

__all__ = [
    "Clock",
    "ManualClock",
    "format_datetime",
    "index_seconds",
    "parse_jql_date",
    "stamp",
    "system_clock",
]

#: The absolute forms JQL accepts for a date or date-time.
_ABSOLUTE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?: (\d{1,2}):(\d{2}))?$")
#: Relative periods: ``-5d``, ``1w 2d``, ``-30m``.
_RELATIVE = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def stamp(clock: Clock) -> datetime:
    """The clock's reading as Jira stores it: UTC, to the millisecond."""
    now = clock()
    if now.tzinfo is None:
        raise ValueError("the fake's clock returned a naive datetime; return an aware one")
    now = now.astimezone(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_datetime(value: datetime, zone: ZoneInfo) -> str:
    """``2024-01-31T14:05:12.345+0100``: Jira's form, in the user's zone."""
    local = value.astimezone(zone)
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}"
        + (local.strftime("%z"))
    )


def index_seconds(value: datetime) -> datetime:
    """A datetime as Jira's search index holds it: whole seconds (Jira's ``LuceneUtils``
    indexes date-times with second resolution), so JQL compares at that precision."""
    return value.astimezone(UTC).replace(microsecond=0)


def parse_jql_date(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """A JQL date literal as the instant it names, or None if Jira would refuse it.

    ``yyyy-MM-dd HH:mm`` and ``yyyy/MM/dd HH:mm`` name the first second of that minute in the
    user's zone; a date alone names midnight there; ``-5d``, ``-2h``, ``1w 2d`` are periods
    from now. Seconds, an ISO ``T`` or a zone make the literal invalid, as in Jira.
    """
    text = text.strip()
    absolute = _ABSOLUTE.match(text)
    if absolute:
        year, month, day, hour, minute = absolute.groups()
        try:
            local = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=zone
            )
        except ValueError:
            return None
        return local.astimezone(UTC)
    relative = _RELATIVE.match(text)
    if relative:
        sign = -1 if relative.group(1) == "-" else 1
        amounts: dict[str, int] = {}
        for number, unit in re.findall(r"(\d+)\s*([wdhm])", relative.group(2)):
            amounts[_UNITS[unit]] = amounts.get(_UNITS[unit], 0) + int(number)
        return (now + sign * timedelta(**amounts)).astimezone(UTC)
    return None
