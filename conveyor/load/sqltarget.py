"""The set-based writer shared by the SQLite and PostgreSQL targets.

Per batch, in one transaction: the table is locked against other writers (PostgreSQL ``LOCK
TABLE … IN SHARE ROW EXCLUSIVE MODE``, SQLite ``BEGIN IMMEDIATE``), the rows go into a temporary
staging table shaped like the target (``CREATE TEMP TABLE … AS SELECT <columns> FROM target
WHERE false``, so staged values have the target's own types and compare exactly), then the
set-based statements of conveyor/load/statements.py run for the mode and strategy, then the
caller's checkpoint, then the commit. The counts follow from the statements' row counts.

Mode ``replace`` writes each batch into the job's shadow table (a plain table, so a resumed job
finds it) and :meth:`SqlTarget.apply_replace` swaps the rows in one transaction at the end.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import get_args

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from conveyor.errors import ConfigError, SchemaMismatchError
from conveyor.load.base import Checkpoint, Existing, LoadResult, Target, WriteMode
from conveyor.load.ddl import add_missing_columns, check_width, compare, reflect_table, table_for
from conveyor.load.rejects import IDX_COL, key_found_errors, split_invalid
from conveyor.load.statements import CreateTempTableAs, LockTable, Statements
from conveyor.load.urls import redact, translate_error
from conveyor.schema import ROW_COL, TableSchema

__all__ = ["STAGE_TABLE", "SqlTarget"]

STAGE_TABLE = "conveyor_stage"
#: First key of the advisory locks that serialise table creation ("CNVD").
_PG_DDL_LOCK_CLASS = 0x434E5644


@dataclass
class _Outcome:
    """What the statements of one batch did; ``missing``/``present`` hold rejected IDX_COLs."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    removed: int = 0
    present: list[int] = field(default_factory=list)  # key exists, and must not
    missing: list[int] = field(default_factory=list)  # key absent, and must exist


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
        self._shadows: dict[str, str] = {}

    def prepare(
        self,
        schema: TableSchema,
        mode: WriteMode,
        *,
        create: bool = True,
        add_columns: bool = False,
        shadow: str | None = None,
    ) -> None:
        """Check (and create, or widen with ``add_columns``) the table; for mode ``replace``
        with a ``shadow`` name, create that shadow table unless a resumed job left it."""
        _check_mode(schema, mode)
        try:
            with self.engine.begin() as conn:
                self._lock_ddl(conn, schema.name)
                table = reflect_table(conn, schema.name)
                if table is None and create:
                    check_width(schema, self.dialect_name)
                    table_for(schema, self.dialect_name).create(conn, checkfirst=True)
                    table = reflect_table(conn, schema.name)
                elif table is not None:
                    if add_columns and create:
                        table = add_missing_columns(conn, schema, table, self.dialect_name)
                    self._raise_mismatch(schema, table, mode)
                if table is not None and mode == "replace" and shadow and create:
                    self._create_shadow(conn, table, schema, shadow)
        except sa.exc.DBAPIError as exc:
            raise translate_error(exc, self._url, f"prepare table {schema.name!r} in") from None
        self._tables[schema.name] = table

    def write(
        self,
        frame: pl.DataFrame,
        schema: TableSchema,
        mode: WriteMode,
        *,
        existing: Existing = "update",
        commit: bool = True,
        checkpoint: Checkpoint | None = None,
    ) -> LoadResult:
        if schema.name not in self._tables:
            self.prepare(schema, mode, create=commit)
        table = self._tables[schema.name]
        indexed = _conform(frame, schema).with_row_index(IDX_COL)
        valid, rejected = split_invalid(indexed, schema, table, self.dialect_name)
        if table is None:  # dry run of a first import: the table would be created empty
            return _result_without_table(valid, rejected, schema, mode)
        shadow = self._shadows.get(schema.name) if mode == "replace" and commit else None
        with self._transaction(schema, commit) as conn:
            if shadow is not None:
                rows = valid.select(schema.column_names)
                self._fill_stage(conn, _clause(table, schema, shadow), rows)
                outcome = _Outcome(inserted=valid.height)
            else:
                conn.execute(self._lock(table))
                outcome = self._write_staged(conn, table, valid, schema, mode, existing)
            result = _result(outcome, valid, rejected, schema, mode, existing)
            if checkpoint is not None and commit:
                checkpoint(conn, result)
        return result

    def apply_replace(
        self,
        schema: TableSchema,
        *,
        existing: Existing = "update",
        commit: bool = True,
        checkpoint: Checkpoint | None = None,
    ) -> LoadResult:
        table = self._tables.get(schema.name)
        shadow = self._shadows.get(schema.name)
        if table is None or shadow is None:
            return LoadResult()
        stage = _clause(table, schema, shadow)
        statements = Statements(table, stage, schema)
        with self._transaction(schema, commit) as conn:
            conn.execute(self._lock(table))
            total = conn.execute(sa.select(sa.func.count()).select_from(stage)).scalar_one()
            outcome = _Outcome()
            outcome.removed = conn.execute(statements.remove_absent()).rowcount
            if schema.key and statements.value_columns and existing != "skip":
                outcome.inserted, outcome.updated = self._upsert(conn, statements, existing)
            else:
                outcome.inserted = conn.execute(statements.insert()).rowcount
            conn.execute(sa.schema.DropTable(sa.Table(shadow, sa.MetaData())))
            unchanged = total - outcome.inserted - outcome.updated
            result = LoadResult(
                outcome.inserted, outcome.updated, unchanged, removed=outcome.removed
            )
            if checkpoint is not None and commit:
                checkpoint(conn, result)
        if commit:
            del self._shadows[schema.name]
        return result

    def discard_replace(self, schema: TableSchema) -> None:
        shadow = self._shadows.pop(schema.name, None)
        if shadow is None:
            return
        with self._transaction(schema, True) as conn:
            conn.execute(sa.schema.DropTable(sa.Table(shadow, sa.MetaData()), if_exists=True))

    def close(self) -> None:
        self.engine.dispose()

    @abstractmethod
    def _fill_stage(self, conn: sa.Connection, stage: sa.TableClause, frame: pl.DataFrame) -> None:
        """Put ``frame``'s columns (all of them, in order) into the table ``stage``."""

    def _lock(self, table: sa.Table) -> sa.Executable:
        """The statement that keeps other writers out until commit (SQLite: BEGIN IMMEDIATE
        already did, so a no-op)."""
        if self.dialect_name == "postgresql":
            return LockTable(table)
        return sa.text("SELECT 1")

    def _write_direct(
        self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame, schema: TableSchema
    ) -> bool:
        """Insert the batch straight into the table when none of its keys can be there.

        A fast path for targets that can try it cheaply (PostgreSQL: COPY under a savepoint);
        False means "not done, use the staged statements".
        """
        return False

    def _upsert(
        self, conn: sa.Connection, statements: Statements, existing: Existing
    ) -> tuple[int, int]:
        """Update the stored rows that differ, insert the new ones: (inserted, updated)."""
        updated = conn.execute(statements.update(existing)).rowcount
        return conn.execute(statements.insert()).rowcount, updated

    def _lock_ddl(self, conn: sa.Connection, name: str) -> None:
        """PostgreSQL: one ``prepare`` of a table name at a time (two imports creating the
        same table at once would otherwise race); SQLite's BEGIN IMMEDIATE already does."""
        if self.dialect_name == "postgresql":
            key = sa.func.hashtext(sa.literal(name, sa.Text()))
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_DDL_LOCK_CLASS, key)))

    @contextmanager
    def _transaction(self, schema: TableSchema, commit: bool) -> Iterator[sa.Connection]:
        try:
            # preserve_rowcount: the exact counts come from the statements' row counts.
            options = {"preserve_rowcount": True}
            with self.engine.connect().execution_options(**options) as conn, conn.begin() as tx:
                yield conn
                if not commit:
                    tx.rollback()
        except self.driver_errors as exc:
            raise translate_error(exc, self._url, f"write table {schema.name!r} in") from None

    def _create_shadow(
        self, conn: sa.Connection, table: sa.Table, schema: TableSchema, shadow: str
    ) -> None:
        if reflect_table(conn, shadow) is None:
            shape = sa.select(*[table.c[n] for n in schema.column_names]).where(sa.false())
            conn.execute(CreateTempTableAs(shadow, shape, drop_on_commit=False, temporary=False))
        self._shadows[schema.name] = shadow

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
        existing: Existing,
    ) -> _Outcome:
        outcome = _Outcome()
        if frame.is_empty():
            return outcome
        if mode in ("insert", "upsert") and self._write_direct(conn, table, frame, schema):
            outcome.inserted = frame.height
            return outcome
        stage = self._create_stage(conn, table, schema)
        self._fill_stage(conn, stage, frame.select([*schema.column_names, IDX_COL]))
        statements = Statements(table, stage, schema)
        if schema.key and (mode in ("update_only", "delete")):
            outcome.missing = list(conn.execute(statements.found(IDX_COL, present=False)).scalars())
        if schema.key and (mode == "insert" or existing == "error"):
            outcome.present = list(conn.execute(statements.found(IDX_COL, present=True)).scalars())
            if outcome.present:  # only the new rows go on
                conn.execute(sa.delete(stage).where(stage.c[IDX_COL].in_(outcome.present)))
        if mode == "delete":
            outcome.deleted = conn.execute(statements.delete()).rowcount
        elif mode == "upsert" and _updates(mode, existing, statements):
            outcome.inserted, outcome.updated = self._upsert(conn, statements, existing)
        else:
            if _updates(mode, existing, statements):
                outcome.updated = conn.execute(statements.update(existing)).rowcount
            if mode != "update_only":
                outcome.inserted = conn.execute(statements.insert()).rowcount
        if self.dialect_name == "sqlite":
            conn.execute(sa.schema.DropTable(sa.Table(STAGE_TABLE, sa.MetaData(), schema="temp")))
        return outcome

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


