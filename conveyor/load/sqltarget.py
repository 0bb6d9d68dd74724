"""The set-based writer shared by the SQLite and PostgreSQL targets.

Per batch, in one transaction: the rows go into a temporary staging table shaped like the target
(``CREATE TEMP TABLE … AS SELECT <columns> FROM target WHERE false``, so staged values have the
target's own types and compare exactly), then a few set-based statements:

1. rejected keys: ``SELECT idx FROM stage WHERE [NOT] EXISTS (target row with that key)``;
2. ``UPDATE target SET … FROM stage WHERE keys match AND some value IS DISTINCT FROM it``;
3. ``INSERT INTO target SELECT … FROM stage WHERE NOT EXISTS (target row with that key)``.

The counts follow from the row counts: unchanged = matched rows that were not updated.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, get_args

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from conveyor.errors import ConfigError, SchemaMismatchError
from conveyor.load.base import LoadResult, Target, WriteMode
from conveyor.load.ddl import compare, reflect_table, table_for
from conveyor.load.rejects import IDX_COL, key_found_errors, split_invalid
from conveyor.load.urls import redact, translate_error
from conveyor.schema import ROW_COL, TableSchema

__all__ = ["STAGE_TABLE", "SqlTarget"]

STAGE_TABLE = "conveyor_stage"


class CreateTempTableAs(Executable, ClauseElement):
    """``CREATE TEMP TABLE name AS <select>`` (SQLAlchemy 2.0 has no construct for it)."""

    inherit_cache = False

    def __init__(self, name: str, select: sa.Select[Any], *, drop_on_commit: bool) -> None:
        self.name = name
        self.select = select
        self.drop_on_commit = drop_on_commit


@compiles(CreateTempTableAs)
def _compile_create_temp(element: CreateTempTableAs, compiler: SQLCompiler, **kw: Any) -> str:
    name = compiler.preparer.quote(element.name)
    on_commit = " ON COMMIT DROP" if element.drop_on_commit else ""
    query = compiler.process(element.select, **kw)
    return f"CREATE TEMP TABLE {name}{on_commit} AS {query}"


class SqlTarget(Target):
    """A table writer over a SQLAlchemy engine; subclasses fill the staging table."""

    dialect_name: str
    #: Errors to translate: SQLAlchemy's, plus the driver's own (raised outside SQLAlchemy).
    driver_errors: tuple[type[Exception], ...] = (sa.exc.DBAPIError,)

    def __init__(self, url: URL, engine: Engine) -> None:
        self.url = redact(url)  # safe to show and to record; never holds the password
        self.engine = engine
        self._url = url
        self._tables: dict[str, sa.Table | None] = {}

    def prepare(self, schema: TableSchema, mode: WriteMode, *, create: bool = True) -> None:
        _check_mode(schema, mode)
        try:
            with self.engine.begin() as conn:
                table = reflect_table(conn, schema.name)
                if table is None and create:
                    table_for(schema, self.dialect_name).create(conn, checkfirst=True)
                    table = reflect_table(conn, schema.name)
                elif table is not None:
                    self._raise_mismatch(schema, table, mode)
        except sa.exc.DBAPIError as exc:
            raise translate_error(exc, self._url, f"prepare table {schema.name!r} in") from None
        self._tables[schema.name] = table

    def write(
        self, frame: pl.DataFrame, schema: TableSchema, mode: WriteMode, *, commit: bool = True
    ) -> LoadResult:
        if schema.name not in self._tables:
            self.prepare(schema, mode, create=commit)
        table = self._tables[schema.name]
        indexed = _conform(frame, schema).with_row_index(IDX_COL)
        valid, rejected = split_invalid(indexed, schema, table, self.dialect_name)
        if table is None:  # dry run of a first import: the table would be created empty
            return _result_without_table(valid, rejected, schema, mode)
        try:
            # preserve_rowcount: the exact counts come from the INSERT/UPDATE row counts.
            options = {"preserve_rowcount": True}
            with self.engine.connect().execution_options(**options) as conn, conn.begin() as tx:
                counts, found = self._write_staged(conn, table, valid, schema, mode)
                if not commit:
                    tx.rollback()
        except self.driver_errors as exc:
            raise translate_error(exc, self._url, f"write table {schema.name!r} in") from None
        if not found:
            return _result(counts, [rejected])
        found_rows = valid.filter(pl.col(IDX_COL).is_in(found))
        return _result(counts, [rejected, key_found_errors(found_rows, schema, mode)])

    def close(self) -> None:
        self.engine.dispose()

    @abstractmethod
    def _fill_stage(self, conn: sa.Connection, stage: sa.TableClause, frame: pl.DataFrame) -> None:
        """Put ``frame``'s stage columns into the (empty) staging table."""

    def _raise_mismatch(self, schema: TableSchema, table: sa.Table, mode: WriteMode) -> None:
        problems = compare(schema, table, mode, self.engine.dialect)
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise SchemaMismatchError(
                f"table {schema.name!r} in {self.url} does not fit the mapping "
                f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n{lines}"
            )

    def _write_staged(
        self,
        conn: sa.Connection,
        table: sa.Table,
        frame: pl.DataFrame,
        schema: TableSchema,
        mode: WriteMode,
    ) -> tuple[tuple[int, int, int], list[int]]:
        if frame.is_empty():
            return (0, 0, 0), []
        stage = self._create_stage(conn, table, schema)
        self._fill_stage(conn, stage, frame.select([*schema.column_names, IDX_COL]))
        statements = _Statements(table, stage, schema)
        found: list[int] = []
        if schema.key and mode != "upsert":
            found = list(conn.execute(statements.rejected_keys(mode)).scalars())
        updated = 0
        if mode != "insert" and statements.value_columns:
            updated = conn.execute(statements.update()).rowcount
        inserted = 0
        if mode != "update_only":
            inserted = conn.execute(statements.insert()).rowcount
        if self.dialect_name == "sqlite":
            conn.execute(sa.schema.DropTable(sa.Table(STAGE_TABLE, sa.MetaData(), schema="temp")))
        unchanged = frame.height - len(found) - updated - inserted
        return (inserted, updated, unchanged), found

    def _create_stage(
        self, conn: sa.Connection, table: sa.Table, schema: TableSchema
    ) -> sa.TableClause:
        columns = [table.c[name] for name in schema.column_names]
        shape = sa.select(*columns, sa.cast(sa.null(), sa.BigInteger()).label(IDX_COL)).where(
            sa.false()
        )
        drop = self.dialect_name == "postgresql"
        conn.execute(CreateTempTableAs(STAGE_TABLE, shape, drop_on_commit=drop))
        return sa.table(
            STAGE_TABLE,
            *[sa.column(c.name, c.type) for c in columns],
            sa.column(IDX_COL, sa.BigInteger()),
        )


