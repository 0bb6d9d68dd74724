"""Time for the fake instance: ServiceNow's date-time forms, read and written.

ServiceNow stores ``glide_date_time`` values in UTC at one-second resolution and writes them
``2024-01-31 14:05:12`` (no ``T``, no zone). Display values are in the user's time zone and date
format (``yyyy-MM-dd`` unless the user chose another); ``display_value_internal`` is the user's
zone in the internal format.

Encoded queries compare against a plain UTC value or a script:
``javascript:gs.dateGenerate('2024-01-01','10:00:00')`` (also ``'start'`` and ``'end'``) and
``javascript:gs.daysAgo(N)``, ``hoursAgo(N)``, ``minutesAgo(N)``. Which zone ``dateGenerate``
reads its date in is :data:`DateGenerateZone` (see :class:`~.fake.FakeServiceNow`).

The clock is :class:`~conveyor.testing.fakes.salesforce.clock.ManualClock`-compatible: any
callable returning an aware datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.salesforce.clock import Clock, ManualClock, system_clock

__all__ = [
    "FORMAT",
    "Clock",
    "DateGenerateZone",
    "ManualClock",
    "display",
    "display_internal",
    "format_glide",
    "parse_glide",
    "query_datetime",
    "stamp",
    "system_clock",
]

FORMAT = "%Y-%m-%d %H:%M:%S"
DateGenerateZone = Literal["user", "UTC"]

_GLIDE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?$")
_GENERATE = re.compile(
    r"^javascript:\s*gs\.dateGenerate\(\s*'(\d{4}-\d{2}-\d{2})'\s*,\s*'([^']*)'\s*\)\s*;?$"
)
_AGO = re.compile(r"^javascript:\s*gs\.(days|hours|minutes)Ago\(\s*(-?\d+)\s*\)\s*;?$")
_JAVA_PATTERN = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"))


def stamp(clock: Clock) -> str:
    """The clock's reading as ServiceNow stores it: UTC, whole seconds."""
    now = clock()
    if now.tzinfo is None:
        raise ValueError("the fake's clock returned a naive datetime; return an aware one")
    return format_glide(now)


def format_glide(value: datetime) -> str:
    return value.astimezone(UTC).strftime(FORMAT)


def parse_glide(text: str, zone: ZoneInfo | None = None) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` (or a date alone, meaning midnight) as an aware UTC datetime;
    read in ``zone`` when given (``sysparm_input_display_value``), else as UTC. None if not a
    date-time."""
    match = _GLIDE.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=zone or UTC)
    except ValueError:
        return None
    return local.astimezone(UTC)


def display(value: str, zone: ZoneInfo, date_format: str) -> str:
    """A stored UTC value as the user sees it: in their zone and date format."""
    parsed = parse_glide(value)
    if parsed is None:
        return value
    pattern = date_format
    for java, strf in _JAVA_PATTERN:
        pattern = pattern.replace(java, strf)
    return parsed.astimezone(zone).strftime(f"{pattern} %H:%M:%S")


def display_internal(value: str, zone: ZoneInfo) -> str:
    """A stored UTC value in the user's zone, internal format (``display_value_internal``)."""
    parsed = parse_glide(value)
    return parsed.astimezone(zone).strftime(FORMAT) if parsed is not None else value


def query_datetime(
    text: str, zone: ZoneInfo, now: datetime, generate_zone: DateGenerateZone
) -> str | None:
    """A date-time operand of an encoded query as the stored UTC form, or None when ServiceNow
    could not read it (the fake then drops the condition, as an invalid part of a query is)."""
    text = text.strip()
    generated = _GENERATE.match(text)
    if generated:
        day, time_part = generated.groups()
        time_text = {"start": "00:00:00", "end": "23:59:59"}.get(time_part.lower(), time_part)
        if not re.fullmatch(r"\d{2}:\d{2}:\d{2}", time_text):
            return None
        read_in = zone if generate_zone == "user" else None
        parsed = parse_glide(f"{day} {time_text}", read_in)
        return format_glide(parsed) if parsed is not None else None
    ago = _AGO.match(text)
    if ago:
        unit, amount = ago.groups()
        return format_glide(now - timedelta(**{unit: int(amount)}))
    parsed = parse_glide(text)
    return format_glide(parsed) if parsed is not None else None
