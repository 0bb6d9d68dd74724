"""The plain-PostgreSQL baselines of the write-path benchmark (bench/write_path.py).

- ``raw_copy``: the file's bytes through ``COPY … (FORMAT csv, HEADER true)`` into an empty table
  of twelve text columns: the load limit, no casts, no key, no dedupe.
- ``handwritten_upsert``: the best hand-written SQL for the job ``bench/contacts.yaml`` does. In
  one transaction: ``COPY`` the file into a temporary table of text columns (plus an identity
  column that keeps the file order), then one ``INSERT … SELECT DISTINCT ON … ON CONFLICT … DO
  UPDATE`` with the mapping's trims, casts and checks written in SQL, the last row of a repeated
  key winning and rows whose values are already stored left alone.

The SQL mirrors the mapping field by field (``TARGET_COLUMNS``; a test checks the two agree and
that both give the same table). Differences: a value the SQL cannot cast (a malformed date, say)
fails the whole statement where Conveyor rejects the row, and no rejects file or job row is
written. "Strip" here trims ASCII whitespace; Polars also trims other Unicode spaces (the
generated file has none).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

__all__ = [
    "RAW_COLUMNS",
    "TARGET_COLUMNS",
    "Timed",
    "check_patterns",
    "connect",
    "copy_file",
    "create_raw_table",
    "email_check",
    "fingerprint",
    "handwritten_upsert",
    "raw_copy",
    "upsert_sql",
]

#: The generated file's columns, in order, as text columns of the raw and staging tables.
RAW_COLUMNS = (
    "contact_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "street",
    "city",
    "country",
    "signup_date",
    "lifetime_value",
    "last_modified",
)
ORDER_COLUMN = "file_order"
STAGE_TABLE = "handwritten_stage"
_WS = r"E' \t\n\r\x0B\f'"  # the ASCII whitespace that `strip` removes
_TEXT = f"nullif(btrim({{}}, {_WS}), '')"  # strip, then empty means null (as Conveyor does)
#: target column -> (raw column, SQL expression of the raw text value): bench/contacts.yaml.
TARGET_COLUMNS: dict[str, tuple[str, str]] = {
    "email": ("email", f"lower({_TEXT})"),
    "contact_id": ("contact_id", f"{_TEXT}::bigint"),
    "first_name": ("first_name", _TEXT),
    "last_name": ("last_name", _TEXT),
    "phone": ("phone", _TEXT),
    "company": ("company", f"nullif(regexp_replace(btrim({{}}, {_WS}), '\\s+', ' ', 'g'), '')"),
    "street": ("street", _TEXT),
    "city": ("city", _TEXT),
    "country": ("country", f"upper({_TEXT})"),
    "signed_up": ("signup_date", f"to_date({_TEXT}, 'DD/MM/YYYY')"),
    "lifetime_value": ("lifetime_value", f"replace({_TEXT}, ',', '')::numeric(12, 2)"),
    "modified_at": ("last_modified", f"({_TEXT}::timestamp AT TIME ZONE 'UTC')"),
}
KEY = "email"
#: The mapping's checks on the typed values; the patterns are bound (see ``check_patterns``).
#: Conveyor's e-mail pattern bounds each domain label to 63 characters with ``{0,61}``, which
#: PostgreSQL's regex engine runs five times slower than the unbounded form; so: the unbounded
#: form, and the bound checked only when the whole domain is longer than 63 characters. Same
#: answer for every address (a test compares the two forms in PostgreSQL).
_EMAIL_CHECK = (
    "{email} ~ %(email_pattern)s"
    " AND (char_length(split_part({email}, '@', 2)) <= 63 OR {email} !~ %(long_label)s)"
)
_CHECKS = (
    "{email_check} AND char_length(s.email) <= 254 AND s.contact_id IS NOT NULL"
    " AND (s.phone IS NULL OR s.phone ~ %(phone_pattern)s)"
    " AND (s.country IS NULL OR s.country ~ %(country_pattern)s)"
    " AND (s.lifetime_value IS NULL OR s.lifetime_value >= 0)"
)
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
#: conveyor.mapping.checks.EMAIL_PATTERN without the label length bound.
EMAIL_PATTERN = rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$"
#: A domain label of 64 characters or more (after the unbounded pattern has matched).
LONG_LABEL = "@[^@]*[A-Za-z0-9-]{64}"


@dataclass(frozen=True)
class Timed:
    """A baseline's time and what PostgreSQL reported: rows copied, rows written."""

    seconds: float
    copied: int
    written: int | None = None


def connect(server: URL, database: str | None = None) -> psycopg.Connection[Any]:
    """A psycopg connection to ``database`` (default: the URL's) on the server of ``server``."""
    return psycopg.connect(
        host=server.host or "127.0.0.1",
        port=server.port or 5432,
        user=server.username or "postgres",
        password=server.password or None,
        dbname=database or server.database or "postgres",
    )


