"""Edm values of the fake: how they are stored, read from a request and written to an answer.

Stored values are ABAP-like Python objects, never None except for dates:

========================  ======================  ===============================================
Edm type                  stored as               JSON (OData v2 verbose)
========================  ======================  ===============================================
``Edm.String``            ``str`` (``""`` empty)  ``"text"``
``Edm.Boolean``           ``bool``                ``true``
``Edm.DateTime``          naive ``datetime``      ``"/Date(1704067200000)/"`` (``null`` if empty)
``Edm.Time``              ``time``                ``"PT10H30M00S"`` (never empty: ``PT00H00M00S``)
``Edm.Decimal``           ``Decimal``             ``"1500.00"`` (a string, to the scale)
``Edm.Int64``             ``int``                 ``"42"`` (a string)
========================  ======================  ===============================================

SAP stamps ``CreationDate``/``LastChangeDate`` and their ``Edm.Time`` partners in the *system's
local time* and writes them as if it were UTC: a change at 09:30 UTC on a Berlin system in
winter is ``LastChangeTime: "PT10H30M00S"``. The naive datetimes here are that local wall time,
so ``/Date(ms)/`` is computed as if they were UTC.

ETags are SADL's: weak and to the second, ``W/"'SADL-020240101103000C~20240101103000'"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.sap.schema import Prop

__all__ = [
    "EPOCH",
    "Clock",
    "date_json",
    "etag_for",
    "from_input",
    "initial",
    "local_now",
    "parse_date_json",
    "parse_time",
    "public_value",
    "time_text",
    "to_atom",
    "to_json",
]

Clock = Callable[[], datetime]
EPOCH = datetime(1970, 1, 1)
_DATE_JSON = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{1,4}))?\)/$")
_TIME = re.compile(r"^PT(?:(\d{1,2})H)?(?:(\d{1,2})M)?(?:(\d{1,2})(?:\.(\d{1,7}))?S)?$")
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?)?$")


def local_now(clock: Clock, zone: ZoneInfo) -> datetime:
    """The clock's reading as the SAP system stamps it: local wall time, whole seconds."""
    now = clock()
    if now.tzinfo is None:
        raise ValueError("the fake's clock returned a naive datetime; return an aware one (UTC)")
    return now.astimezone(UTC).astimezone(zone).replace(tzinfo=None, microsecond=0)


def etag_for(stamp: datetime) -> str:
    """SADL's weak, second-granular ETag for an entity last written at ``stamp``."""
    digits = stamp.strftime("%Y%m%d%H%M%S")
    return f"W/\"'SADL-0{digits}C~{digits}'\""


def date_json(value: datetime) -> str:
    """``/Date(ms)/`` for a (naive, written-as-UTC) datetime."""
    return f"/Date({(value - EPOCH) // timedelta(milliseconds=1)})/"


def parse_date_json(text: str) -> datetime | None:
    """The datetime of ``/Date(ms)/`` or ``/Date(ms+mmmm)/`` (offset in minutes), or None."""
    match = _DATE_JSON.match(text)
    if match is None:
        return None
    ms, sign, offset = match.groups()
    value = EPOCH + timedelta(milliseconds=int(ms))
    if sign:
        value += timedelta(minutes=int(offset)) * (1 if sign == "+" else -1)
    return value


def time_text(value: time) -> str:
    return f"PT{value.hour:02d}H{value.minute:02d}M{value.second:02d}S"


