"""Dry-run examples: which rows of a batch would be inserted, updated or left unchanged.

The target's own counts are exact; this only picks a few example rows of each kind to show
the user, by reading the stored rows that share the batch's keys (values bound, never
formatted into SQL).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa

from conveyor.load.urls import make_engine
from conveyor.schema import INTERNAL_COLUMNS, TableSchema

__all__ = ["preview_changes"]

SAMPLE_ROWS = 1_000


def preview_changes(
    url: str, schema: TableSchema, frame: pl.DataFrame, limit: int
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``limit`` example rows for each of inserted, updated and unchanged."""
    data = frame.drop(INTERNAL_COLUMNS, strict=False).head(SAMPLE_ROWS)
    found: dict[str, list[dict[str, Any]]] = {"inserted": [], "updated": [], "unchanged": []}
    engine = make_engine(url)
    try:
        stored = _stored_rows(engine, schema, data)
    finally:
        engine.dispose()
    for row in data.to_dicts():
        existing = _existing(row, stored, schema)
        changed = _changed(row, existing, schema) if existing is not None else {}
        kind = "inserted" if existing is None else "updated" if changed else "unchanged"
        if len(found[kind]) < limit:
            shown = {k: row[k] for k in schema.key} | {"changed": changed} if changed else row
            found[kind].append(_printable(shown))
    return found


def _stored_rows(
    engine: sa.Engine, schema: TableSchema, data: pl.DataFrame
) -> dict[tuple[Any, ...], dict[str, Any]] | None:
    if not schema.key or not sa.inspect(engine).has_table(schema.name):
        return None
    table = sa.Table(schema.name, sa.MetaData(), autoload_with=engine)
    key_columns = [table.c[name] for name in schema.key]
    keys = data.select(schema.key).rows()
    if len(key_columns) == 1:
        condition = key_columns[0].in_([k[0] for k in keys])
    else:
        condition = sa.tuple_(*key_columns).in_(keys)
    with engine.connect() as conn:
        result = conn.execute(sa.select(table).where(condition)).mappings()
        return {tuple(_norm(r[k]) for k in schema.key): dict(r) for r in result}


def _existing(
    row: dict[str, Any],
    stored: dict[tuple[Any, ...], dict[str, Any]] | None,
    schema: TableSchema,
) -> dict[str, Any] | None:
    if stored is None:
        return None
    return stored.get(tuple(_norm(row[k]) for k in schema.key))


def _changed(
    row: dict[str, Any], existing: dict[str, Any], schema: TableSchema
) -> dict[str, list[Any]]:
    """Field -> [stored value, incoming value] for each field that would change."""
    return {
        c.name: [existing.get(c.name), row[c.name]]
        for c in schema.columns
        if _norm(row[c.name], c.kind) != _norm(existing.get(c.name), c.kind)
    }


def _norm(value: Any, kind: str = "") -> Any:
    """A comparable form of a value as Polars or a database driver returns it."""
    if value is None:
        return None
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal | float) or kind == "decimal":
        return Decimal(str(value)).normalize()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, str) and kind == "datetime":
        return dt.datetime.fromisoformat(value).replace(tzinfo=None).isoformat()
    return value


def _printable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}
