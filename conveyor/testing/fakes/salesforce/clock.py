"""Time for the fake org: a replaceable clock and Salesforce's datetime formats.

Salesforce stamps ``CreatedDate``, ``LastModifiedDate`` and ``SystemModstamp`` to the second, so
several writes share one stamp; incremental readers must overlap their cursor. Tests replace the
clock (``fake.clock = ManualClock(...)``) to make stamps predictable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "Clock",
    "ManualClock",
    "format_bulk",
    "format_rest",
    "parse_date",
    "parse_datetime",
    "stamp",
    "system_clock",
]

Clock = Callable[[], datetime]

_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$"
)


def system_clock() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (or by ``step`` on every reading)."""

    def __init__(
        self, start: datetime | str = "2025-01-01T00:00:00Z", step: timedelta | None = None
    ) -> None:
        self._now = _as_datetime(start)
        self._step = step

    def __call__(self) -> datetime:
        now = self._now
        if self._step is not None:
            self._now += self._step
        return now

    def set(self, when: datetime | str) -> None:
        self._now = _as_datetime(when)

    def advance(self, seconds: float = 1.0) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


def _as_datetime(value: datetime | str) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"a clock needs a time zone aware datetime, not {value!r}")
    return parsed.astimezone(UTC)


def stamp(clock: Clock) -> datetime:
    """The clock's reading as Salesforce stores it: UTC, whole seconds."""
    now = clock()
    if now.tzinfo is None:
        raise ValueError("the fake's clock returned a naive datetime; return an aware one (UTC)")
    return now.astimezone(UTC).replace(microsecond=0)


def format_rest(value: datetime) -> str:
    """REST API form: ``2025-01-01T00:00:00.000+0000``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def format_bulk(value: datetime) -> str:
    """Bulk API 2.0 CSV form: ``2025-01-01T00:00:00.000Z``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime | None:
    """An ISO datetime as Salesforce accepts it (``Z``, ``+0000`` or ``+00:00``; no zone means
    UTC), or None."""
    match = _DATETIME_RE.match(text)
    if not match:
        return None
    day, hours, minutes, seconds, fraction, zone = match.groups()
    try:
        base = datetime.fromisoformat(f"{day}T{hours}:{minutes}:{seconds}")
    except ValueError:
        return None
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (base.replace(microsecond=micros, tzinfo=UTC) - offset).astimezone(UTC)


def parse_date(text: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
