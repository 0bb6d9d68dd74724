"""Named queries: the file ``QUERIES_DIR/NAME.sql`` holding one SELECT (or WITH … SELECT),
checked to be a single statement, and the names and types of the columns it returns."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from conveyor.errors import ConfigError

__all__ = ["query_columns", "single_select"]


# A hand-written scanner: no SQL parser is a dependency, and this needs only to tell code from
# comments, strings, quoted names and dollar quotes to find the statement's first word and ';'.
_TOKENS = re.compile(
    r"--[^\n]*|/\*.*?\*/"  # comments
    r"|[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`"  # strings, names
    r"|\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)\$"  # dollar-quoted text
    r"|(?P<word>[A-Za-z_]\w*)|(?P<semicolon>;)|\S",
    re.DOTALL,
)


def single_select(path: Path) -> str:
    """The one SELECT (or WITH … SELECT) of a named query file, without a final ';'."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read named query {path}: {exc}") from None
    first: str | None = None
    end: int | None = None
    for token in _TOKENS.finditer(text):
        if token.group().startswith(("--", "/*")):
            continue
        if end is not None:
            raise ConfigError(
                f"named query {path} holds more than one statement (text after the ';' on "
                f"line {text.count(chr(10), 0, end) + 1}): keep one SELECT in the file"
            )
        first = first or (token.group("word") or token.group()).upper()
        if token.group("semicolon"):
            end = token.start()
    if first not in ("SELECT", "WITH"):
        found = f"starts with {first!r}" if first else "is empty"
        raise ConfigError(f"named query {path} {found}: it must be one SELECT (or WITH … SELECT)")
    return text[:end]


def query_columns(conn: sa.Connection, text: str) -> list[tuple[str, Any]]:
    """Names and types of the query's columns: names from its result description (run with
    LIMIT 0); types from the description on PostgreSQL, which SQLite's lacks."""
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:  # no parameters: both drivers send the text as written
        cursor.execute(f"SELECT * FROM ({text}\n) AS q LIMIT 0")  # noqa: S608 (trusted file)
        description = list(cursor.description or ())
    finally:
        cursor.close()
    if conn.dialect.name == "sqlite":
        declared = _sqlite_declared_types(conn, text)
        return [(d[0], declared.get(d[0], sa.types.NullType())) for d in description]
    types = driver.adapters.types
    return [
        (d.name, _pg_type(getattr(types.get(d.type_code), "name", ""), d.precision, d.scale))
        for d in description
    ]


_PG_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "int2": sa.SmallInteger(),
    "int4": sa.Integer(),
    "int8": sa.BigInteger(),
    "float4": sa.REAL(),
    "float8": sa.Double(),
    "bool": sa.Boolean(),
    "date": sa.Date(),
    "timestamp": sa.DateTime(),
    "timestamptz": sa.DateTime(timezone=True),
    "json": postgresql.JSON(),
    "jsonb": postgresql.JSONB(),
    "text": sa.Text(),
    "varchar": sa.String(),
    "bpchar": sa.CHAR(),
    "name": sa.String(),
    "uuid": sa.Uuid(),
    "time": sa.Time(),
    "interval": postgresql.INTERVAL(),
    "bytea": sa.LargeBinary(),
}


def _pg_type(name: str, precision: int | None, scale: int | None) -> sa.types.TypeEngine[Any]:
    if name == "numeric":
        return sa.Numeric(precision, scale, asdecimal=True)
    return _PG_TYPES.get(name, sa.types.NullType())


def _sqlite_declared_types(conn: sa.Connection, text: str) -> dict[str, Any]:
    """A (temporary) view over the query reports the declared type of each column it reads
    directly from a table; computed columns have none (text unless ``kinds`` says)."""
    view = f"conveyor_probe_{uuid.uuid4().hex}"
    quoted = conn.dialect.identifier_preparer.quote(view)
    conn.exec_driver_sql(f"CREATE TEMP VIEW {quoted} AS {text}\n")
    try:
        return {c["name"]: c["type"] for c in sa.inspect(conn).get_columns(view, schema="temp")}
    finally:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS temp.{quoted}")