class _Statements:
    """The set-based statements between the staging table and the target."""

    def __init__(self, table: sa.Table, stage: sa.TableClause, schema: TableSchema) -> None:
        self.table = table
        self.stage = stage
        self.columns = schema.column_names
        self.key = schema.key
        self.value_columns = [c for c in schema.column_names if c not in schema.key]

    def _key_exists(self) -> sa.Exists:
        match = [self.table.c[k] == self.stage.c[k] for k in self.key]
        return sa.exists().where(*match)

    def rejected_keys(self, mode: WriteMode) -> sa.Select[tuple[int]]:
        exists = self._key_exists()
        condition = exists if mode == "insert" else ~exists
        return sa.select(self.stage.c[IDX_COL]).where(condition).order_by(self.stage.c[IDX_COL])

    def update(self) -> sa.Update:
        t, s = self.table, self.stage
        differs = [_distinct(t.c[c], s.c[c]) for c in self.value_columns]
        return (
            sa.update(t)
            .values({c: s.c[c] for c in self.value_columns})
            .where(*[t.c[k] == s.c[k] for k in self.key], sa.or_(*differs))
        )

    def insert(self) -> sa.Insert:
        rows = sa.select(*[self.stage.c[c] for c in self.columns])
        if self.key:
            rows = rows.where(~self._key_exists())
        return sa.insert(self.table).from_select(self.columns, rows)


def _distinct(
    stored: sa.ColumnElement[Any], staged: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """NULL-safe "differs" (IS DISTINCT FROM / IS NOT); PostgreSQL json has no equality."""
    if isinstance(stored.type, sa.JSON) and not isinstance(stored.type, postgresql.JSONB):
        return sa.cast(stored, sa.Text()).is_distinct_from(sa.cast(staged, sa.Text()))
    return stored.is_distinct_from(staged)


def _check_mode(schema: TableSchema, mode: WriteMode) -> None:
    if mode not in get_args(WriteMode):
        modes = ", ".join(get_args(WriteMode))
        raise ConfigError(f"unknown write mode {mode!r}: use one of {modes}")
    if mode != "insert" and not schema.key:
        raise ConfigError(
            f"mode {mode} needs a key: set target.key for table {schema.name!r} in the mapping"
        )
    missing = [k for k in schema.key if k not in schema.column_names]
    if missing:
        raise ConfigError(
            f"key field(s) {', '.join(missing)} of table {schema.name!r} are not among the "
            "mapping's fields: add them or fix target.key"
        )


def _conform(frame: pl.DataFrame, schema: TableSchema) -> pl.DataFrame:
    """The batch with each column in its kind's dtype (an all-null column may arrive as Null)
    and datetimes in UTC (naive ones taken as UTC)."""
    missing = [c for c in [*schema.column_names, ROW_COL] if c not in frame.columns]
    if missing:
        raise ConfigError(f"batch for table {schema.name!r} lacks column(s) {', '.join(missing)}")
    casts = []
    for column in schema.columns:
        value = pl.col(column.name)
        dtype = frame.schema[column.name]
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
            value = value.dt.replace_time_zone("UTC")
        casts.append(value.cast(column.polars_dtype()).alias(column.name))
    try:
        return frame.with_columns(casts)
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(
            f"batch for table {schema.name!r} does not match the mapping's types: {exc}"
        ) from None


def _result_without_table(
    valid: pl.DataFrame, rejected: pl.DataFrame, schema: TableSchema, mode: WriteMode
) -> LoadResult:
    if mode == "update_only":
        return _result((0, 0, 0), [rejected, key_found_errors(valid, schema, mode)])
    return _result((valid.height, 0, 0), [rejected])


def _result(counts: tuple[int, int, int], rejects: list[pl.DataFrame]) -> LoadResult:
    rejected = pl.concat(rejects).sort(IDX_COL).drop(IDX_COL)
    return LoadResult(counts[0], counts[1], counts[2], rejected)
