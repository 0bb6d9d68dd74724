"""Compile a mapping spec to Polars expressions and apply it to reader batches.

``apply`` builds one lazy plan per batch (the expressions depend on the batch's dtypes: xlsx and
json columns arrive typed) and collects it once: one ``select`` for the source fields, two
``with_columns`` per expr field, one for the error text. No Python runs per row.

Per field, in order: read the source column (absent: null); text values (and typed values
bound for a string field) go through the transforms; empty (null, or "" after transforms;
whitespace-only too for non-string types) takes the default; the value is cast; then
``required`` and the checks. Every problem of a row goes into ``_error`` as
``<field> (<source column>): <reason>`` joined by "; "; a row with any problem is rejected with
its original source values.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from conveyor.errors import MappingError
from conveyor.mapping.checks import compile_checks
from conveyor.mapping.spec import FieldSpec, MappingSpec
from conveyor.mapping.transforms import apply_transforms
from conveyor.mapping.types import (
    FieldType,
    ParseOptions,
    cast_text,
    cast_typed,
    is_supported_dtype,
    is_text_dtype,
    json_text_form,
    parse_value,
    text_form,
)
from conveyor.schema import (
    INTERNAL_COLUMNS,
    REJECT_ERROR,
    ROW_COL,
    SEQ_COL,
    SHEET_COL,
    Column,
    TableSchema,
)

__all__ = ["CompiledMapping", "MappedBatch", "compile_mapping"]

_INTERNAL_DTYPES: dict[str, pl.DataType] = {
    ROW_COL: pl.Int64(),
    SHEET_COL: pl.String(),
    SEQ_COL: pl.Int64(),
}
_STRICT_FORMATS = ("csv", "xlsx")  # formats whose columns are all known from the header
_ERROR = "\x00error"  # work columns: names no source column or target field can have


@dataclass(frozen=True)
class MappedBatch:
    good: pl.DataFrame  # target columns (schema dtypes) + __row, __sheet, __seq
    rejects: pl.DataFrame  # original source columns + __row, __sheet, __seq + _error


@dataclass(frozen=True)
class _Plan:
    """What a field needs at apply time, computed once."""

    name: str
    label: str  # "amount (Amount)" or "full_name (expr)"
    rule: FieldSpec
    source: str | None  # None for an expr field
    ftype: FieldType
    opts: ParseOptions
    default: object  # typed default, or None
    required: bool

    def problem_names(self) -> list[str]:
        count = 2 + len(self.rule.checks.given())
        return [f"\x00p:{self.name}:{i}" for i in range(count)]


def _plan(spec: MappingSpec, name: str) -> _Plan:
    rule = spec.fields[name]
    opts = rule.parse_options()
    source = spec.source_column(name)
    default = parse_value(rule.default, rule.type, opts) if rule.default is not None else None
    return _Plan(
        name=name,
        label=f"{name} ({source if source is not None else 'expr'})",
        rule=rule,
        source=source,
        ftype=rule.type,
        opts=opts,
        default=default,
        required=rule.required or name in spec.target.key,
    )


def _text_of(plan: _Plan, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The text a field reads, transformed; null when empty."""
    kind = plan.ftype.kind
    if is_text_dtype(dtype):
        text = raw.cast(pl.String)
    else:
        text = json_text_form(raw, dtype) if kind == "json" else text_form(raw, dtype)
    if is_text_dtype(dtype) or kind == "string":  # a typed value bound for json: as it is
        text = apply_transforms(text, plan.rule.transforms)
    if kind != "string":
        text = text.str.strip_chars()
    return pl.when(text != "").then(text).otherwise(None)


def _field_exprs(plan: _Plan, raw: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, list[pl.Expr]]:
    """(typed value, problem texts) of one field read from ``raw`` of ``dtype``."""
    shown: pl.Expr
    if is_text_dtype(dtype) or plan.ftype.kind in ("string", "json"):
        text = _text_of(plan, raw, dtype)
        cast = cast_text(text, plan.ftype, plan.opts)
        empty, shown = text.is_null(), text
    else:  # typed value, typed target: cast directly; text transforms do not apply
        cast = cast_typed(raw, dtype, plan.ftype, plan.opts)
        empty, shown = raw.is_null(), text_form(raw, dtype)
    value: pl.Expr = cast.value
    if plan.default is not None:
        default = pl.lit(plan.default, plan.ftype.dtype())
        value = pl.when(empty).then(default).otherwise(value)
        shown = pl.when(empty).then(text_form(default, plan.ftype.dtype())).otherwise(shown)
    value = value.cast(plan.ftype.dtype())
    problems = [cast.problem]
    if plan.required and plan.default is None:
        problems.append(pl.when(empty).then(pl.lit("required but empty")))
    else:
        problems.append(pl.lit(None, pl.String))
    problems += compile_checks(value, shown, plan.rule.checks, plan.ftype, plan.opts)
    prefix = pl.lit(plan.label + ": ")
    return value, [pl.concat_str([prefix, p]) for p in problems]