def parse_time(text: str) -> time | None:
    """``PT10H30M00S`` (any part may be missing; fractions are dropped), or None."""
    match = _TIME.match(text)
    if match is None or text == "PT":
        return None
    hours, minutes, seconds, _ = (int(g) if g else 0 for g in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return time(hours, minutes, seconds)


def _parse_iso(text: str) -> datetime | None:
    match = _ISO.match(text)
    if match is None:
        return None
    day, hours, minutes, seconds = match.groups()
    try:
        base = datetime.fromisoformat(day)
        return base.replace(
            hour=int(hours or 0), minute=int(minutes or 0), second=int(seconds or 0)
        )
    except ValueError:
        return None


def initial(prop: Prop) -> Any:
    """The value of a property nobody set (ABAP's initial value)."""
    if prop.edm == "Edm.Boolean":
        return False
    if prop.edm == "Edm.DateTime":
        return None
    if prop.edm == "Edm.Time":
        return time(0, 0, 0)
    if prop.edm == "Edm.Decimal":
        return _quantized(Decimal(0), prop)
    if prop.edm == "Edm.Int64":
        return 0
    return ""


def to_json(prop: Prop, value: Any) -> Any:
    if prop.edm == "Edm.DateTime":
        return None if value is None else date_json(value)
    if prop.edm == "Edm.Time":
        return time_text(value)
    if prop.edm == "Edm.Decimal":
        return format(value, "f")
    if prop.edm == "Edm.Int64":
        return str(value)
    return value


def to_atom(prop: Prop, value: Any) -> str | None:
    """The text of the value in an Atom ``<d:Name>`` element (None: ``m:null="true"``)."""
    if prop.edm == "Edm.DateTime":
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S")
    if prop.edm == "Edm.Boolean":
        return "true" if value else "false"
    return str(to_json(prop, value))


def public_value(prop: Prop, value: Any) -> Any:
    """A stored value as :meth:`FakeSap.partner` shows it (a ``date`` for date-only fields)."""
    if prop.date_only and value is not None:
        return value.date()
    return value


def from_input(prop: Prop, raw: Any) -> Any:
    """A value given in a request body (JSON form) or to :meth:`FakeSap.insert` (JSON form or a
    Python value), checked against the property's type and length; ValueError says why not."""
    if prop.edm == "Edm.String":
        return _string(prop, raw)
    if prop.edm == "Edm.Boolean":
        if not isinstance(raw, bool):
            raise ValueError(f"expects a boolean, not {raw!r}")
        return raw
    if prop.edm == "Edm.DateTime":
        return _datetime(prop, raw)
    if prop.edm == "Edm.Time":
        return _time(raw)
    if prop.edm == "Edm.Decimal":
        return _decimal(prop, raw)
    if prop.edm == "Edm.Int64":
        return _int64(raw)
    raise ValueError(f"type {prop.edm} is not supported by the fake")


def _string(prop: Prop, raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValueError(f"expects a string, not {raw!r}")
    if prop.max_length is not None and len(raw) > prop.max_length:
        raise ValueError(f"is longer than {prop.max_length} characters")
    return raw.upper() if prop.display_format == "UpperCase" else raw


def _datetime(prop: Prop, raw: Any) -> datetime | None:
    if raw is None:
        return None
    value: datetime | None
    if isinstance(raw, datetime):
        value = raw.astimezone(UTC).replace(tzinfo=None) if raw.tzinfo else raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str):
        value = parse_date_json(raw) or _parse_iso(raw)
    else:
        value = None
    if value is None:
        raise ValueError(f"expects /Date(ms)/ or an ISO date-time, not {raw!r}")
    value = value.replace(microsecond=0)
    return value.replace(hour=0, minute=0, second=0) if prop.date_only else value


def _time(raw: Any) -> time:
    if raw is None:
        return time(0, 0, 0)
    if isinstance(raw, time):
        return raw.replace(microsecond=0, tzinfo=None)
    parsed = parse_time(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise ValueError(f"expects a duration like PT10H30M00S, not {raw!r}")
    return parsed


def _decimal(prop: Prop, raw: Any) -> Decimal:
    if raw is None:
        return _quantized(Decimal(0), prop)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise ValueError(f"expects a decimal number, not {raw!r}")
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"expects a decimal number, not {raw!r}") from None
    if not number.is_finite():
        raise ValueError(f"expects a decimal number, not {raw!r}")
    scale = prop.scale or 0
    if number != number.quantize(Decimal(1).scaleb(-scale)):
        raise ValueError(f"has more than {scale} decimal places")
    value = _quantized(number, prop)
    if prop.precision is not None and len(value.as_tuple().digits) > prop.precision:
        raise ValueError(f"has more than {prop.precision} digits")
    return value


def _quantized(number: Decimal, prop: Prop) -> Decimal:
    return number.quantize(Decimal(1).scaleb(-(prop.scale or 0)))


def _int64(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"expects an integer, not {raw!r}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"[+-]?\d+L?", raw):
        value = int(raw.rstrip("L"))
    else:
        raise ValueError(f"expects an integer, not {raw!r}")
    if not -(2**63) <= value < 2**63:
        raise ValueError("is outside the Edm.Int64 range")
    return value
