"""Value checks of a field (regex, email, min, max, allowed, max_length) as Polars expressions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from conveyor.mapping.transforms import regex_problem
from conveyor.mapping.types import FieldType, ParseOptions, parse_value, quote
from conveyor.schema import FieldKind

__all__ = [
    "CHECKS_BY_KIND",
    "EMAIL_PATTERN",
    "Checks",
    "check_problems",
    "check_tests",
    "compile_checks",
]

#: A pragmatic address check, not RFC 5322: the WHATWG (HTML form) pattern, ASCII only, with
#: at least one dot in the domain. Quoted local parts and IP-literal domains are refused.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

CHECKS_BY_KIND: dict[FieldKind, tuple[str, ...]] = {
    "string": ("regex", "email", "allowed", "max_length"),
    "integer": ("min", "max", "allowed"),
    "decimal": ("min", "max", "allowed"),
    "float": ("min", "max", "allowed"),
    "boolean": ("allowed",),
    "date": ("min", "max", "allowed"),
    "datetime": ("min", "max", "allowed"),
    "json": (),
}
_TIME_KINDS = ("date", "datetime")


def _scalar(value: object) -> object:
    """Keep numbers and text; ISO text for dates; refuse booleans where a bound is meant."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _bound(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a number or an ISO date, got {str(value).lower()}")
    return _scalar(value)


Bound = Annotated[int | float | str | None, BeforeValidator(_bound)]
Scalar = Annotated[bool | int | float | str, BeforeValidator(_scalar)]


class Checks(BaseModel):
    """Rules a value must meet; a row breaking one is rejected with the reason."""

    model_config = ConfigDict(extra="forbid")

    regex: str | None = Field(
        None, description="string: the value must contain a match (anchor with ^...$)."
    )
    email: bool = Field(False, description="string: the value must look like an email address.")
    min: Bound = Field(None, description="numbers, dates, datetimes (ISO text): lowest value.")
    max: Bound = Field(None, description="numbers, dates, datetimes (ISO text): highest value.")
    allowed: list[Scalar] | None = Field(
        None, min_length=1, description="The value must be one of these."
    )
    max_length: int | None = Field(
        None, ge=1, description="string: at most this many characters (also sizes the column)."
    )

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        problem = regex_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    def given(self) -> list[str]:
        """Names of the checks set, in declaration order."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return [name for name, value in values.items() if value is not None and value is not False]


def check_problems(
    checks: Checks, ftype: FieldType, opts: ParseOptions
) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems of ``checks`` for a field of ``ftype``: (path under ``checks``, message)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    fits = CHECKS_BY_KIND[ftype.kind]
    for name in checks.given():
        if name not in fits:
            allowed = ", ".join(fits) if fits else "none"
            problems.append(
                ((name,), f"{name} does not apply to a {ftype.kind} field; it takes: {allowed}")
            )
    if problems:
        return problems
    bounds: dict[str, object] = {}
    for name in ("min", "max"):
        raw = getattr(checks, name)
        if raw is None:
            continue
        try:
            bounds[name] = parse_value(raw, ftype, opts)
        except ValueError as exc:
            problems.append(((name,), str(exc)))
    if len(bounds) == 2 and bounds["min"] > bounds["max"]:  # type: ignore[operator]
        problems.append((("min",), f"min {checks.min} is greater than max {checks.max}"))
    for i, item in enumerate(checks.allowed or []):
        try:
            parse_value(item, ftype, opts)
        except ValueError as exc:
            problems.append((("allowed", i), str(exc)))
    return problems


def _when(bad: pl.Expr, shown: pl.Expr, reason: str) -> pl.Expr:
    return pl.when(bad).then(pl.concat_str([quote(shown), pl.lit(" " + reason)]))


def _show_item(item: object) -> str:
    return (
        repr(item)
        if isinstance(item, str)
        else str(item).lower()
        if isinstance(item, bool)
        else str(item)
    )


def _tests(
    value: pl.Expr, checks: Checks, ftype: FieldType, opts: ParseOptions
) -> list[tuple[pl.Expr, str]]:
    """(test true when broken, reason) per check given, in declaration order."""
    out: list[tuple[pl.Expr, str]] = []
    if checks.regex is not None:
        out.append((~value.str.contains(checks.regex), f"does not match {checks.regex}"))
    if checks.email:
        out.append((~value.str.contains(EMAIL_PATTERN), "is not an email address"))
    low, high = (
        ("is before", "is after")
        if ftype.kind in _TIME_KINDS
        else ("is less than", "is greater than")
    )
    dtype = ftype.dtype()
    if checks.min is not None:
        bound = pl.lit(parse_value(checks.min, ftype, opts), dtype)
        out.append((value < bound, f"{low} the minimum {checks.min}"))
    if checks.max is not None:
        bound = pl.lit(parse_value(checks.max, ftype, opts), dtype)
        out.append((value > bound, f"{high} the maximum {checks.max}"))
    if checks.allowed is not None:
        items: list[Any] = [parse_value(item, ftype, opts) for item in checks.allowed]
        choices = ", ".join(_show_item(item) for item in checks.allowed)
        out.append((~value.is_in(pl.Series(items, dtype=dtype)), f"is not one of {choices}"))
    if checks.max_length is not None:
        out.append(
            (
                value.str.len_chars() > checks.max_length,
                f"is longer than {checks.max_length} characters",
            )
        )
    return out


def check_tests(
    value: pl.Expr, checks: Checks, ftype: FieldType, opts: ParseOptions
) -> list[pl.Expr]:
    """One Boolean expression per check: true (or null) where ``value`` breaks it. Cheaper than
    ``compile_checks``: nothing is formatted, so it can run on every row."""
    return [bad for bad, _ in _tests(value, checks, ftype, opts)]


def compile_checks(
    value: pl.Expr, shown: pl.Expr, checks: Checks, ftype: FieldType, opts: ParseOptions
) -> list[pl.Expr]:
    """One String expression per check: its reason (quoting ``shown``) when broken, else null.

    ``value`` is the typed value (null when empty or invalid: nothing to check); ``shown`` is
    the text the reason quotes.
    """
    return [_when(bad, shown, reason) for bad, reason in _tests(value, checks, ftype, opts)]