def _updates(mode: WriteMode, existing: Existing, statements: Statements) -> bool:
    if not statements.value_columns or not statements.key or mode == "insert":
        return False
    return existing in ("update", "merge")


def _clause(table: sa.Table, schema: TableSchema, name: str) -> sa.TableClause:
    return sa.table(name, *[sa.column(n, table.c[n].type) for n in schema.column_names])


def _check_mode(schema: TableSchema, mode: WriteMode) -> None:
    if mode not in get_args(WriteMode):
        modes = ", ".join(get_args(WriteMode))
        raise ConfigError(f"unknown write mode {mode!r}: use one of {modes}")
    if mode not in ("insert", "replace") and not schema.key:
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
    have = frame.schema  # once: a Polars schema lookup builds it anew each time
    missing = [c for c in [*schema.column_names, ROW_COL] if c not in have]
    if missing:
        raise ConfigError(f"batch for table {schema.name!r} lacks column(s) {', '.join(missing)}")
    casts = []
    for column in schema.columns:
        value = pl.col(column.name)
        dtype = have[column.name]
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
    """Dry run into a table that does not exist yet: every key is missing."""
    if mode in ("update_only", "delete"):
        missing = valid.get_column(IDX_COL).to_list()
        return _result(_Outcome(missing=missing), valid, rejected, schema, mode, "update")
    return _result(_Outcome(inserted=valid.height), valid, rejected, schema, mode, "update")


def _result(
    outcome: _Outcome,
    valid: pl.DataFrame,
    rejected: pl.DataFrame,
    schema: TableSchema,
    mode: WriteMode,
    existing: Existing,
) -> LoadResult:
    rejects = [rejected]
    if outcome.present:
        found = valid.filter(pl.col(IDX_COL).is_in(outcome.present))
        rejects.append(key_found_errors(found, schema, mode, existing, present=True))
    if outcome.missing:
        lost = valid.filter(pl.col(IDX_COL).is_in(outcome.missing))
        rejects.append(key_found_errors(lost, schema, mode, existing, present=False))
    refused = pl.concat(rejects).sort(IDX_COL).drop(IDX_COL)
    done = outcome.inserted + outcome.updated + outcome.deleted
    unchanged = valid.height - len(outcome.present) - len(outcome.missing) - done
    return LoadResult(
        outcome.inserted,
        outcome.updated,
        unchanged,
        refused,
        deleted=outcome.deleted,
        removed=outcome.removed,
    )
