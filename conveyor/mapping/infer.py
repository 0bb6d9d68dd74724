"""Conservative type inference and the identity mapping, for importing a file without a mapping.

A column gets a type other than ``string`` only when every non-empty value seen parses as that
type (see ``TypeInferrer``). Source column names become snake_case target names. The mapping is
returned as a plain dict in the YAML format of the mapping spec.

Decisions where the rules leave a choice:

- Whole numbers that do not fit int64 make the column ``decimal(p,0)`` (exact, and the same
  widening that mixing integers with decimals gets); beyond 38 digits the column is ``string``.
- A decimal literal needs digits on both sides of the point (``.5`` and ``5.`` stay text) and
  no leading zero before them (``00.11`` is a code, like ``007``); ``0.5`` is a decimal.
- Values are not trimmed: `` 12`` is not an integer, because the identity mapping has no
  ``strip`` transform and the cast would reject it.
- Mixing across batches: integer with decimal gives decimal; integer with float (typed JSON or
  XLSX numbers) gives float when every integer has at most 15 digits (exact in a double), else
  string; any other mix (date with datetime, decimal with float, ...) gives string.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from conveyor.schema import REJECT_ERROR, REJECT_ROW

__all__ = [
    "EXCLUDED_COLUMNS",
    "TypeInferrer",
    "identity_mapping",
    "snake_case",
    "target_names",
]

#: Source columns left out of an identity mapping: the columns a rejects file adds.
EXCLUDED_COLUMNS = frozenset({REJECT_ROW, REJECT_ERROR})

_MAX_PRECISION = 38
_EXACT_FLOAT_DIGITS = 15  # every integer of up to 15 digits is exact in a double
_MAX_IDENTIFIER = 63  # PostgreSQL's identifier limit (bytes; names here are ASCII)
# Latin letters that Unicode decomposition leaves whole; without this "Straße" gives "strae".
_UNDECOMPOSED = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "þ": "th", "ð": "d"}
)

# [0-9], not \d: the regex engine's \d also matches other scripts' digits.
_INTEGER = r"^[+-]?(?:0|[1-9][0-9]*)$"
_DECIMAL = r"^[+-]?(?:0|[1-9][0-9]*)\.[0-9]+$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
_DATETIME = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{_TIME}{_OFFSET}?$"

_INTEGER_DTYPES = (
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
)


@dataclass
class _ColumnState:
    """What one column has shown so far: the classes of its non-empty values and number sizes."""

    classes: set[str] = field(default_factory=set)  # int, dec, float, bool, date, datetime, other
    int_digits: int = 0  # most digits before the point (integers and decimals)
    scale: int = 0  # most digits after the point (decimals)
    overflow: bool = False  # a whole number outside int64

    def result(self) -> str:
        classes = self.classes
        if not classes or "other" in classes:
            return "string"
        if classes == {"int"} and not self.overflow:
            return "integer"
        if classes <= {"int", "dec"}:
            precision = self.int_digits + self.scale
            return f"decimal({precision},{self.scale})" if precision <= _MAX_PRECISION else "string"
        if classes == {"int", "float"}:
            return "float" if self.int_digits <= _EXACT_FLOAT_DIGITS else "string"
        if len(classes) == 1:
            return _KIND_OF_CLASS[next(iter(classes))]
        return "string"


_KIND_OF_CLASS = {
    "float": "float",
    "bool": "boolean",
    "date": "date",
    "datetime": "datetime",
}


class TypeInferrer:
    """Feed every reader batch to ``update``; ``result`` gives each source column's type.

    Only per-column state is kept, so a whole-file pass runs in flat memory.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._states = {c: _ColumnState() for c in self.columns}

    def update(self, frame: pl.DataFrame) -> None:
        text_columns: list[str] = []
        schema = frame.schema  # once: a Polars schema lookup builds it anew each time
        for name in self.columns:
            state = self._states[name]
            if name not in schema or "other" in state.classes:
                continue  # nothing to learn: absent here, or already text
            dtype = schema[name]
            if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
                text_columns.append(name)
            else:
                _observe_typed(state, frame.get_column(name))
        if text_columns:
            self._observe_text(frame, text_columns)

    def result(self) -> dict[str, str]:
        return {name: self._states[name].result() for name in self.columns}

    def _observe_text(self, frame: pl.DataFrame, names: list[str]) -> None:
        stats = frame.select(
            expr for i, name in enumerate(names) for expr in _text_stats(name, f"{i}_")
        ).row(0)
        width = len(stats) // len(names)
        for i, name in enumerate(names):
            _apply_text_stats(self._states[name], stats[i * width : (i + 1) * width])


