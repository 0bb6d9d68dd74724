"""Target tables: SQLAlchemy tables built from a ``TableSchema``, reflection, and comparison.

Storage per kind (see conveyor/schema.py):

=========  ==========================  ===================================================
kind       PostgreSQL                  SQLite
=========  ==========================  ===================================================
string     TEXT / VARCHAR(max_length)  TEXT / VARCHAR(max_length)
integer    BIGINT                      BIGINT
decimal    NUMERIC(p, s)               TEXT, the exact decimal text ("12.50"): NUMERIC
                                       affinity would turn it into a lossy REAL
float      DOUBLE PRECISION            DOUBLE (REAL affinity)
boolean    BOOLEAN                     BOOLEAN (0/1)
date       DATE                        DATE (ISO text "2024-01-31")
datetime   TIMESTAMP WITH TIME ZONE    TEXT, ISO 8601 UTC "2024-01-31T08:00:00.000000+00:00"
json       JSONB                       TEXT
=========  ==========================  ===================================================
"""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from conveyor.errors import SchemaMismatchError
from conveyor.load.base import WriteMode
from conveyor.schema import Column, TableSchema

__all__ = [
    "SQLITE_DATETIME_FORMAT",
    "DecimalText",
    "UtcDateTimeText",
    "add_missing_columns",
    "check_column_count",
    "check_width",
    "column_type",
    "compare",
    "has_unique_key",
    "kind_label",
    "reflect_table",
    "table_for",
]

#: strftime format of datetimes stored as text on SQLite (fixed width, so text order = time order).
SQLITE_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


class DecimalText(sa.TypeDecorator[Decimal]):
    """An exact decimal stored as its text (SQLite has no exact numeric storage)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class UtcDateTimeText(sa.TypeDecorator[dt.datetime]):
    """An aware datetime stored as fixed-width ISO 8601 text in UTC (SQLite)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        return value.astimezone(dt.UTC).strftime(SQLITE_DATETIME_FORMAT)

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        parsed = dt.datetime.fromisoformat(str(value))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)


def column_type(column: Column, dialect: str) -> sa.types.TypeEngine[Any]:
    """The column type Conveyor creates for ``column`` on ``dialect`` ("sqlite"/"postgresql")."""
    sqlite = dialect == "sqlite"
    match column.kind:
        case "string":
            return sa.String(column.max_length) if column.max_length else sa.Text()
        case "integer":
            return sa.BigInteger()
        case "decimal":
            if sqlite:
                return DecimalText()
            return sa.Numeric(column.precision or 38, column.scale or 0, asdecimal=True)
        case "float":
            return sa.Double()
        case "boolean":
            return sa.Boolean()
        case "date":
            return sa.Date()
        case "datetime":
            return UtcDateTimeText() if sqlite else sa.DateTime(timezone=True)
        case "json":
            return sa.Text() if sqlite else postgresql.JSONB()
    raise ValueError(f"unknown field kind {column.kind!r}")  # pragma: no cover


def kind_label(column: Column) -> str:
    """The field's type as a mapping spells it: ``decimal(12,2)``, ``string``."""
    if column.kind == "decimal":
        return f"decimal({column.precision or 38},{column.scale or 0})"
    if column.kind == "string" and column.max_length:
        return f"string (max_length {column.max_length})"
    return column.kind


def table_for(schema: TableSchema, dialect: str, metadata: sa.MetaData | None = None) -> sa.Table:
    """The table Conveyor creates for ``schema``: the key is the primary key."""
    key = set(schema.key)
    columns = [
        sa.Column(
            c.name,
            column_type(c, dialect),
            nullable=c.nullable and c.name not in key,
            autoincrement=False,
        )
        for c in schema.columns
    ]
    extra: list[sa.PrimaryKeyConstraint] = []
    if schema.key:
        extra.append(sa.PrimaryKeyConstraint(*schema.key))
    return sa.Table(schema.name, metadata or sa.MetaData(), *columns, *extra)


def reflect_table(connection: sa.Connection, name: str) -> sa.Table | None:
    """The table as it is in the database, or None when absent."""
    if not sa.inspect(connection).has_table(name):
        return None
    with warnings.catch_warnings():
        # Expression indexes and unknown types only warn; they cannot serve as our key anyway.
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        return sa.Table(name, sa.MetaData(), autoload_with=connection)


def compare(
    schema: TableSchema, table: sa.Table, mode: WriteMode, dialect: sa.Dialect
) -> list[str]:
    """Every way ``table`` cannot take ``schema``'s rows, one line each, saying what to fix."""
    problems: list[str] = []
    for column in schema.columns:
        existing = table.c.get(column.name)
        if existing is None:
            wanted = _type_sql(column_type(column, dialect.name), dialect)
            problems.append(
                f"column {column.name!r} is missing: add it ({wanted}) "
                "or remove the field from the mapping"
            )
            continue
        problem = _type_problem(column, existing, dialect)
        if problem:
            problems.append(problem)
    problems.extend(_unfilled_columns(schema, table, dialect))
    keyed_modes = ("upsert", "update_only", "replace")
    if mode in keyed_modes and schema.key and not has_unique_key(table, schema.key):
        key = ", ".join(schema.key)
        problems.append(
            f"key ({key}) has no primary key or unique index, which mode {mode} needs: "
            f"add PRIMARY KEY ({key}) or a UNIQUE index on ({key})"
        )
    return problems


#: Most columns a table may have: SQLite's default SQLITE_MAX_COLUMN, PostgreSQL's hard limit.
MAX_COLUMNS = {"sqlite": 2000, "postgresql": 1600}


