"""A mapping run backwards: table columns back to the source's column names and formats, so
an exported file imports again through the same mapping to the identical table.

Per mapped field that reads a source column (``expr`` fields read none and are left out), in
the mapping's field order, the column is renamed to its ``from`` name and its values are
written the way the mapping reads them:

- dates and datetimes with ``format``/``formats``: text in the first format (datetimes in the
  field's ``timezone`` first); without a format they stay typed (ISO 8601 in text formats);
- numbers with a ``decimal_separator`` other than ``.``: text with that separator (no
  thousands separators: the mapping reads numbers without them too);
- booleans with ``true_values``/``false_values``: the first word of each;
- everything else as stored. Transforms (strip, lower, ...) are not undone: the stored values
  are what they produced, and applying them again changes nothing.

The source options that shape the file (CSV delimiter and encoding, XLSX sheet name, XML root,
record element and namespace) come from the mapping when it reads the export's format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from conveyor.errors import ConfigError
from conveyor.formats.writers import ExportFormat, WriteOptions
from conveyor.mapping.spec import FieldSpec, MappingSpec
from conveyor.schema import Column

__all__ = ["ReversePlan", "reverse_plan", "writer_options"]

_XML_STEP = re.compile(r"(?:(?P<prefix>[A-Za-z_][\w.-]*):)?(?P<name>[A-Za-z_][\w.-]*)")


@dataclass(frozen=True)
class ReversePlan:
    """What the writer gets: its columns, and the expressions that make them from the table's."""

    columns: tuple[Column, ...]
    expressions: tuple[pl.Expr, ...]
    fields: tuple[str, ...]  # the table columns read, in order

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(self.expressions)


def reverse_plan(spec: MappingSpec, table_columns: Sequence[Column]) -> ReversePlan:
    """The reverse of ``spec`` over the exported ``table_columns`` (fields absent from them, and
    fields that read no source column, are left out)."""
    available = {c.name: c for c in table_columns}
    columns: list[Column] = []
    expressions: list[pl.Expr] = []
    fields: list[str] = []
    taken: set[str] = set()
    for name, rule in spec.fields.items():
        source = spec.source_column(name)
        if source is None or name not in available or source in taken:
            continue
        taken.add(source)
        column, expr = _reverse_field(available[name], rule)
        columns.append(replace(column, name=source, nullable=True))
        expressions.append(expr.alias(source))
        fields.append(name)
    if not fields:
        mapped = ", ".join(spec.fields)
        raise ConfigError(
            f"none of the mapping's fields ({mapped}) is among the exported columns: "
            "export the mapping's table, or leave out --mapping"
        )
    return ReversePlan(tuple(columns), tuple(expressions), tuple(fields))


def _reverse_field(column: Column, rule: FieldSpec) -> tuple[Column, pl.Expr]:
    value = pl.col(column.name)
    text = Column(column.name, "string")
    kind = column.kind
    formats = rule.formats or ([rule.format] if rule.format else [])
    if kind == "date" and formats:
        return text, value.dt.strftime(formats[0])
    if kind == "datetime" and formats:
        zoned = value.dt.convert_time_zone(rule.timezone or "UTC")
        return text, zoned.dt.strftime(formats[0])
    if kind in ("integer", "decimal", "float") and rule.decimal_separator != ".":
        return text, value.cast(pl.String).str.replace(".", rule.decimal_separator, literal=True)
    if kind == "boolean" and (rule.true_values or rule.false_values):
        yes = (rule.true_values or ["true"])[0]
        no = (rule.false_values or ["false"])[0]
        return text, pl.when(value).then(pl.lit(yes)).when(~value).then(pl.lit(no))
    return column, value


def writer_options(
    spec: MappingSpec | None, fmt: ExportFormat, overrides: Mapping[str, Any] | None = None
) -> WriteOptions:
    """The defaults, then what the mapping says about files of ``fmt``, then ``overrides``
    (what the user asked for: it wins)."""
    options = _from_mapping(spec, fmt)
    try:
        return replace(options, **(overrides or {}))
    except TypeError as exc:  # an unknown option name: a programming error, said plainly
        raise ConfigError(f"unknown write option: {exc}") from None


def _from_mapping(spec: MappingSpec | None, fmt: ExportFormat) -> WriteOptions:
    options = WriteOptions()
    if spec is None or spec.source.format not in (None, _reader_format(fmt)):
        return options
    source = spec.source
    if fmt == "csv":
        if source.delimiter:
            options = replace(options, delimiter=source.delimiter)
        if source.encoding:
            options = replace(options, encoding=source.encoding)
    elif fmt == "xlsx" and isinstance(source.sheet, str) and source.sheet != "*":
        options = replace(options, sheet_name=source.sheet)
    elif fmt == "xml" and source.record_path:
        options = _xml_options(options, source.record_path, source.namespaces)
    return options


def _reader_format(fmt: ExportFormat) -> str:
    return "json" if fmt == "ndjson" else fmt


def _xml_options(options: WriteOptions, path: str, namespaces: dict[str, str]) -> WriteOptions:
    """Root and record element (and namespace) from a record path ``/root/record``; other
    shapes (relative, deeper, wildcards) keep the defaults."""
    steps = path.strip("/").split("/")
    if not path.startswith("/") or len(steps) != 2:
        return options
    matches = [_XML_STEP.fullmatch(step) for step in steps]
    if any(m is None for m in matches):
        return options
    root, record = (m for m in matches if m is not None)
    prefixes = {root.group("prefix"), record.group("prefix")}
    if len(prefixes) != 1:
        return options
    prefix = prefixes.pop()
    namespace = namespaces.get(prefix) if prefix else None
    return replace(
        options,
        xml_root=root.group("name"),
        xml_record=record.group("name"),
        xml_namespace=namespace or options.xml_namespace,
    )
