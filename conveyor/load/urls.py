"""Database URLs, engines and the translation of driver errors into Conveyor's errors.

Every message that names a database shows its URL with the password hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

from conveyor.errors import ConfigError, ConveyorError, TransientError

__all__ = [
    "SUPPORTED_SCHEMES",
    "Dialect",
    "create_engine",
    "dialect_of",
    "make_engine",
    "parse_url",
    "redact",
    "translate_error",
]

Dialect = Literal["sqlite", "postgresql"]

SUPPORTED_SCHEMES = "sqlite:///PATH.db, postgresql://USER@HOST:PORT/DB, postgresql+psycopg://…"

_DRIVERS: dict[str, tuple[Dialect, str]] = {
    "sqlite": ("sqlite", "sqlite+pysqlite"),
    "sqlite+pysqlite": ("sqlite", "sqlite+pysqlite"),
    "postgresql": ("postgresql", "postgresql+psycopg"),
    "postgres": ("postgresql", "postgresql+psycopg"),
    "postgresql+psycopg": ("postgresql", "postgresql+psycopg"),
}

# Fragments of libpq/psycopg connection messages (they carry no SQLSTATE) -> retrying helps?
_CONNECT_MESSAGES: tuple[tuple[str, bool], ...] = (
    ("password authentication failed", False),
    ("no pg_hba.conf entry", False),
    ("does not exist", False),  # unknown database or role
    ("failed to resolve host", False),
    ("could not translate host name", False),
    ("permission denied", False),
    ("connection refused", True),
    ("starting up", True),
    ("shutting down", True),
    ("in recovery mode", True),
    ("too many clients", True),
    ("timeout", True),
    ("server closed the connection", True),
)

# SQLSTATE classes (first two characters) or full codes whose failure retrying can fix.
_TRANSIENT_SQLSTATES = ("08", "40", "53", "57P01", "57P02", "57P03", "55P03", "58")


def parse_url(url: str) -> URL:
    """Parse and normalise a target URL: PostgreSQL goes through psycopg 3.

    A relative SQLite path is resolved against the working folder now, so a later change of
    folder does not move the database.
    """
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigError(
            f"cannot parse database URL {_safe_text(url)!r}; supported: {SUPPORTED_SCHEMES}"
        ) from None
    known = _DRIVERS.get(parsed.drivername)
    if known is None:
        raise ConfigError(
            f"unsupported database URL scheme {parsed.drivername!r} in "
            f"{parsed.render_as_string(hide_password=True)}; supported: {SUPPORTED_SCHEMES}"
        )
    parsed = parsed.set(drivername=known[1])
    if known[0] == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.parent.is_dir():
            raise ConfigError(
                f"folder {path.parent} of SQLite database {redact(parsed)} does not exist: "
                "create it or fix the path"
            )
        parsed = parsed.set(database=str(path))
    return parsed


def dialect_of(url: URL) -> Dialect:
    return "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"


def redact(url: str | URL) -> str:
    """The URL as text with its password shown as ``***``."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (sa.exc.ArgumentError, ValueError):
            return "<unparseable URL>"
    return url.render_as_string(hide_password=True)


SQLITE_BUSY_SECONDS = 60.0


def create_engine(url: URL, *, check: bool = True, read_only: bool = False) -> Engine:
    """An engine for ``url`` (already parsed); with ``check`` it connects once to fail early.

    ``read_only`` (exports): SQLite transactions start with a plain ``BEGIN``, so reading takes
    no write lock and imports are not kept out while an export reads.
    """
    if dialect_of(url) == "sqlite":
        # A writer waits up to a minute for another one (SQLite has one writer at a time),
        # unless the URL says otherwise (``?timeout=``).
        wait = {} if "timeout" in url.query else {"timeout": SQLITE_BUSY_SECONDS}
        engine = sa.create_engine(url, connect_args=wait)
        _make_sqlite_transactional(engine, "BEGIN" if read_only else "BEGIN IMMEDIATE")
    else:
        connect_args: dict[str, Any] = {"connect_timeout": 10}
        if "options" not in url.query:
            # Timestamps in UTC: TIMESTAMP WITHOUT TIME ZONE columns then store UTC wall time.
            connect_args["options"] = "-c TimeZone=UTC"
        engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    if check:
        try:
            with engine.connect():
                pass
        except sa.exc.DBAPIError as exc:
            engine.dispose()
            raise translate_error(exc, url, "connect to") from None
    return engine


def make_engine(url: str) -> Engine:
    """``parse_url`` then ``create_engine``: a checked engine for a target URL string."""
    return create_engine(parse_url(url))


def _make_sqlite_transactional(engine: Engine, begin: str) -> None:
    """Let SQLAlchemy own transactions, DDL included (the pysqlite recipe from its docs).

    Writers use ``BEGIN IMMEDIATE``: it takes the write lock when the transaction starts, so
    what a batch reads (which keys exist) stays true until it commits, and two writers queue
    instead of failing with "database is locked" half way through a transaction.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(begin)


def translate_error(exc: BaseException, url: URL, action: str) -> ConveyorError:
    """Map a driver error to TransientError (retry may help) or ConfigError (fix something)."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    text = _scrub(str(orig).strip(), url)
    where = f"cannot {action} {redact(url)}: {text}"
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        retry = sqlstate.startswith(_TRANSIENT_SQLSTATES)
    else:
        lowered = text.lower()
        hits = [retry for fragment, retry in _CONNECT_MESSAGES if fragment in lowered]
        retry = hits[0] if hits else _sqlite_transient(lowered)
    if retry:
        return TransientError(where)
    return ConfigError(where)


def _sqlite_transient(lowered: str) -> bool:
    return "database is locked" in lowered or "database table is locked" in lowered


def _scrub(text: str, url: URL) -> str:
    """Drop the password from a driver message, should one ever echo it."""
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def _safe_text(url: str) -> str:
    # An unparseable URL may still hold a password after '://user:'; hide anything before '@'.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
