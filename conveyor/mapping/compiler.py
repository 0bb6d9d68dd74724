"""Compile a mapping spec to Polars expressions and apply it to reader batches.

Per field, in order: read the source column (absent: null); text values (and typed values
bound for a string field) go through the transforms; empty (null, or "" after transforms;
whitespace-only too for non-string types) takes the default; the value is cast; then
``required`` and the checks. Every problem of a row goes into ``_error`` as
``<field> (<source column>): <reason>`` joined by "; "; a row with any problem is rejected with
its original source values. No Python runs per row: ``program.py`` builds the expressions (once
per source schema) and runs the stages.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from conveyor.errors import MappingError
from conveyor.mapping.fields import FieldPlan, plan_field
from conveyor.mapping.program import Program
from conveyor.mapping.spec import MappingSpec
from conveyor.mapping.types import is_supported_dtype
from conveyor.schema import INTERNAL_COLUMNS, Column, TableSchema

__all__ = ["CompiledMapping", "MappedBatch", "compile_mapping"]

_STRICT_FORMATS = ("csv", "xlsx")  # formats whose columns are all known from the header
_PROGRAMS_KEPT = 16  # source schemas whose programs are kept (json batches may vary)


@dataclass(frozen=True)
class MappedBatch:
    good: pl.DataFrame  # target columns (schema dtypes) + __row, __sheet, __seq
    rejects: pl.DataFrame  # original source columns + __row, __sheet, __seq + _error


class CompiledMapping:
    """A mapping ready to apply to reader batches."""

    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self._plans = [plan_field(spec, name) for name in spec.fields]
        self._programs: dict[tuple[tuple[str, pl.DataType], ...], Program] = {}
        self.schema = TableSchema(
            name=spec.target.table,
            columns=tuple(self._column(p) for p in self._plans),
            key=tuple(spec.target.key),
        )

    def _column(self, plan: FieldPlan) -> Column:
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
        try:
            good, rejects = self._program(frame.schema).run(frame)
        except pl.exceptions.PolarsError as exc:
            raise MappingError(
                f"{self._label} cannot be applied: {str(exc).splitlines()[0]}"
            ) from exc
        return MappedBatch(good=good, rejects=rejects)

    def _program(self, schema: pl.Schema) -> Program:
        key = tuple(schema.items())
        program = self._programs.get(key)
        if program is None:
            self._check_dtypes(schema)
            if len(self._programs) >= _PROGRAMS_KEPT:
                self._programs.clear()
            program = self._programs[key] = Program(self._plans, schema)
        return program

    def _check_dtypes(self, schema: pl.Schema) -> None:
        for plan in self._plans:
            dtype = schema.get(plan.source) if plan.source is not None else None
            if dtype is not None and not is_supported_dtype(dtype):
                raise MappingError(
                    f"{self._label}: column {plan.source!r} holds {dtype} values; field "
                    f"{plan.name!r} needs plain values (flatten nested data in the source)"
                )


def _suggest(column: str, available: list[str]) -> str:
    lowered = {c.lower(): c for c in available}
    if column.lower() in lowered:
        return f"; did you mean {lowered[column.lower()]!r}?"
    close = difflib.get_close_matches(column.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def compile_mapping(spec: MappingSpec) -> CompiledMapping:
    """Prepare ``spec`` for ``apply``; the spec is already validated."""
    return CompiledMapping(spec)