def check_width(schema: TableSchema, dialect: str) -> None:
    """Refuse, before anything is created, a table wider than the database allows."""
    check_column_count(len(schema.columns), schema.name, dialect)


def check_column_count(count: int, table: str, dialect: str) -> None:
    limit = MAX_COLUMNS.get(dialect)
    if limit is None or count <= limit:
        return
    raise SchemaMismatchError(
        f"table {table!r} would have {count:,} columns; {dialect} allows at most {limit:,}: "
        "use a mapping that keeps only the fields you need (write one with `conveyor mapping "
        "suggest FILE > mappings/NAME.yaml` and delete the rest)"
    )


def add_missing_columns(
    connection: sa.Connection, schema: TableSchema, table: sa.Table, dialect: str
) -> sa.Table:
    """``ALTER TABLE … ADD COLUMN`` for each mapped field the table lacks (``add_columns``).

    The new columns are nullable (the table's existing rows have no value for them); the
    column clause comes from SQLAlchemy's own DDL compiler, names quoted by the dialect.
    """
    missing = [c for c in schema.columns if c.name not in table.c]
    if not missing:
        return table
    preparer = connection.dialect.identifier_preparer
    for column in missing:
        new = sa.Column(column.name, column_type(column, dialect), nullable=True)
        clause = sa.schema.CreateColumn(new).compile(dialect=connection.dialect)
        connection.exec_driver_sql(
            f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {clause}"
        )
    reflected = reflect_table(connection, table.name)
    assert reflected is not None
    return reflected


def has_unique_key(table: sa.Table, key: tuple[str, ...]) -> bool:
    """True when a primary key, unique constraint or plain unique index lies within ``key``."""
    wanted = set(key)
    candidates: list[set[str]] = [{c.name for c in table.primary_key.columns}]
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            candidates.append({c.name for c in constraint.columns})
    for index in table.indexes:
        if index.unique and _plain_index(index):
            candidates.append({c.name for c in index.columns})
    return any(names and names <= wanted for names in candidates)


def _plain_index(index: sa.Index) -> bool:
    partial = any(opts.get("where") is not None for opts in index.dialect_options.values())
    only_columns = all(isinstance(e, sa.Column) for e in index.expressions)
    return only_columns and not partial and len(index.columns) > 0


def _type_problem(column: Column, existing: sa.Column[Any], dialect: sa.Dialect) -> str | None:
    have = existing.type
    if isinstance(have, sa.types.NullType):
        return None  # a type SQLAlchemy does not know (a domain, citext, untyped SQLite): trust it
    wanted = column_type(column, dialect.name)
    if not _compatible(column, have, dialect.name):
        return (
            f"column {column.name!r} is {_type_sql(have, dialect)} but the mapping gives "
            f"{kind_label(column)}: change the column to {_type_sql(wanted, dialect)} "
            "or the field's type"
        )
    # SQLite enforces no precision: NUMERIC(6, 1) there keeps every digit REAL can hold.
    if column.kind == "decimal" and dialect.name != "sqlite" and _numeric_too_small(column, have):
        return (
            f"column {column.name!r} is {_type_sql(have, dialect)}, too small for "
            f"{kind_label(column)} (values would be rounded or overflow): widen it to "
            f"{_type_sql(wanted, dialect)} or narrow the field's type"
        )
    return None


def _compatible(column: Column, have: sa.types.TypeEngine[Any], dialect: str) -> bool:
    sqlite = dialect == "sqlite"
    is_float = isinstance(have, sa.Float)
    is_exact_number = isinstance(have, sa.Numeric) and not is_float
    is_text = isinstance(have, sa.String)
    match column.kind:
        case "string":
            return is_text or isinstance(have, sa.Uuid)
        case "integer":
            return isinstance(have, sa.Integer) or is_exact_number
        case "decimal":
            return is_exact_number or (sqlite and is_text)
        case "float":
            return is_float
        case "boolean":
            return isinstance(have, sa.Boolean) or (sqlite and isinstance(have, sa.Integer))
        case "date":
            return isinstance(have, sa.Date) or (sqlite and is_text)
        case "datetime":
            return isinstance(have, sa.DateTime) or (sqlite and is_text)
        case "json":
            return isinstance(have, sa.JSON) or is_text
    return False  # pragma: no cover


def _numeric_too_small(column: Column, have: sa.types.TypeEngine[Any]) -> bool:
    if not isinstance(have, sa.Numeric) or have.precision is None:
        return False
    have_scale = have.scale or 0
    scale = column.scale or 0
    digits = (column.precision or 38) - scale
    return scale > have_scale or digits > have.precision - have_scale


def _unfilled_columns(schema: TableSchema, table: sa.Table, dialect: sa.Dialect) -> list[str]:
    mapped = set(schema.column_names)
    problems = []
    for col in table.c:
        if col.name in mapped or col.nullable or _filled_by_database(col, table, dialect):
            continue
        problems.append(
            f"column {col.name!r} is NOT NULL without a default and the mapping does not fill "
            "it: add a field for it, give the column a default, or allow NULL"
        )
    return problems


def _filled_by_database(col: sa.Column[Any], table: sa.Table, dialect: sa.Dialect) -> bool:
    if col.server_default is not None or col.identity is not None:
        return True
    # SQLite: a lone INTEGER PRIMARY KEY is the rowid, numbered by the database.
    pk = list(table.primary_key.columns)
    return dialect.name == "sqlite" and pk == [col] and type(col.type) is sa.INTEGER


def _type_sql(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> str:
    try:
        return type_.compile(dialect=dialect)
    except sa.exc.CompileError:  # pragma: no cover - NullType is filtered out before
        return "an unknown type"