class CompiledMapping:
    """A mapping ready to apply to reader batches."""

    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self._plans = [_plan(spec, name) for name in spec.fields]
        self.schema = TableSchema(
            name=spec.target.table,
            columns=tuple(self._column(p) for p in self._plans),
            key=tuple(spec.target.key),
        )

    def _column(self, plan: _Plan) -> Column:
        return Column(
            name=plan.name,
            kind=plan.ftype.kind,
            precision=plan.ftype.precision,
            scale=plan.ftype.scale,
            max_length=plan.rule.checks.max_length if plan.ftype.kind == "string" else None,
            nullable=plan.name not in self.spec.target.key,
        )

    @property
    def _label(self) -> str:
        return f"mapping {self.spec.name!r}" if self.spec.name else "the mapping"

    def source_columns(self) -> list[str]:
        """The source columns read (a dotted ``from`` names the flattened column), in field
        order, each once."""
        columns = [p.source for p in self._plans if p.source is not None]
        return list(dict.fromkeys(columns))

    def check_columns(self, available: Sequence[str], fmt: str, source: str | None = None) -> None:
        """For csv/xlsx, raise MappingError when a mapped column is not in the file (json and
        xml records may omit keys: an absent column reads as null)."""
        if fmt not in _STRICT_FORMATS:
            return
        present = [c for c in available if c not in INTERNAL_COLUMNS]
        missing = [c for c in self.source_columns() if c not in present]
        if not missing:
            return
        where = f"{source}: " if source else ""
        lines = [
            f"{where}column {c!r} (for {self._fields_of(c)}) of {self._label} is not in the file"
            + _suggest(c, present)
            for c in missing
        ]
        lines.append(f"{where}the file's columns: {', '.join(repr(c) for c in present)}")
        raise MappingError("\n".join(lines))

    def _fields_of(self, column: str) -> str:
        names = [p.name for p in self._plans if p.source == column]
        return ("field " if len(names) == 1 else "fields ") + ", ".join(names)

    def apply(self, frame: pl.DataFrame) -> MappedBatch:
        """Map one reader batch: good rows typed, the rest rejected with every reason."""
        schema = frame.schema
        exprs: list[pl.Expr] = []
        for plan in self._plans:
            if plan.source is None:
                continue
            dtype = schema.get(plan.source)
            if dtype is not None and not is_supported_dtype(dtype):
                raise MappingError(
                    f"{self._label}: column {plan.source!r} holds {dtype} values; field "
                    f"{plan.name!r} needs plain values (flatten nested data in the source)"
                )
            raw = pl.col(plan.source) if dtype is not None else pl.lit(None, pl.String)
            value, problems = _field_exprs(plan, raw, dtype or pl.String())
            exprs.append(value.alias(plan.name))
            exprs += [p.alias(n) for p, n in zip(problems, plan.problem_names(), strict=True)]
        for col, dtype in _INTERNAL_DTYPES.items():
            exprs.append(
                pl.col(col).cast(dtype) if col in schema else pl.lit(None, dtype).alias(col)
            )
        work = frame.lazy().select(exprs)
        work = self._expr_fields(work)
        problem_cols = [n for p in self._plans for n in p.problem_names()]
        joined = pl.concat_str([pl.col(n) for n in problem_cols], separator="; ", ignore_nulls=True)
        work = work.with_columns(pl.when(joined != "").then(joined).alias(_ERROR))
        try:
            result = work.collect()
        except pl.exceptions.PolarsError as exc:
            raise MappingError(
                f"{self._label} cannot be applied: {str(exc).splitlines()[0]}"
            ) from exc
        return self._split(frame, result)

    def _expr_fields(self, work: pl.LazyFrame) -> pl.LazyFrame:
        for plan in self._plans:
            if plan.rule.expr is None:
                continue
            raw_name = f"\x00raw:{plan.name}"
            work = work.with_columns(pl.sql_expr(plan.rule.expr).alias(raw_name))
            dtype = work.collect_schema()[raw_name]
            value, problems = _field_exprs(plan, pl.col(raw_name), dtype)
            named = [p.alias(n) for p, n in zip(problems, plan.problem_names(), strict=True)]
            work = work.with_columns(value.alias(plan.name), *named).drop(raw_name)
        return work

    def _split(self, frame: pl.DataFrame, result: pl.DataFrame) -> MappedBatch:
        ok = result.get_column(_ERROR).is_null()
        good = result.filter(ok).select(*(p.name for p in self._plans), *_INTERNAL_DTYPES)
        errors = result.filter(~ok).get_column(_ERROR).alias(REJECT_ERROR)
        originals = [c for c in frame.columns if c not in _INTERNAL_DTYPES and c != REJECT_ERROR]
        internals = [
            pl.col(c).cast(t) if c in frame.schema else pl.lit(None, t).alias(c)
            for c, t in _INTERNAL_DTYPES.items()
        ]
        rejects = frame.filter(~ok).select(*originals, *internals).with_columns(errors)
        return MappedBatch(good=good, rejects=rejects)


def _suggest(column: str, available: list[str]) -> str:
    lowered = {c.lower(): c for c in available}
    if column.lower() in lowered:
        return f"; did you mean {lowered[column.lower()]!r}?"
    close = difflib.get_close_matches(column.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def compile_mapping(spec: MappingSpec) -> CompiledMapping:
    """Prepare ``spec`` for ``apply``; the spec is already validated."""
    return CompiledMapping(spec)