def check_patterns() -> dict[str, str]:
    """The bound parameters of ``upsert_sql``: the regular expressions of the mapping's checks."""
    from conveyor.mapping import load_mapping

    fields = load_mapping(Path(__file__).resolve().parent / "contacts.yaml").fields
    return {
        "email_pattern": EMAIL_PATTERN,
        "long_label": LONG_LABEL,
        "phone_pattern": fields["phone"].checks.regex or "",
        "country_pattern": fields["country"].checks.regex or "",
    }


def email_check(column: sql.Composable) -> sql.Composed:
    """Conveyor's e-mail check of ``column``, in the form PostgreSQL runs fast (see above)."""
    return sql.SQL(_EMAIL_CHECK).format(email=column)


def create_raw_table(name: str, *, temporary: bool = False) -> sql.Composed:
    """``CREATE TABLE`` of the twelve text columns; the temporary one also numbers its rows."""
    columns = [sql.SQL("{} text").format(sql.Identifier(c)) for c in RAW_COLUMNS]
    if temporary:
        order = sql.SQL("{} bigint GENERATED ALWAYS AS IDENTITY")
        columns.append(order.format(sql.Identifier(ORDER_COLUMN)))
    kind = sql.SQL("TEMP TABLE" if temporary else "TABLE")
    on_commit = sql.SQL(" ON COMMIT DROP" if temporary else "")
    return sql.SQL("CREATE {} {} ({}){}").format(
        kind, sql.Identifier(name), sql.SQL(", ").join(columns), on_commit
    )


def upsert_sql(target: str, stage: str = STAGE_TABLE) -> sql.Composed:
    """The one statement from the staging table into ``target``; binds ``check_patterns()``."""
    names = list(TARGET_COLUMNS)
    values = [n for n in names if n != KEY]
    exprs = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(
            sql.SQL(expr).format(sql.Identifier("r", raw)), sql.Identifier(name)
        )
        for name, (raw, expr) in TARGET_COLUMNS.items()
    )
    key_c = sql.SQL('{} COLLATE "C"').format(sql.Identifier("s", KEY))  # byte order: fastest
    template = (
        "INSERT INTO {target} AS t ({names}) "
        "SELECT DISTINCT ON ({key_c}) {picked} "
        "FROM (SELECT {exprs}, r.{order} FROM {stage} AS r OFFSET 0) AS s "  # each value once
        "WHERE {checks} "
        "ORDER BY {key_c}, s.{order} DESC "
        "ON CONFLICT ({key}) DO UPDATE SET {sets} "
        "WHERE ({stored}) IS DISTINCT FROM ({excluded})"
    )
    return sql.SQL(template).format(
        target=sql.Identifier(target),
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        key_c=key_c,
        checks=sql.SQL(_CHECKS).format(email_check=email_check(sql.Identifier("s", KEY))),
        picked=sql.SQL(", ").join(sql.Identifier("s", n) for n in names),
        exprs=exprs,
        order=sql.Identifier(ORDER_COLUMN),
        stage=sql.Identifier(stage),
        key=sql.Identifier(KEY),
        sets=sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(n), sql.Identifier("excluded", n))
            for n in values
        ),
        stored=sql.SQL(", ").join(sql.Identifier("t", n) for n in values),
        excluded=sql.SQL(", ").join(sql.Identifier("excluded", n) for n in values),
    )


def fingerprint(conn: psycopg.Connection[Any], table: str) -> str:
    """Row count and sum of the rows' text hashes: equal tables give equal fingerprints."""
    query = sql.SQL("SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0) FROM {} AS t")
    row = conn.execute(query.format(sql.Identifier(table))).fetchone()
    return f"{row[0]}:{row[1]}" if row else ""


def copy_file(cursor: psycopg.Cursor[Any], table: str, path: Path) -> int:
    """Stream the CSV file's bytes into ``table``'s text columns; the rows copied."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, RAW_COLUMNS))
    )
    with path.open("rb") as handle, cursor.copy(statement) as copy:
        while chunk := handle.read(1 << 20):
            copy.write(chunk)
    return cursor.rowcount


def raw_copy(conn: psycopg.Connection[Any], path: Path, table: str = "raw_contacts") -> Timed:
    """(a) Create an empty text table (untimed), then time the ``COPY`` and its commit."""
    conn.execute(create_raw_table(table))
    conn.commit()
    started = time.perf_counter()
    with conn.cursor() as cursor:
        copied = copy_file(cursor, table, path)
    conn.commit()
    return Timed(time.perf_counter() - started, copied)


def handwritten_upsert(
    conn: psycopg.Connection[Any], path: Path, target: str, patterns: Mapping[str, str]
) -> Timed:
    """(c) baseline: staging table, ``COPY``, the one upsert and the commit, all timed."""
    started = time.perf_counter()
    with conn.cursor() as cursor:
        cursor.execute(create_raw_table(STAGE_TABLE, temporary=True))
        copied = copy_file(cursor, STAGE_TABLE, path)
        cursor.execute(upsert_sql(target), dict(patterns))
        written = cursor.rowcount
    conn.commit()
    return Timed(time.perf_counter() - started, copied, written)
