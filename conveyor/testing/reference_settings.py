"""The reference connector's settings: its store's URL, entities and how it imitates a remote.

Kept apart from the connector so the settings can be read (and their errors worded) without the
store or the connector; :func:`settings_error` words a validation failure without echoing the
input, since one of the values is the URL with its password.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from conveyor.connector import RemoteFieldType
from conveyor.errors import ConfigError

__all__ = [
    "ID_FIELD",
    "MODIFIED_FIELD",
    "EntitySettings",
    "ReferenceSettings",
    "StoreDeletes",
    "settings_error",
]

ID_FIELD = "Id"
MODIFIED_FIELD = "LastModified"
StoreDeletes = Literal["tombstones", "key_scan"]

_ENTITY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


class EntitySettings(BaseModel):
    """One entity: its fields and their types, and the field that holds the caller's key.

    The short form ``{Name: string, Ext: string, external_id_field: Ext}`` is accepted too.
    """

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, RemoteFieldType] = Field(description="Field name -> its type.")
    external_id_field: str | None = Field(
        None, description="The field creates upsert on (holds the caller's key)."
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not isinstance(data.get("fields"), Mapping):
            rest = {k: v for k, v in data.items() if k != "external_id_field"}
            return {"fields": rest, "external_id_field": data.get("external_id_field")}
        return data

    @model_validator(mode="after")
    def _names(self) -> EntitySettings:
        if not self.fields:
            raise ValueError("declare at least one field")
        clashes = sorted({ID_FIELD, MODIFIED_FIELD} & set(self.fields))
        if clashes:
            raise ValueError(f"{', '.join(clashes)}: reserved for the record's id and time")
        ext = self.external_id_field
        if ext is not None and ext not in self.fields:
            raise ValueError(f"external_id_field {ext!r} is not among the fields")
        return self


class ReferenceSettings(BaseModel):
    """Connection settings of the reference connector (``url`` is a secret: never printed)."""

    model_config = ConfigDict(extra="forbid")

    url: SecretStr = Field(description="Database URL of the store (sqlite:///… or postgresql://…).")
    entities: dict[str, EntitySettings] = Field(
        description="Entity name -> its fields (JSON text accepted, for environment variables)."
    )
    page_size: int = Field(200, ge=1, le=100_000, description="Records per read call.")
    batch_size: int = Field(200, ge=1, le=100_000, description="Records per write call.")
    delete_detection: StoreDeletes = Field(
        "tombstones",
        description="tombstones: deleted records are read back deleted; key_scan: they vanish.",
    )
    latency_ms: float = Field(0, ge=0, description="Sleep per call, to imitate a network.")
    fail_rate: float = Field(0, ge=0, le=1, description="Share of calls failing transiently.")
    seed: int | None = Field(None, description="Seed of the random fail_rate failures.")

    @model_validator(mode="before")
    @classmethod
    def _entities_as_json(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("entities"), str):
            try:
                return {**data, "entities": json.loads(data["entities"])}
            except json.JSONDecodeError as exc:
                raise ValueError(f"entities: not JSON ({exc.msg})") from None
        return data

    @model_validator(mode="after")
    def _entity_names(self) -> ReferenceSettings:
        if not self.entities:
            raise ValueError("declare at least one entity")
        bad = [n for n in self.entities if not _ENTITY_RE.match(n)]
        if bad:
            raise ValueError(
                f"entity names {bad}: use letters, digits and underscores, starting with a "
                "letter, at most 40 characters"
            )
        return self


def settings_error(exc: ValidationError) -> ConfigError:
    """The problems by location, without the input values (one may be the URL)."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
        for error in exc.errors()
    )
    return ConfigError(f"reference connector settings: {problems}")
