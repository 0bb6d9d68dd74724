"""Typed settings read from the environment (prefix ``CONVEYOR_``).

The database URL may hold a password, so it is a ``SecretStr``: it is never printed; messages
show it through :func:`redact_url`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///conveyor.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    database_url: SecretStr = Field(
        SecretStr(DEFAULT_DATABASE_URL),
        description="Target database URL (sqlite:///file.db or postgresql://user@host/db).",
    )
    mappings_dir: Path = Field(Path("mappings"), description="Where mapping names are looked up.")
    queries_dir: Path = Field(
        Path("queries"), description="Where named queries (NAME.sql, one SELECT) are looked up."
    )
    data_dir: Path = Field(Path("."), description="Working folder for uploads and rejects files.")
    load_batch_rows: int = Field(
        200_000,
        ge=1,
        description="Rows per load transaction (each commits with its checkpoint). Larger "
        "batches are faster; smaller ones lose less work when a job is interrupted.",
    )


def get_settings() -> Settings:
    return Settings()


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, safe to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"
