"""What an export reads: a table, a view or a named query, and the kind of each of its columns.

A named query is the file ``QUERIES_DIR/NAME.sql``: one SELECT (or WITH … SELECT) written by
the project's operators, a trusted project file like the mappings. It is read as a subquery,
``SELECT … FROM (<file text>) AS q``, so it cannot write, and every export runs in a READ ONLY
transaction on PostgreSQL. A table or view and a query file of the same name are refused as
ambiguous.

Kinds come from the column types (reflected, or from the query's result description):

=========================================  ==========================================
column type                                kind
=========================================  ==========================================
SMALLINT, INTEGER, BIGINT                  integer
NUMERIC(p, s), 0 <= s <= p <= 38           decimal(p, s), exact
NUMERIC without (p, s), or wider than 38   string holding the database's exact text (a
                                           Polars decimal needs a fixed scale, and picking
                                           one would round); filters still compare numbers
REAL, DOUBLE PRECISION                     float
BOOLEAN                                    boolean
DATE                                       date
TIMESTAMP WITH TIME ZONE                   datetime (aware, UTC)
TIMESTAMP (naive)                          datetime, named in ``naive_datetimes``
JSON, JSONB                                json (the JSON text)
TEXT, VARCHAR, CHAR, enums                 string
anything else (uuid, time, interval,       string: ``CAST(col AS TEXT)``, rendered by the
bytea, arrays, inet, …)                    database; filters compare that text
=========================================  ==========================================

SQLite stores Conveyor's decimals and datetimes as TEXT (conveyor/load/ddl.py), so reflection
sees strings; ``kinds`` (a mapping's schema) gives such columns their kind back, and rows.py
parses the stored text. Kinds for names the source lacks are ignored. On PostgreSQL a column
whose type differs from the given kind is read through ``CAST(col AS <kind's type>)``.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from conveyor.errors import ConfigError
from conveyor.export.named_query import query_columns, single_select
from conveyor.load.ddl import DecimalText, UtcDateTimeText, column_type, reflect_table
from conveyor.load.urls import redact, translate_error
from conveyor.schema import Column, FieldKind

__all__ = ["ExportSource", "Fetch", "SourceField", "describe_source", "prepare_read"]

#: How rows.py turns a fetched value into the kind's Polars dtype ("native": already is).
Fetch = Literal[
    "native", "decimal_text", "utc_text", "pg_utc_text", "pg_naive_text", "date_text", "int_bool"
]
_CONTROL_PREFIX = "conveyor_"
_ORDERABLE_OTHER = (sa.Uuid, sa.Time, sa.Interval, postgresql.INTERVAL, sa.LargeBinary)


@dataclass(frozen=True)
class SourceField:
    """One column: its kind, what to select, what filters compare and what to order by."""

    column: Column
    select: ColumnElement[Any]
    compare: ColumnElement[Any]  # values are bound with its type
    compare_kind: FieldKind  # the kind a filter's text is converted to
    order: ColumnElement[Any]
    fetch: Fetch = "native"
    naive: bool = False


@dataclass(frozen=True)
class ExportSource:
    """A table, view or named query ready to select from."""

    name: str
    selectable: sa.FromClause
    columns: tuple[Column, ...]
    sql_columns: Mapping[str, ColumnElement[Any]]
    fields: Mapping[str, SourceField]
    dialect: str  # "sqlite" or "postgresql"
    naive_datetimes: frozenset[str] = frozenset()  # datetimes without time zone
    primary_key: tuple[str, ...] = ()  # default order: a table's primary key

    @classmethod
    def build(
        cls,
        name: str,
        selectable: sa.FromClause,
        fields: Mapping[str, SourceField],
        dialect: str,
        primary_key: tuple[str, ...] = (),
    ) -> ExportSource:
        """The source of ``fields``; the other attributes are derived from them."""
        columns = tuple(f.column for f in fields.values())
        selects = {n: f.select for n, f in fields.items()}
        naive = frozenset(n for n, f in fields.items() if f.naive)
        return cls(name, selectable, columns, selects, fields, dialect, naive, primary_key)


def describe_source(
    engine: Engine,
    name: str,
    queries_dir: Path | None = None,
    *,
    kinds: Mapping[str, Column] | None = None,
) -> ExportSource:
    """The table, view or named query ``name`` with each column's kind (see the module doc)."""
    queries = _query_files(queries_dir)
    try:
        with engine.connect() as conn:
            prepare_read(conn)
            inspector = sa.inspect(conn)
            tables = inspector.get_table_names()
            views = _view_names(inspector, conn.dialect.name)
            if name in tables or name in views:
                if name in queries:
                    what = "table" if name in tables else "view"
                    raise ConfigError(
                        f"{name!r} is both a {what} in {redact(engine.url)} and a named query "
                        f"({queries[name]}): rename the query file so the name means one thing"
                    )
                return _table_source(conn, name, kinds or {})
            if name in queries:
                return _query_source(conn, name, queries[name], kinds or {})
    except sa.exc.DBAPIError as exc:
        raise translate_error(exc, engine.url, f"read {name!r} from") from None
    raise _unknown(name, engine, tables, views, queries, queries_dir)


