"""Field types and the Polars expressions that cast source values to them.

Two entry points build expressions, never a Python call per row:

- ``cast_text``: a text value (already transformed; null means empty) to the target type.
- ``cast_typed``: a typed source value (xlsx/json readers give Int64, Float64, Boolean, Date,
  Datetime) to the target type; combinations without a direct cast go through the value's
  canonical text form.

Each returns a ``Cast``: the typed value (null when empty or invalid) and a problem text (null
when fine) that quotes the offending value, e.g. ``'12,x' is not a decimal(12,2)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

import polars as pl

from conveyor.schema import Column, FieldKind

__all__ = [
    "DEFAULT_FALSE",
    "DEFAULT_TRUE",
    "ISO_DATETIME_FORMATS",
    "ISO_DATE_FORMAT",
    "MAX_PRECISION",
    "TYPE_HELP",
    "TYPE_PATTERN",
    "Cast",
    "FieldType",
    "ParseOptions",
    "cast_text",
    "cast_typed",
    "format_problem",
    "is_supported_dtype",
    "is_text_dtype",
    "json_text_form",
    "parse_value",
    "quote",
    "text_form",
    "timezone_problem",
]

DEFAULT_TRUE: tuple[str, ...] = ("true", "t", "yes", "y", "1")
DEFAULT_FALSE: tuple[str, ...] = ("false", "f", "no", "n", "0")
MAX_PRECISION = 38
TYPE_HELP = (
    "use one of string, integer, decimal(p,s) with p <= 38, float, boolean, date, datetime, json"
)
#: The type names as a JSON Schema pattern (the model checks the decimal ranges).
TYPE_PATTERN = (
    r"^(string|integer|float|boolean|date|datetime|json|decimal\( *[0-9]+ *, *[0-9]+ *\))$"
)
ISO_DATE_FORMAT = "%Y-%m-%d"
#: Tried in order when a datetime field names no format: with an offset, then without.
ISO_DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%d %H:%M%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
_SIMPLE_KINDS = ("string", "integer", "float", "boolean", "date", "datetime", "json")
_DECIMAL_RE = re.compile(r"decimal\( *([0-9]+) *, *([0-9]+) *\)")
_QUOTE_LIMIT = 100  # longer values are cut in messages so a reject reason stays readable
_JSON_WHITESPACE = " \t\r\n"
_UTC = "UTC"


@dataclass(frozen=True)
class FieldType:
    """A target type: a kind plus precision and scale for decimals."""

    kind: FieldKind
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.kind == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.kind

    @classmethod
    def parse(cls, text: object) -> FieldType:
        """Read ``string``, ``decimal(12,2)``...; ValueError saying what is allowed if not."""
        if isinstance(text, FieldType):
            return text
        shown = repr(text) if isinstance(text, str) else str(text)
        if not isinstance(text, str):
            raise ValueError(f"{shown} is not a type; {TYPE_HELP}")
        word = text.strip()
        if word in _SIMPLE_KINDS:
            return cls(cast(FieldKind, word))
        match = _DECIMAL_RE.fullmatch(word)
        if match is None and re.fullmatch(r"decimal\( *[0-9]+ *", word):
            raise ValueError(
                f"{shown} is not a type; inside {{...}} YAML splits at the comma: "
                "quote it, as in {type: 'decimal(12,2)'}"
            )
        if match is None:
            raise ValueError(f"{shown} is not a type; {TYPE_HELP}")
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= MAX_PRECISION:
            raise ValueError(f"{shown} is not a type; {TYPE_HELP}")
        if scale > precision:
            raise ValueError(
                f"{shown} is not a type; the scale s of decimal(p,s) must be between 0 and p"
            )
        return cls("decimal", precision, scale)

    def dtype(self) -> pl.DataType:
        column = Column("", self.kind, precision=self.precision, scale=self.scale or 0)
        return column.polars_dtype()


@dataclass(frozen=True)
class ParseOptions:
    """How text is read: separators, boolean words, date formats, the zone of naive times."""

    decimal_separator: str = "."
    thousands_separator: str | None = None
    true_values: tuple[str, ...] = DEFAULT_TRUE  # lower case
    false_values: tuple[str, ...] = DEFAULT_FALSE
    formats: tuple[str, ...] = ()  # empty: ISO 8601
    timezone: str = _UTC

    def canonical(self) -> ParseOptions:
        """The options for text Polars wrote itself ('.' decimals, ISO dates): zone kept."""
        return ParseOptions(timezone=self.timezone)


@dataclass(frozen=True)
class Cast:
    value: pl.Expr  # target dtype; null when empty or invalid
    problem: pl.Expr  # String: why the value is invalid, quoting it; null when fine
    #: When given, ``value`` is the first non-null of these (one per format, in order). Every
    #: format is tried on every row, a failing one costly (the ISO datetime list took 0.8 s
    #: for 200,000 rows): a caller may compute each only where the ones before it gave null.
    choices: tuple[pl.Expr, ...] = ()


def is_supported_dtype(dtype: pl.DataType) -> bool:
    """Source dtypes the mapping reads (nested and binary values are not)."""
    return not (dtype.is_nested() or isinstance(dtype, pl.Binary | pl.Object))


def is_text_dtype(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.String | pl.Null)


def quote(text: pl.Expr) -> pl.Expr:
    """``'value'`` for messages, cut after 100 characters."""
    short = (
        pl.when(text.str.len_chars() > _QUOTE_LIMIT)
        .then(pl.concat_str([text.str.slice(0, _QUOTE_LIMIT), pl.lit("…")]))
        .otherwise(text)
    )
    return pl.concat_str([pl.lit("'"), short, pl.lit("'")])


def _problem(bad: pl.Expr, shown: pl.Expr, reason: str) -> pl.Expr:
    return pl.when(bad).then(pl.concat_str([quote(shown), pl.lit(" " + reason)]))


def _first_problem(shown: pl.Expr, cases: Sequence[tuple[pl.Expr, str]]) -> pl.Expr:
    """The reason of the first true condition, else null."""
    expr: pl.Expr = pl.lit(None, pl.String)
    for bad, reason in reversed(cases):
        expr = (
            pl.when(bad).then(pl.concat_str([quote(shown), pl.lit(" " + reason)])).otherwise(expr)
        )
    return expr


# ---------------------------------------------------------------------------------- text


def cast_text(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    """Cast non-empty text (null = empty; already stripped for non-string kinds)."""
    builder = _TEXT_CASTS[ftype.kind]
    return builder(text, ftype, opts)


def _cast_string(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    return Cast(text, pl.lit(None, pl.String))


def _cast_json(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    # json_path_match("$") re-reads the text with Polars' JSON parser: null when it is not one
    # JSON document (it also answers null for the document `null`, hence the second test).
    valid = text.str.json_path_match("$").is_not_null() | (
        text.str.strip_chars(_JSON_WHITESPACE) == "null"
    )
    value = pl.when(valid).then(text)
    return Cast(value, _problem(text.is_not_null() & ~valid, text, "is not valid JSON"))


def _char_class(char: str) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" for c in char)


def _number_pattern(opts: ParseOptions, *, exponent: bool) -> str:
    dec = _char_class(opts.decimal_separator)
    digits = "[0-9]+"
    if opts.thousands_separator:
        sep = _char_class(opts.thousands_separator)
        digits = f"(?:[0-9]{{1,3}}(?:{sep}[0-9]{{3}})+|[0-9]+)"
    exp = "(?:[eE][+-]?[0-9]+)?" if exponent else ""
    return f"^[+-]?(?:{digits}(?:{dec}[0-9]*)?|{dec}[0-9]+){exp}$"


def _normalise_number(text: pl.Expr, opts: ParseOptions) -> pl.Expr:
    out = text
    if opts.thousands_separator:
        out = out.str.replace_all(opts.thousands_separator, "", literal=True)
    if opts.decimal_separator != ".":
        out = out.str.replace(opts.decimal_separator, ".", literal=True)
    return out


def _plain_numbers(opts: ParseOptions) -> bool:
    """True when numbers need no normalising: no thousands separator, '.' for decimals."""
    return opts.thousands_separator is None and opts.decimal_separator == "."


def _cast_integer(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    number = _normalise_number(text, opts)
    whole = number.str.contains(r"^[+-]?[0-9]+(?:\.0*)?$")
    if not _plain_numbers(opts):
        whole = text.str.contains(_number_pattern(opts, exponent=False)) & whole
    # For speed: only values with a '.' need the regex replace (a whole number's '.0*' tail);
    # a branch whose condition is false on every row is not evaluated.
    digits = (
        pl.when(number.str.contains(".", literal=True))
        .then(number.str.replace(r"\.0*$", ""))
        .otherwise(number)
    )
    value = pl.when(whole).then(digits.str.to_integer(strict=False))
    problem = _first_problem(
        text,
        [
            (text.is_not_null() & ~whole.fill_null(False), "is not an integer"),
            (text.is_not_null() & value.is_null(), "is out of range for integer"),
        ],
    )
    return Cast(value, problem)


def _cast_decimal(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    scale = ftype.scale or 0
    syntax = text.str.contains(_number_pattern(opts, exponent=False))
    # More than `scale` decimals once trailing zeros are dropped: a non-zero digit after the
    # first `scale` ones. One regex test on the text, for speed (extracting the decimals from
    # the normalised number took seven times as long). The value and the reasons look at it
    # only when `syntax` holds, and then the digits after the text's one decimal separator are
    # the number's decimals.
    dec = _char_class(opts.decimal_separator)
    too_many = text.str.contains(f"{dec}[0-9]{{{scale}}}[0-9]*[1-9][0-9]*$").fill_null(False)
    number = _normalise_number(text, opts)
    value = pl.when(syntax & ~too_many).then(number.cast(ftype.dtype(), strict=False))
    problem = _first_problem(
        text,
        [
            (text.is_not_null() & ~syntax.fill_null(False), f"is not a {ftype}"),
            (text.is_not_null() & too_many, f"has more than {scale} decimals for {ftype}"),
            (text.is_not_null() & value.is_null(), f"is out of range for {ftype}"),
        ],
    )
    return Cast(value, problem)


def _cast_float(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    syntax = text.str.contains(_number_pattern(opts, exponent=True))
    number = _normalise_number(text, opts).cast(pl.Float64, strict=False)
    finite = number.is_finite().fill_null(False)
    value = pl.when(syntax & finite).then(number)
    problem = _first_problem(
        text,
        [
            (text.is_not_null() & ~syntax.fill_null(False), "is not a float"),
            (text.is_not_null() & ~finite, "is out of range for float"),
        ],
    )
    return Cast(value, problem)


def _cast_boolean(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    # One lookup of the lower-cased text (a word in both lists is true, as listed first).
    words = {word: False for word in opts.false_values} | {word: True for word in opts.true_values}
    value = text.str.to_lowercase().replace_strict(
        list(words), list(words.values()), default=None, return_dtype=pl.Boolean
    )
    shown = f"{', '.join(opts.true_values)} / {', '.join(opts.false_values)}"
    return Cast(
        value, _problem(text.is_not_null() & value.is_null(), text, f"is not a boolean ({shown})")
    )


def _format_reason(kind: str, formats: Sequence[str]) -> str:
    if not formats:
        return f"is not an ISO 8601 {kind}"
    if len(formats) == 1:
        return f"is not a {kind} in format {formats[0]}"
    return f"is not a {kind} in any of the formats {', '.join(formats)}"


# _CACHE_NOTE: Polars' parse cache (on by default) is a matter of speed only. It cost twice the
# time on the benchmark's shuffled dates and a fifth more on mostly distinct times, but made
# failing formats eight times cheaper on dates in date order. So it is off for the first
# format, which most values match, and on for the later ones, which mostly fail.


def _cast_date(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    formats = opts.formats or (ISO_DATE_FORMAT,)
    choices = [text.str.to_date(f, strict=False, cache=i > 0) for i, f in enumerate(formats)]
    value = pl.coalesce(choices)
    reason = _format_reason("date", opts.formats)
    problem = _problem(text.is_not_null() & value.is_null(), text, reason)
    return Cast(value, problem, tuple(choices) if len(choices) > 1 else ())


def _has_offset(fmt: str) -> bool:
    """True when values read with ``fmt`` carry their own offset (or are UTC by definition)."""
    plain = fmt.replace("%%", "")
    return bool(re.search(r"%[:#]*z|%s", plain)) or (
        plain.endswith("Z") and not plain.endswith("%Z")
    )


def _localise(naive: pl.Expr, zone: str) -> pl.Expr:
    """Naive wall times in ``zone`` to UTC; ambiguous (fall back) -> the earlier instant, as
    PostgreSQL does; non-existent (spring forward gap) -> null, reported by the caller."""
    if zone == _UTC:
        return naive.dt.replace_time_zone(_UTC)
    return naive.dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone(_UTC)


def _parse_datetime(
    text: pl.Expr, fmt: str, zone: str, cache: bool
) -> tuple[pl.Expr, pl.Expr | None]:
    """(UTC value, naive value or None when the format has an offset). ``cache``: see
    ``_CACHE_NOTE``."""
    if _has_offset(fmt):
        if re.search(r"%[:#]*z", fmt) is None:  # epoch seconds or a literal Z: UTC
            naive = text.str.to_datetime(fmt, time_unit="us", strict=False, cache=cache)
            return naive.dt.replace_time_zone(_UTC), None
        aware = text.str.to_datetime(fmt, time_unit="us", time_zone=_UTC, strict=False, cache=cache)
        return aware, None
    naive = text.str.to_datetime(fmt, time_unit="us", strict=False, cache=cache)
    return _localise(naive, zone), naive


def _cast_datetime(text: pl.Expr, ftype: FieldType, opts: ParseOptions) -> Cast:
    formats = opts.formats or ISO_DATETIME_FORMATS
    parsed = [_parse_datetime(text, f, opts.timezone, i > 0) for i, f in enumerate(formats)]
    value = pl.coalesce([p[0] for p in parsed])
    naives = [p[1] for p in parsed if p[1] is not None]
    gap: pl.Expr = pl.lit(False)
    if naives and opts.timezone != _UTC:
        gap = value.is_null() & pl.coalesce(naives).is_not_null()
    problem = _first_problem(
        text,
        [
            (gap, f"does not exist in {opts.timezone} (skipped by a daylight saving change)"),
            (text.is_not_null() & value.is_null(), _format_reason("datetime", opts.formats)),
        ],
    )
    return Cast(value, problem, tuple(p[0] for p in parsed) if len(parsed) > 1 else ())


_TEXT_CASTS = {
    "string": _cast_string,
    "json": _cast_json,
    "integer": _cast_integer,
    "decimal": _cast_decimal,
    "float": _cast_float,
    "boolean": _cast_boolean,
    "date": _cast_date,
    "datetime": _cast_datetime,
}


# --------------------------------------------------------------------------------- typed


def _family(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "int"
    if dtype.is_float():
        return "float"
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    if isinstance(dtype, pl.Boolean):
        return "bool"
    if isinstance(dtype, pl.Date):
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "other"


def _aware(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Datetime) and dtype.time_zone is not None


def text_form(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The text a typed value stands for: whole floats without '.0', ISO dates and times."""
    family = _family(dtype)
    if family == "float":
        whole = value.is_finite() & (value.round(0) == value) & (value.abs() < 2.0**53)
        return (
            pl.when(whole)
            .then(value.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(value.cast(pl.String))
        )
    if family == "date":
        return value.dt.to_string(ISO_DATE_FORMAT)
    if family == "datetime":
        offset = "%:z" if _aware(dtype) else ""
        return value.dt.to_string(f"%Y-%m-%dT%H:%M:%S%.f{offset}")
    return value.cast(pl.String)


def json_text_form(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """JSON text for a typed value: numbers and booleans as such, dates as JSON strings."""
    if _family(dtype) in ("date", "datetime"):
        return pl.concat_str([pl.lit('"'), text_form(value, dtype), pl.lit('"')])
    return text_form(value, dtype)


def cast_typed(value: pl.Expr, dtype: pl.DataType, ftype: FieldType, opts: ParseOptions) -> Cast:
    """Cast a typed source value (null = empty) to ``ftype``."""
    family = _family(dtype)
    direct = _direct_cast(value, dtype, family, ftype, opts)
    if direct is not None:
        return direct
    text = text_form(value, dtype)
    return cast_text(text, ftype, opts.canonical())


def _direct_cast(
    value: pl.Expr, dtype: pl.DataType, family: str, ftype: FieldType, opts: ParseOptions
) -> Cast | None:
    shown = text_form(value, dtype)
    kind = ftype.kind
    present = value.is_not_null()
    if kind == "integer" and family == "int":
        out = value.cast(pl.Int64, strict=False)
        return Cast(out, _problem(present & out.is_null(), shown, "is out of range for integer"))
    if kind == "integer" and family == "float":
        whole = value.is_finite() & (value.round(0) == value) & (value.abs() < 2.0**63)
        out = pl.when(whole).then(value.cast(pl.Int64, strict=False))
        return Cast(out, _problem(present & out.is_null(), shown, "is not an integer"))
    if kind == "decimal" and family in ("int", "float"):
        finite = value.cast(pl.Float64).is_finite()
        rounded = value.round(ftype.scale or 0) if family == "float" else value
        out = pl.when(finite).then(rounded.cast(ftype.dtype(), strict=False))
        problem = _first_problem(
            shown,
            [
                (present & ~finite, f"is not a {ftype}"),
                (present & out.is_null(), f"is out of range for {ftype}"),
            ],
        )
        return Cast(out, problem)
    if kind == "float" and family in ("int", "float", "decimal"):
        number = value.cast(pl.Float64, strict=False)
        out = pl.when(number.is_finite()).then(number)
        return Cast(out, _problem(present & out.is_null(), shown, "is not a float"))
    if kind == "boolean" and family == "bool":
        return Cast(value, pl.lit(None, pl.String))
    if kind == "date" and family == "date":
        return Cast(value, pl.lit(None, pl.String))
    if kind == "date" and family == "datetime":
        return Cast(value.dt.date(), pl.lit(None, pl.String))
    if kind == "datetime" and family in ("date", "datetime"):
        return _typed_datetime(value, dtype, shown, opts.timezone)
    return None


def _typed_datetime(value: pl.Expr, dtype: pl.DataType, shown: pl.Expr, zone: str) -> Cast:
    if _aware(dtype):
        out = value.dt.convert_time_zone(_UTC).dt.cast_time_unit("us")
        return Cast(out, pl.lit(None, pl.String))
    naive = value.cast(pl.Datetime("us"))
    out = _localise(naive, zone)
    reason = f"does not exist in {zone} (skipped by a daylight saving change)"
    return Cast(out, _problem(value.is_not_null() & out.is_null(), shown, reason))


# ------------------------------------------------------------------- spec-time helpers


def _evaluate(expr: pl.Expr) -> object:
    return pl.select(expr.alias("v")).item()


def format_problem(fmt: str, kind: FieldKind) -> str | None:
    """Why ``fmt`` cannot read dates (or datetimes), or None when it can."""
    sample = datetime(2024, 1, 31, 13, 45, 56)
    try:
        # %#z only parses; write the same offset as %:z for the round trip
        written = pl.lit(sample, pl.Datetime("us", _UTC)).dt.to_string(fmt.replace("%#z", "%:z"))
        if kind == "date":
            back = _evaluate(written.str.to_date(fmt, strict=False))
        else:
            back = _evaluate(written.str.to_datetime(fmt, time_unit="us", strict=False).dt.date())
    except pl.exceptions.PolarsError:
        return f"{fmt!r} is not a valid {kind} format (strftime directives such as %Y-%m-%d)"
    if back != sample.date():
        return f"{fmt!r} does not give a full {kind}: it needs the year, month and day"
    return None


def timezone_problem(zone: str) -> str | None:
    try:
        pl.lit(None, pl.Datetime("us")).dt.replace_time_zone(zone)
    except pl.exceptions.PolarsError:
        return f"{zone!r} is not a time zone; use an IANA name such as Europe/Berlin or UTC"
    return None


def _default_text(raw: object, kind: FieldKind) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    if isinstance(raw, list | dict):
        if kind != "json":
            raise ValueError(f"a list or mapping default fits only a json field, not {kind}")
        return json.dumps(raw, ensure_ascii=False)
    if isinstance(raw, int | float | Decimal | str):
        return str(raw)
    raise ValueError(f"{raw!r} cannot be a default")


def parse_value(raw: object, ftype: FieldType, opts: ParseOptions) -> object:
    """The typed value of a value written in the mapping (a default, a bound, an allowed value):
    read like a source value, else in canonical form (ISO dates, '.' decimals). ValueError says
    why it does not fit."""
    if isinstance(raw, bool) and ftype.kind == "boolean":
        return raw
    text = _default_text(raw, ftype.kind)
    if text == "":
        raise ValueError("'' is empty, which means no value")
    problem = ""
    for options in (opts, opts.canonical()):
        source = pl.lit(text if ftype.kind == "string" else text.strip(), pl.String)
        result = cast_text(source, ftype, options)
        row = pl.select(result.value.alias("v"), result.problem.alias("p")).row(0)
        if row[1] is None:
            return row[0]
        problem = str(row[1])
    raise ValueError(problem)
