"""Canonical values: one form for a field's value whichever side it came from, so comparing a
local row, a remote record and the last agreed values is exact.

The form is JSON's: text as ``str``; integers as ``int``; decimals as their plain digits in a
``str`` (``"12.5"``, never ``1.25E+1``), so no float ever rounds them; booleans as ``bool``;
dates as ``YYYY-MM-DD``; datetimes in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``; json as the
parsed value. An empty string is null for every type: remote systems disagree on which of the
two an empty field is (ServiceNow sends ``""``), and a sync must not see that as a change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from conveyor.errors import RecordError
from conveyor.mapping.transforms import apply_transforms
from conveyor.sync.spec import LocalType, SyncField, SyncJobSpec

__all__ = ["Codec", "canonical", "to_python", "values_hash"]

_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a whole number")
    number = Decimal(str(value).strip())
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    return int(number)


def _decimal(value: Any) -> str:
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as the same float
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError("not a finite number")
    text = format(number, "f")  # not normalize(): it rounds to the context's 28 digits
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("not true or false")


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()


def _datetime(value: Any) -> str:
    moment = (
        value
        if isinstance(value, dt.datetime)
        else dt.datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # naive datetimes are UTC, as Conveyor stores
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


_CANONICAL: dict[LocalType, Callable[[Any], Any]] = {
    "text": _text,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "json": _json,
}


def canonical(value: Any, kind: LocalType, name: str = "value") -> Any:
    """``value`` in its canonical form; a RecordError names the field and the value."""
    if value is None or value == "":
        return None
    try:
        return _CANONICAL[kind](value)
    except (ValueError, TypeError, InvalidOperation, json.JSONDecodeError):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise RecordError(f"field {name}: {shown} is not {_ARTICLE[kind]}") from None


_ARTICLE: dict[LocalType, str] = {
    "text": "text",
    "integer": "a whole number",
    "decimal": "a decimal number",
    "boolean": "true or false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601)",
    "json": "JSON",
}


def to_python(value: Any, kind: LocalType) -> Any:
    """A canonical value as the Python object a database driver binds."""
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    return value


def values_hash(values: Mapping[str, Any]) -> str:
    """A digest of canonical values, the same for equal values whatever their key order."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Codec:
    """A job's field map in both directions, on batches: remote records to canonical local
    values (``inbound``), local rows to canonical values (``local``), and canonical values to
    the remote's field names (``outbound``). Text transforms run on whole columns in Polars."""

    def __init__(self, job: SyncJobSpec) -> None:
        self.fields: dict[str, SyncField] = dict(job.fields)

    def inbound(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | RecordError]:
        """Remote values (by remote field name) to canonical local values, one per record; a
        record whose value cannot be read is its RecordError instead."""
        columns = {
            name: _transformed([r.get(f.remote) for r in records], f.to_local)
            for name, f in self.fields.items()
        }
        return [self._canonical_row(columns, i) for i in range(len(records))]

    def local(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | RecordError]:
        """Local rows (by column name) to canonical values."""
        columns = {name: [r.get(name) for r in rows] for name in self.fields}
        return [self._canonical_row(columns, i) for i in range(len(rows))]

    def outbound(self, values: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Canonical values to remote field names, with the outbound transforms applied."""
        present = [name for name in self.fields if any(name in v for v in values)]
        columns = {
            name: _transformed([v.get(name) for v in values], self.fields[name].to_remote)
            for name in present
        }
        return [
            {self.fields[n].remote: columns[n][i] for n in present if n in values[i]}
            for i in range(len(values))
        ]

    def _canonical_row(
        self, columns: Mapping[str, list[Any]], i: int
    ) -> dict[str, Any] | RecordError:
        try:
            return {n: canonical(columns[n][i], self.fields[n].type, n) for n in self.fields}
        except RecordError as error:
            return error


def _transformed(values: list[Any], transforms: Sequence[Any]) -> list[Any]:
    """``values`` through text transforms (non-text values are transformed as their text)."""
    if not transforms:
        return values
    texts = pl.Series([None if v is None else _text(v) for v in values], dtype=pl.String)
    out = pl.select(apply_transforms(pl.lit(texts), transforms)).to_series()
    return out.to_list()