def _text_stats(name: str, prefix: str) -> list[pl.Expr]:
    """One-row aggregates over a text column: which classes occur and the number sizes."""
    value = pl.col(name).cast(pl.String)
    present = value.is_not_null() & (value != "")
    is_int = value.str.contains(_INTEGER)
    is_dec = value.str.contains(_DECIMAL)
    is_bool = value.str.to_lowercase().is_in(["true", "false"])
    is_date = value.str.contains(_DATE) & _valid_date(value)
    is_datetime = value.str.contains(_DATETIME) & _valid_date(value.str.slice(0, 10))
    known = is_int | is_dec | is_bool | is_date | is_datetime
    int_digits = value.str.extract(r"^[+-]?([0-9]+)").str.len_chars()
    scale = value.str.extract(r"\.([0-9]+)$").str.len_chars()
    fits = value.cast(pl.Int64, strict=False).is_not_null()
    exprs = [
        (present & is_int).any(),
        (present & is_dec).any(),
        (present & is_bool).any(),
        (present & is_date).any(),
        (present & is_datetime).any(),
        (present & ~known).any(),
        int_digits.filter(present & (is_int | is_dec)).max().fill_null(0),
        scale.filter(present & is_dec).max().fill_null(0),
        (present & is_int & ~fits).any(),
    ]
    return [e.alias(f"{prefix}{j}") for j, e in enumerate(exprs)]


def _valid_date(text: pl.Expr) -> pl.Expr:
    parsed = text.str.to_date("%Y-%m-%d", strict=False)
    return parsed.is_not_null() & (parsed.dt.year() >= 1)


def _apply_text_stats(state: _ColumnState, stats: Sequence[Any]) -> None:
    has_int, has_dec, has_bool, has_date, has_datetime, has_other = stats[:6]
    int_digits, scale, overflow = stats[6:]
    flags = zip(
        ("int", "dec", "bool", "date", "datetime", "other"),
        (has_int, has_dec, has_bool, has_date, has_datetime, has_other),
        strict=True,
    )
    state.classes.update(cls for cls, seen in flags if seen)
    state.int_digits = max(state.int_digits, int(int_digits))
    state.scale = max(state.scale, int(scale))
    state.overflow = state.overflow or bool(overflow)


def _observe_typed(state: _ColumnState, series: pl.Series) -> None:
    """A column the reader already typed (xlsx, json): its dtype says the class."""
    values = series.drop_nulls()
    if values.is_empty():
        return  # all empty (or a Null column): nothing learnt
    dtype = series.dtype
    if isinstance(dtype, _INTEGER_DTYPES):
        digits = values.cast(pl.String).str.strip_prefix("-").str.len_chars().max()
        state.classes.add("int")
        state.int_digits = max(state.int_digits, _as_int(digits))
        state.overflow = state.overflow or _as_int(values.max()) > 2**63 - 1
    elif isinstance(dtype, pl.Decimal):
        state.classes.add("dec")
        state.int_digits = max(state.int_digits, dtype.precision - dtype.scale)
        state.scale = max(state.scale, dtype.scale)
    elif isinstance(dtype, pl.Float32 | pl.Float64):
        state.classes.add("float")
    elif dtype == pl.Boolean:
        state.classes.add("bool")
    elif dtype == pl.Date:
        state.classes.add("date")
    elif isinstance(dtype, pl.Datetime):
        state.classes.add("datetime")
    else:  # times, durations, lists, structs, binary: no typed kind holds them
        state.classes.add("other")


