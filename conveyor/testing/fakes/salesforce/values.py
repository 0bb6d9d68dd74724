"""Field values between the wire and the store, by Salesforce field type.

The store keeps Python values (str, bool, int, float, date, datetime). REST JSON and Bulk CSV give
and take them in different forms: JSON numbers and ``+0000`` datetimes for REST; text, ``Z``
datetimes and Java-style doubles (``1.5E7``) for Bulk API 2.0, which is why Bulk results are not
an echo of the input.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from conveyor.testing.fakes.salesforce.clock import (
    format_bulk,
    format_rest,
    parse_date,
    parse_datetime,
)
from conveyor.testing.fakes.salesforce.describe import FieldSpec

__all__ = [
    "NUMBER_TYPES",
    "TEXT_TYPES",
    "fold",
    "from_csv",
    "from_json",
    "java_double",
    "to_csv",
    "to_json",
]

TEXT_TYPES = frozenset(
    [
        "id",
        "reference",
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
    ]
)
NUMBER_TYPES = frozenset(("double", "currency", "percent"))
_TRUE = frozenset(("true", "1", "yes"))
_FALSE = frozenset(("false", "0", "no"))

Stored = str | bool | int | float | date | datetime | None


def _bad(field: FieldSpec, raw: object) -> ValueError:
    return ValueError(f"{field.label}: value not of required type: {raw}")


def from_json(field: FieldSpec, raw: object) -> Stored:
    """A REST JSON value for ``field`` as the store keeps it; ValueError when Salesforce would
    refuse it."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return from_csv(field, raw)
    kind = field.type
    if isinstance(raw, bool):
        if kind == "boolean":
            return raw
        raise _bad(field, raw)
    if isinstance(raw, int | float):
        if kind == "int" and float(raw).is_integer():
            return int(raw)
        if kind in NUMBER_TYPES:
            return float(raw)
        if kind in TEXT_TYPES and kind not in ("id", "reference"):
            return str(raw)
    raise _bad(field, raw)


def from_csv(field: FieldSpec, text: str) -> Stored:
    """A Bulk CSV (or JSON string) value for ``field``; never trimmed, as on Salesforce."""
    kind = field.type
    if kind == "boolean":
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise _bad(field, text)
    if kind == "int":
        try:
            number = float(text)
        except ValueError:
            raise _bad(field, text) from None
        if not number.is_integer():
            raise _bad(field, text)
        return int(number)
    if kind in NUMBER_TYPES:
        try:
            return float(text)
        except ValueError:
            raise _bad(field, text) from None
    if kind == "date":
        parsed_date = parse_date(text)
        if parsed_date is None:
            raise _bad(field, text)
        return parsed_date
    if kind == "datetime":
        parsed = parse_datetime(text)
        if parsed is None:
            raise _bad(field, text)
        return parsed
    return text


def to_json(field: FieldSpec, value: object) -> object:
    """The REST JSON form of a stored value."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_rest(value)
    if isinstance(value, date):
        return value.isoformat()
    if field.type in NUMBER_TYPES and isinstance(value, int | float):
        return float(value)
    return value


def to_csv(field: FieldSpec, value: object) -> str:
    """The Bulk API 2.0 CSV form of a stored value (doubles in Java's notation)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_bulk(value)
    if isinstance(value, date):
        return value.isoformat()
    if field.type in NUMBER_TYPES and isinstance(value, int | float):
        return java_double(float(value))
    return str(value)


def java_double(value: float) -> str:
    """``Double.toString`` as Salesforce's Java renders it: ``30.0``, ``1500000.0``, ``1.5E7``."""
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) + exponent - 1
    mantissa = shown[0] + "." + (shown[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{power}"


def fold(field: FieldSpec, value: object) -> object:
    """The key two values are compared by: text ignores case unless the field is case-sensitive,
    as SOQL and external-id matching do."""
    if isinstance(value, str) and field.type in TEXT_TYPES and not field.flag("caseSensitive"):
        return value.casefold()
    return value
