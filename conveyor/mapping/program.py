"""How a compiled mapping runs a batch: its expressions for one source schema, and the stages.

The expressions depend on the batch's dtypes (xlsx and json columns arrive typed), so they are
built once per source schema (with the checks' bounds parsed) and reused for every batch with
that schema, instead of once per batch.

A batch goes through eager stages, each materialising its columns once so no later expression
recomputes them (an eager select does not share a sub-expression used twice: it computes it
twice):

1. per field, its text (transformed, stripped, null when empty) or a copy of its typed source;
   for a date or datetime with several formats, each format tried only on the rows the ones
   before it left unparsed (a failing format costs as much as a succeeding one);
2. per field, the typed value (default applied), under the field's name;
3. per expr field in order: its SQL expression over the fields, then its own text and value;
4. one Boolean per row: may it have a problem? (cheap tests on the values: nothing formatted);
5. only for those rows, the reject reasons: ``<field> (<source>): <reason>`` joined by "; ".

Reasons are texts quoting the value, costly to build; computing them for the few flagged rows
instead of every row is most of the speed. The flag is never false for a row with a problem (a
failed cast leaves a present value null; a check's reason needs its test true), and a flagged
row whose reasons all come out null is good, so the split is exactly that of the reasons.
"""

from __future__ import annotations

import polars as pl

from conveyor.mapping.fields import FieldExprs, FieldPlan, field_exprs
from conveyor.schema import REJECT_ERROR, ROW_COL, SEQ_COL, SHEET_COL

__all__ = ["INTERNAL_DTYPES", "Program"]

INTERNAL_DTYPES: dict[str, pl.DataType] = {
    ROW_COL: pl.Int64(),
    SHEET_COL: pl.String(),
    SEQ_COL: pl.Int64(),
}
# Work columns: names no source column or target field can have.
_RAW = "\x00raw:"
_FLAG = "\x00flag:"


class Program:
    """A mapping's expressions for one source schema, and how a batch runs through them."""

    def __init__(self, plans: list[FieldPlan], schema: pl.Schema) -> None:
        fields: dict[str, FieldExprs] = {}
        for plan in plans:
            if plan.source is not None:
                dtype = schema.get(plan.source)
                raw = pl.col(plan.source) if dtype is not None else pl.lit(None, pl.String)
                fields[plan.name] = field_exprs(plan, raw, dtype or pl.String())
        self._sourced = list(fields.values())
        self._inputs = [e for f in self._sourced for e in f.inputs] + [
            pl.col(c).cast(t) if c in schema else pl.lit(None, t).alias(c)
            for c, t in INTERNAL_DTYPES.items()
        ]
        self._values = [f.value for f in self._sourced]
        self._computed = self._expr_fields(plans, schema, fields)
        # One flag column per field, in field order, so the reasons keep the fields' order.
        self._flags = [fields[p.name].flag.alias(_FLAG + p.name) for p in plans]
        self._problems = [fields[p.name].problems for p in plans]
        self._outputs = [*(p.name for p in plans), *INTERNAL_DTYPES]

    def _expr_fields(
        self, plans: list[FieldPlan], schema: pl.Schema, fields: dict[str, FieldExprs]
    ) -> list[tuple[pl.Expr, FieldExprs]]:
        """Per expr field in order: its SQL expression (aliased) and what reads its result,
        also added to ``fields``. The result's dtype comes from the fields it reads."""
        work = pl.LazyFrame(schema=schema).select(self._inputs)
        work = _parsed_lazily(work, self._sourced).with_columns(self._values)
        out: list[tuple[pl.Expr, FieldExprs]] = []
        for plan in plans:
            if plan.rule.expr is None:
                continue
            sql = pl.sql_expr(plan.rule.expr).alias(_RAW + plan.name)
            work = work.with_columns(sql)
            dtype = work.collect_schema()[_RAW + plan.name]
            exprs = fields[plan.name] = field_exprs(plan, pl.col(_RAW + plan.name), dtype)
            work = _parsed_lazily(work.with_columns(*exprs.inputs), [exprs])
            work = work.with_columns(exprs.value)
            out.append((sql, exprs))
        return out

    def run(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(good rows: fields + internal columns, rejects: originals + internal + _error)."""
        work = _parse(frame.select(self._inputs), self._sourced).with_columns(self._values)
        for sql, exprs in self._computed:
            work = work.with_columns(sql).with_columns(*exprs.inputs)
            work = _parse(work, [exprs]).with_columns(exprs.value)
        flags = work.select(self._flags)  # a frame: the fields' tests run in parallel
        flagged = flags.select(pl.any_horizontal(pl.all())).to_series()
        if flagged.any():
            errors = self._errors(work.filter(flagged), flags.filter(flagged))
            rejected = flagged.scatter(flagged.arg_true().filter(errors.is_null()), False)
            errors = errors.drop_nulls()
        else:
            rejected, errors = flagged, pl.Series(REJECT_ERROR, [], pl.String)
        good = work.select(self._outputs)
        if errors.len():
            good = good.filter(~rejected)
        return good, _rejects(frame, rejected, errors)

    def _errors(self, work: pl.DataFrame, flags: pl.DataFrame) -> pl.Series:
        """The reasons of the flagged rows in ``work`` (null where there are none after all).

        Only the fields flagged on some of these rows are asked: the others' reasons are null
        on every one of them, and a smaller expression runs faster on a few rows."""
        problems = [
            problem
            for column, field_problems in zip(flags.iter_columns(), self._problems, strict=True)
            if column.any()
            for problem in field_problems
        ]
        joined = pl.concat_str(problems, separator="; ", ignore_nulls=True)
        return work.select(pl.when(joined != "").then(joined).alias(REJECT_ERROR)).to_series()


def _parse(work: pl.DataFrame, fields: list[FieldExprs]) -> pl.DataFrame:
    """Add the parsed column of each field with several formats: the first format on every
    row, each later one only on the rows the ones before left null. The same as trying them
    all on every row and taking the first non-null, much faster when most rows parse early."""
    several = [f for f in fields if f.choices]
    if not several:
        return work
    work = work.with_columns(f.choices[0].alias(f.parsed) for f in several)
    for field in several:
        assert field.unparsed is not None
        for choice in field.choices[1:]:
            todo = work.select(field.unparsed).to_series()
            if not todo.any():
                break
            if todo.all():
                work = work.with_columns(choice.alias(field.parsed))
                continue
            rows = work.select(set(choice.meta.root_names())).filter(todo)
            found = rows.select(choice).to_series()
            work = work.with_columns(work[field.parsed].scatter(todo.arg_true(), found))
    return work


def _parsed_lazily(work: pl.LazyFrame, fields: list[FieldExprs]) -> pl.LazyFrame:
    """``work`` with the parsed columns, for their dtypes only."""
    return work.with_columns(f.choices[0].alias(f.parsed) for f in fields if f.choices)


def _rejects(frame: pl.DataFrame, rejected: pl.Series, errors: pl.Series) -> pl.DataFrame:
    """The rejected rows as read (internal columns typed), with their reasons."""
    originals = [c for c in frame.columns if c not in INTERNAL_DTYPES and c != REJECT_ERROR]
    internals = [
        pl.col(c).cast(t) if c in frame.schema else pl.lit(None, t).alias(c)
        for c, t in INTERNAL_DTYPES.items()
    ]
    rows = frame.filter(rejected) if errors.len() else frame.clear()
    return rows.select(*originals, *internals).with_columns(errors)