def _as_int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) else 0


def snake_case(name: str) -> str:
    """``"E-mail Address"`` -> ``e_mail_address``, ``"FirstName"`` -> ``first_name``.

    Accents are folded and other non-ASCII characters dropped; a leading digit gets ``c_``.
    A name with no letter or digit left gives ``""`` (``target_names`` makes it ``column_N``).
    """
    decomposed = unicodedata.normalize("NFKD", name)
    unaccented = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = _split_words(unaccented).lower().translate(_UNDECOMPOSED)
    snake = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
    if snake[:1].isdigit():
        snake = f"c_{snake}"
    return snake[:_MAX_IDENTIFIER].rstrip("_")


def _split_words(text: str) -> str:
    """Mark word starts inside camelCase with ``_``: firstName, userID, HTTPServer, Ærø.

    Hand-written because ``re`` has no Unicode upper/lower-case classes.
    """
    out: list[str] = []
    for i, ch in enumerate(text):
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if ch.isupper() and (
            before.islower() or before.isdigit() or (before.isupper() and after.islower())
        ):
            out.append("_")
        out.append(ch)
    return "".join(out)


def target_names(columns: Sequence[str]) -> dict[str, str]:
    """Source column -> unique target name, in column order, rejects columns left out.

    A name used twice gets ``_2``, ``_3``...; names that are unique as they stand keep them.
    """
    included = [(i, c) for i, c in enumerate(columns, start=1) if c not in EXCLUDED_COLUMNS]
    bases = {c: snake_case(c) or f"column_{i}" for i, c in included}
    natural = set(bases.values())
    used: set[str] = set()
    names: dict[str, str] = {}
    for _, column in included:
        base = bases[column]
        name = base
        n = 2
        while name in used or (name != base and name in natural):
            suffix = f"_{n}"
            name = base[: _MAX_IDENTIFIER - len(suffix)] + suffix
            n += 1
        used.add(name)
        names[column] = name
    return names


def identity_mapping(
    columns: Sequence[str],
    types: dict[str, str],
    *,
    table: str,
    key: Sequence[str] = (),
    name: str | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A mapping (as the YAML dict) that imports every column as is, under snake_case names.

    ``types`` maps source columns to types (missing: string). ``key`` may name target or
    source columns; with a key the mode is upsert with dedupe ``last``, without it insert.
    """
    names = target_names(columns)
    target_key = _target_key(key, names)
    mapping: dict[str, Any] = {}
    if name is not None:
        mapping["name"] = name
    if source is not None:
        mapping["source"] = dict(source)
    target: dict[str, Any] = {"table": table}
    if target_key:
        target["key"] = target_key
        target["mode"] = "upsert"
        mapping["target"] = target
        mapping["dedupe"] = {"strategy": "last"}
    else:
        target["mode"] = "insert"
        mapping["target"] = target
    mapping["fields"] = {
        field_name: _field_rule(column, field_name, types.get(column, "string"))
        for column, field_name in names.items()
    }
    return mapping


def _field_rule(column: str, field_name: str, type_name: str) -> dict[str, str]:
    rule: dict[str, str] = {}
    if column != field_name:
        rule["from"] = column
    if type_name != "string":
        rule["type"] = type_name
    return rule


def _target_key(key: Sequence[str], names: dict[str, str]) -> list[str]:
    """Key entries as target names: target names first, then source column names."""
    targets = set(names.values())
    resolved: list[str] = []
    for entry in key:
        if entry in targets:
            field_name = entry
        elif entry in names:
            field_name = names[entry]
        else:
            listed = ", ".join(f"{t} (from {s!r})" if s != t else t for s, t in names.items())
            raise ValueError(f"key {entry!r} is not a column of this file; the columns: {listed}")
        if field_name not in resolved:
            resolved.append(field_name)
    return resolved
