"""A field's Polars expressions for one source dtype: its text, typed value, problem flag and
reasons. ``program.py`` runs them in stages; see there why each is materialised apart."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from conveyor.mapping.checks import check_tests, compile_checks
from conveyor.mapping.spec import FieldSpec, MappingSpec
from conveyor.mapping.transforms import apply_transforms
from conveyor.mapping.types import (
    FieldType,
    ParseOptions,
    cast_text,
    cast_typed,
    is_text_dtype,
    json_text_form,
    parse_value,
    text_form,
)

__all__ = ["FieldExprs", "FieldPlan", "field_exprs", "plan_field"]

# Work columns: names no source column or target field can have.
_TEXT = "\x00text:"
_SOURCE = "\x00source:"
_PARSED = "\x00parsed:"


@dataclass(frozen=True)
class FieldPlan:
    """What a field needs at apply time, computed once."""

    name: str
    label: str  # "amount (Amount)" or "full_name (expr)"
    rule: FieldSpec
    source: str | None  # None for an expr field
    ftype: FieldType
    opts: ParseOptions
    default: object  # typed default, or None
    required: bool


def plan_field(spec: MappingSpec, name: str) -> FieldPlan:
    rule = spec.fields[name]
    opts = rule.parse_options()
    source = spec.source_column(name)
    default = parse_value(rule.default, rule.type, opts) if rule.default is not None else None
    return FieldPlan(
        name=name,
        label=f"{name} ({source if source is not None else 'expr'})",
        rule=rule,
        source=source,
        ftype=rule.type,
        opts=opts,
        default=default,
        required=rule.required or name in spec.target.key,
    )


@dataclass(frozen=True)
class FieldExprs:
    """One field's expressions: ``inputs`` are materialised before ``value`` reads them."""

    inputs: list[pl.Expr]
    value: pl.Expr  # aliased to the field's name
    flag: pl.Expr  # Boolean: true for every row with a problem in this field (and maybe more)
    problems: list[pl.Expr]  # "<label>: <reason>" or null; evaluated on flagged rows only
    # A date or datetime with several formats: `value` reads column `parsed`, which `_parse`
    # fills from `choices`, in order, where `unparsed` (still null, text present).
    choices: tuple[pl.Expr, ...] = ()
    parsed: str = ""
    unparsed: pl.Expr | None = None


def _text_of(plan: FieldPlan, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
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
    return text.replace("", None)  # reads `text` once: a when/then would compute it twice


def field_exprs(plan: FieldPlan, raw: pl.Expr, dtype: pl.DataType) -> FieldExprs:
    """The expressions of one field read from ``raw`` of ``dtype``."""
    shown: pl.Expr
    if is_text_dtype(dtype) or plan.ftype.kind in ("string", "json"):
        inputs = [_text_of(plan, raw, dtype).alias(_TEXT + plan.name)]
        text = pl.col(_TEXT + plan.name)
        cast = cast_text(text, plan.ftype, plan.opts)
        empty, shown = text.is_null(), text
    else:  # typed value, typed target: cast directly; text transforms do not apply
        inputs = [raw.alias(_SOURCE + plan.name)]
        source = pl.col(_SOURCE + plan.name)
        cast = cast_typed(source, dtype, plan.ftype, plan.opts)
        empty, shown = source.is_null(), text_form(source, dtype)
    value: pl.Expr = pl.col(_PARSED + plan.name) if cast.choices else cast.value
    if plan.default is not None:
        default = pl.lit(plan.default, plan.ftype.dtype())
        value = pl.when(empty).then(default).otherwise(value)
        shown = pl.when(empty).then(text_form(default, plan.ftype.dtype())).otherwise(shown)
    tests, problems = _problems(plan, cast.problem, empty, shown)
    return FieldExprs(
        inputs=inputs,
        value=value.cast(plan.ftype.dtype()).alias(plan.name),
        flag=pl.any_horizontal(tests).fill_null(False),
        problems=problems,
        choices=cast.choices,
        parsed=_PARSED + plan.name,
        unparsed=pl.col(_PARSED + plan.name).is_null() & ~empty,
    )


def _problems(
    plan: FieldPlan, cast_problem: pl.Expr, empty: pl.Expr, shown: pl.Expr
) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """(cheap tests true on every row with a problem, the labelled reasons) of a field."""
    typed = pl.col(plan.name)  # the materialised value: checks read it, not recompute it
    checks, ftype, opts = plan.rule.checks, plan.ftype, plan.opts
    needs_value = plan.required and plan.default is None
    # A cast that reports a problem leaves the (present) value null.
    tests = [~empty & typed.is_null(), *check_tests(typed, checks, ftype, opts)]
    reasons = [cast_problem, *compile_checks(typed, shown, checks, ftype, opts)]
    if needs_value:
        tests.append(empty)
        reasons.insert(1, pl.when(empty).then(pl.lit("required but empty")))
    prefix = pl.lit(plan.label + ": ")
    return tests, [pl.concat_str([prefix, r]) for r in reasons]