def prepare_read(conn: sa.Connection) -> None:
    """Start the read: on PostgreSQL a READ ONLY transaction with UTC, ISO dates and shortest
    exact floats, whatever the server's defaults (constant statements, no user text)."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
    conn.exec_driver_sql("SET LOCAL DateStyle = 'ISO, YMD'")
    conn.exec_driver_sql("SET LOCAL extra_float_digits = 1")


def _query_files(folder: Path | None) -> dict[str, Path]:
    if folder is None or not folder.is_dir():
        return {}
    return {p.stem: p for p in folder.glob("*.sql") if p.is_file()}


def _view_names(inspector: sa.Inspector, dialect: str) -> list[str]:
    views = inspector.get_view_names()
    if dialect == "postgresql":
        views += inspector.get_materialized_view_names()
    return views


def _table_source(conn: sa.Connection, name: str, kinds: Mapping[str, Column]) -> ExportSource:
    table = reflect_table(conn, name)
    assert table is not None  # listed by the inspector in this transaction
    dialect = conn.dialect.name
    fields = {
        c.name: _field(c.name, c, c.nullable is not False, dialect, kinds.get(c.name))
        for c in table.c
    }
    key = tuple(c.name for c in table.primary_key.columns)
    return ExportSource.build(name, table, fields, primary_key=key, dialect=dialect)


def _query_source(
    conn: sa.Connection, name: str, path: Path, kinds: Mapping[str, Column]
) -> ExportSource:
    text = single_select(path)
    try:
        described = query_columns(conn, text)
    except (sa.exc.DBAPIError, psycopg.Error, sqlite3.Error) as exc:
        raise translate_error(exc, conn.engine.url, f"run the named query {path} on") from None
    names = [n for n, _ in described]
    # SQLite renames a repeated name in a subquery "a:1"; PostgreSQL keeps both "a".
    renamed = {m.group(1) for n in names if (m := re.fullmatch(r"(.*):\d+", n)) and m[1] in names}
    twice = sorted({n for n in names if names.count(n) > 1} | renamed)
    if twice:
        raise ConfigError(
            f"named query {path} returns several columns named {', '.join(map(repr, twice))}: "
            "give each a distinct name with AS"
        )
    # Colons escaped: the file's text is SQL as written, never bind parameters.
    clause = sa.text(text.replace(":", "\\:") + "\n")
    query = clause.columns(*(sa.column(n, t) for n, t in described)).subquery("q")
    dialect = conn.dialect.name
    fields = {c.name: _field(c.name, c, True, dialect, kinds.get(c.name)) for c in query.c}
    return ExportSource.build(name, query, fields, dialect=dialect)


def _field(
    name: str, col: ColumnElement[Any], nullable: bool, dialect: str, given: Column | None
) -> SourceField:
    """How to read one column: by its own type, or as the given kind."""
    if given is None:
        return _typed_field(name, col, nullable, dialect)
    if dialect == "sqlite":
        return _sqlite_given(name, col, replace(given, name=name, nullable=nullable))
    own = _typed_field(name, col, nullable, dialect)
    wanted = replace(given, name=name, nullable=nullable, max_length=own.column.max_length)
    if own.column == wanted and not own.naive:
        return own
    cast = sa.cast(col, column_type(given, "postgresql"))
    return replace(_typed_field(name, cast, nullable, dialect), column=wanted)


def _typed_field(name: str, col: ColumnElement[Any], nullable: bool, dialect: str) -> SourceField:
    type_ = col.type
    sqlite = dialect == "sqlite"
    text: ColumnElement[Any] = sa.cast(col, sa.Text())
    if isinstance(type_, sa.Boolean):
        fetch: Fetch = "int_bool" if sqlite else "native"
        return _plain(Column(name, "boolean", nullable=nullable), col, _as(col, sqlite), fetch)
    if isinstance(type_, sa.Float):
        return _plain(Column(name, "float", nullable=nullable), col)
    if isinstance(type_, sa.Integer):
        return _plain(Column(name, "integer", nullable=nullable), col)
    if isinstance(type_, sa.Numeric):
        p, s = type_.precision, type_.scale
        if p is not None and s is not None and 0 <= s <= p <= 38:
            column = Column(name, "decimal", p, s, nullable=nullable)
            # PostgreSQL: its exact text, parsed by Polars (far faster than Decimal objects).
            return _plain(column, col) if sqlite else _plain(column, col, text, "decimal_text")
        compare: FieldKind = "float" if sqlite else "decimal"
        return SourceField(Column(name, "string", nullable=nullable), text, col, compare, col)
    if isinstance(type_, sa.DateTime):
        column, naive = Column(name, "datetime", nullable=nullable), not type_.timezone
        if sqlite:
            return replace(_plain(column, col), naive=naive)
        fetch = "pg_naive_text" if naive else "pg_utc_text"  # text parsed by Polars, as above
        return replace(_plain(column, col, text, fetch), naive=naive)
    if isinstance(type_, sa.Date):
        fetch = "date_text" if sqlite else "native"
        return _plain(Column(name, "date", nullable=nullable), col, _as(col, sqlite), fetch)
    if isinstance(type_, sa.JSON):
        select = sa.type_coerce(col, sa.Text()) if sqlite else text
        return SourceField(Column(name, "json", nullable=nullable), select, select, "json", select)
    if isinstance(type_, sa.String):
        length = getattr(type_, "length", None)
        column = Column(name, "string", max_length=length, nullable=nullable)
        select = text if sqlite else col  # SQLite: a TEXT column may hold numbers too
        return SourceField(column, select, col, "string", col)
    return _other(Column(name, "string", nullable=nullable), col, sqlite)


def _as(col: ColumnElement[Any], sqlite: bool) -> ColumnElement[Any]:
    """SQLite: the stored value as is (0/1, ISO text); rows.py converts it column-wise."""
    return sa.type_coerce(col, sa.types.NullType()) if sqlite else col


def _plain(
    column: Column,
    col: ColumnElement[Any],
    select: ColumnElement[Any] | None = None,
    fetch: Fetch = "native",
) -> SourceField:
    return SourceField(column, col if select is None else select, col, column.kind, col, fetch)


def _other(column: Column, col: ColumnElement[Any], sqlite: bool) -> SourceField:
    """A type with no kind of its own: its text, as the database renders it."""
    text: ColumnElement[Any] = sa.cast(col, sa.Text())
    if sqlite and isinstance(col.type, sa.LargeBinary):  # PostgreSQL's bytea text form
        text = sa.literal("\\x") + sa.func.lower(sa.func.hex(col))
    order = col if isinstance(col.type, _ORDERABLE_OTHER) else text
    return SourceField(column, text, text, "string", order)


def _sqlite_given(name: str, col: ColumnElement[Any], given: Column) -> SourceField:
    """A column of a Conveyor table on SQLite, stored as conveyor/load/ddl.py says."""
    raw = sa.type_coerce(col, sa.types.NullType())
    match given.kind:
        case "decimal":
            text = sa.cast(col, sa.Text())
            real: ColumnElement[Any] = sa.cast(col, sa.REAL())
            coerced = sa.type_coerce(col, DecimalText())
            return SourceField(given, text, coerced, "decimal", real, "decimal_text")
        case "datetime":
            utc = sa.type_coerce(col, UtcDateTimeText())
            return SourceField(given, raw, utc, "datetime", col, "utc_text")
        case "date":
            return SourceField(given, raw, sa.type_coerce(col, sa.Date()), "date", col, "date_text")
        case "boolean":
            typed = sa.type_coerce(col, sa.Boolean())
            return SourceField(given, raw, typed, "boolean", col, "int_bool")
        case "integer" | "float":
            typed = sa.type_coerce(col, column_type(given, "sqlite"))
            return SourceField(given, typed, typed, given.kind, typed)
    text = sa.cast(col, sa.Text())
    return SourceField(given, text, text, given.kind, col)


def _unknown(
    name: str,
    engine: Engine,
    tables: list[str],
    views: list[str],
    queries: Mapping[str, Path],
    queries_dir: Path | None,
) -> ConfigError:
    shown_tables = sorted(t for t in tables if not t.startswith(_CONTROL_PREFIX))
    shown_views = sorted(v for v in views if not v.startswith(_CONTROL_PREFIX))
    everything = [*shown_tables, *shown_views, *queries]
    close = difflib.get_close_matches(name, everything, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    where = f"queries in {queries_dir}" if queries_dir is not None else "queries"
    listed = "; ".join(
        f"{label}: {', '.join(names) or 'none'}"
        for label, names in (
            ("tables", shown_tables),
            ("views", shown_views),
            (where, sorted(queries)),
        )
    )
    return ConfigError(
        f"{name!r} is not a table, view or named query in {redact(engine.url)}{hint}; "
        f"available {listed}"
    )
