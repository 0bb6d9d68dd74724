"""OData v2 JSON values, read exactly: ``/Date(ms)/`` and ``/Date(ms+0100)/`` date-times,
``PT10H30M00S`` times, decimals and 64-bit integers as strings (kept as text: no float ever
rounds them).

SAP Gateway writes ``LastChangeDate`` (a date-only Edm.DateTime) and ``LastChangeTime`` (an
Edm.Time) as the system's local time rendered as if UTC (the vendor notes); the connector's
``system_time_zone`` says what that local time is, and :func:`change_moment` combines the two
into one UTC instant.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "change_moment",
    "datetime_literal",
    "parse_date",
    "parse_time",
    "time_literal",
    "to_odata",
]

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_TIME = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_date(text: Any) -> dt.datetime | None:
    """``/Date(1704067200000)/`` -> an aware UTC datetime (an offset is kept as the instant)."""
    if text in (None, ""):
        return None
    match = _DATE.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not an OData date-time")
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=int(match[1]))
    return moment


def parse_time(text: Any) -> dt.timedelta | None:
    """``PT10H30M05S`` -> 10:30:05 as a duration since midnight."""
    if text in (None, ""):
        return None
    match = _TIME.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not an OData time")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def change_moment(date: Any, time: Any, zone: ZoneInfo) -> dt.datetime | None:
    """LastChangeDate + LastChangeTime (local time of the system, written as UTC) -> UTC."""
    day = parse_date(date)
    if day is None:
        return None
    local = day.replace(tzinfo=None) + (parse_time(time) or dt.timedelta())
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


def datetime_literal(moment: dt.datetime) -> str:
    """``datetime'2024-01-31T14:05:00'`` for a filter on an Edm.DateTime."""
    return f"datetime'{moment.strftime('%Y-%m-%dT%H:%M:%S')}'"


def time_literal(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"time'PT{seconds // 3600:02d}H{seconds % 3600 // 60:02d}M{seconds % 60:02d}S'"


def to_odata(value: Any, edm: str) -> Any:
    """A canonical value as OData v2 JSON takes it."""
    if value is None:
        return None
    if edm in ("Edm.Decimal", "Edm.Int64", "Edm.Double", "Edm.Single"):
        return str(value)
    if edm == "Edm.DateTime":
        moment = value if isinstance(value, dt.datetime) else _iso(str(value))
        millis = int(moment.astimezone(dt.UTC).timestamp() * 1000)
        return f"/Date({millis})/"
    if edm == "Edm.Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value


def _iso(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
