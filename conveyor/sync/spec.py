"""The sync job spec: pydantic models of a sync job YAML file (``mappings/<connector>/NAME.yaml``).

A sync job keeps a local table and a remote entity in step. Every model forbids unknown keys,
so a typo is an error; the loader names the file, the key and its line. Connection settings and
secrets are never in the file: ``remote.connection`` names a Prefect Secret block or an
environment prefix that holds them (see :mod:`conveyor.sync.connections`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from conveyor.mapping.transforms import Transform

__all__ = [
    "ConflictPolicy",
    "ConflictSpec",
    "DeletePolicy",
    "DeleteSpec",
    "Direction",
    "FallbackPolicy",
    "LocalSpec",
    "LocalType",
    "RemoteSpec",
    "SyncField",
    "SyncJobSpec",
]

Direction = Literal["inbound", "outbound", "bidirectional"]
ConflictPolicy = Literal["source_wins", "target_wins", "newest_wins", "field_merge", "manual"]
FallbackPolicy = Literal["source_wins", "target_wins", "newest_wins", "manual"]
DeletePolicy = Literal["propagate", "ignore", "soft"]
LocalType = Literal["text", "integer", "decimal", "boolean", "date", "datetime", "json"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_JOB_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_STRICT = ConfigDict(extra="forbid")
_EPOCH = datetime(2026, 1, 1)  # any start: only the cron expression is checked


def _identifier(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueError(
            f"{name!r} is not a column name: use letters, digits and underscores, "
            "starting with a letter, at most 63 characters"
        )
    return name


class LocalSpec(BaseModel):
    """The local side: a table in the job's database."""

    model_config = _STRICT

    table: str = Field(description="The local table (letters, digits, underscores).")
    key: str = Field(description="The local key column: one value per record, never changed.")
    modified_column: str | None = Field(
        None,
        description="A timestamp column the application updates on every change. With it, "
        "runs read only rows changed since the last run; without it, every run compares the "
        "whole table with the last agreed values (fine up to a few hundred thousand rows).",
    )
    filter: dict[str, str | int | bool | None] | None = Field(
        None,
        description="Only rows whose columns equal these values take part (values bound).",
    )

    _names = field_validator("table", "key", "modified_column")(
        lambda v: None if v is None else _identifier(v)
    )


class RemoteSpec(BaseModel):
    """The remote side: an entity of a system reached through a connector."""

    model_config = _STRICT

    connector: str = Field(description="The connector's registered name (e.g. salesforce).")
    connection: str = Field(
        description="Where the connection settings live: the name of a Prefect Secret block "
        "holding a JSON object, or else environment variables CONVEYOR_<NAME>_<SETTING> "
        "(NAME upper-cased, - and . as _). Never the settings themselves."
    )
    entity: str = Field(description="The remote entity (Account, issue, incident, ...).")
    external_id_field: str = Field(
        description="The remote field that holds our local key, so a create that is retried "
        "after a crash finds the record instead of making a second one."
    )
    filter: str | None = Field(
        None, description="A filter in the connector's own query language (SOQL, JQL, ...)."
    )


class SyncField(BaseModel):
    """One field kept in step: a local column and a remote field."""

    model_config = _STRICT

    remote: str = Field(description="The remote field's name.")
    type: LocalType = Field("text", description="The local column's type.")
    direction: Direction | None = Field(
        None,
        description="Limit this field to one direction (e.g. inbound for a remote-only "
        "computed value). Default: the job's direction.",
    )
    to_local: list[Transform] = Field(
        default_factory=list, description="Text transforms applied to the remote value inbound."
    )
    to_remote: list[Transform] = Field(
        default_factory=list, description="Text transforms applied to the local value outbound."
    )


class ConflictSpec(BaseModel):
    """What happens to a record changed on both sides since they last agreed."""

    model_config = _STRICT

    policy: ConflictPolicy = Field(
        "manual",
        description="source_wins: the remote's values win; target_wins: the local values win; "
        "newest_wins: the side changed last wins; field_merge: fields changed on one side only "
        "merge, fields changed on both follow the fallback; manual: a conflict waits in "
        "`conveyor conflicts list` for a person.",
    )
    fallback: FallbackPolicy = Field(
        "manual", description="field_merge only: the policy for fields changed on both sides."
    )


class DeleteSpec(BaseModel):
    """What happens on one side when the record is deleted on the other."""

    model_config = _STRICT

    policy: DeletePolicy = Field(
        "ignore",
        description="propagate: delete it on the other side too; ignore: unlink and keep it; "
        "soft: keep it and set `column` to the time of the delete.",
    )
    column: str | None = Field(None, description="soft only: the local timestamp column.")
    key_scan_every: int = Field(
        24,
        ge=1,
        description="Runs between two scans of every remote id, for connectors that cannot "
        "report deletes themselves.",
    )

    @model_validator(mode="after")
    def _column_for_soft(self) -> DeleteSpec:
        if self.policy == "soft" and not self.column:
            raise ValueError("policy soft needs `column`: the local column set to the time")
        if self.column is not None:
            _identifier(self.column)
        return self


class SyncJobSpec(BaseModel):
    """A sync job: keep a local table and a remote entity in step."""

    model_config = _STRICT

    name: str | None = Field(None, description="The job's name (default: the file's stem).")
    description: str | None = Field(None, description="What the job is for.")
    local: LocalSpec = Field(description="The local table.")
    remote: RemoteSpec = Field(description="The remote entity and its connection.")
    fields: dict[str, SyncField] = Field(
        description="Local column -> remote field, for every field kept in step."
    )
    direction: Direction = Field(
        "bidirectional",
        description="inbound: remote to local; outbound: local to remote; bidirectional: both.",
    )
    conflict: ConflictSpec = Field(default_factory=ConflictSpec, description="Conflicts.")
    deletes: DeleteSpec = Field(default_factory=DeleteSpec, description="Deletes.")
    natural_key: list[str] = Field(
        default_factory=list,
        description="Local columns (among `fields`) that identify the same record on both "
        "sides before any link exists: on a first run such records are linked, not duplicated.",
    )
    schedule: str | None = Field(None, description="A cron expression for the deployment.")
    overlap_seconds: int = Field(
        300,
        ge=0,
        description="Each incremental read starts this long before the last cursor, so "
        "records committed late or with equal timestamps are not missed; records already "
        "seen are dropped.",
    )
    batch_size: int = Field(
        500,
        ge=1,
        description="Records per commit (and per write call, split further to the connector's "
        "limit); a connector with a bulk path takes larger batches when more work waits.",
    )

    @field_validator("name")
    @classmethod
    def _job_name(cls, name: str | None) -> str | None:
        if name is not None and not _JOB_NAME_RE.match(name):
            raise ValueError(f"{name!r}: use letters, digits, '_', '-' and '.'")
        return name

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, SyncField]) -> dict[str, SyncField]:
        if not fields:
            raise ValueError("a sync job keeps at least one field in step")
        for name in fields:
            _identifier(name)
        return fields

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str | None) -> str | None:
        if schedule is not None:
            try:
                CronSim(schedule, _EPOCH)
            except CronSimError as exc:
                raise ValueError(f"{schedule!r} is not a cron expression: {exc}") from None
        return schedule

    @model_validator(mode="after")
    def _consistent(self) -> SyncJobSpec:
        problems = []
        if self.local.key in self.fields:
            problems.append(
                f"the local key {self.local.key!r} travels in remote.external_id_field; "
                "it cannot also be in `fields`"
            )
        unknown = [n for n in self.natural_key if n not in self.fields]
        if unknown:
            problems.append(f"natural_key names {unknown}, which are not in `fields`")
        remotes = [f.remote for f in self.fields.values()]
        twice = sorted({r for r in remotes if remotes.count(r) > 1})
        if twice:
            problems.append(f"remote fields mapped twice: {twice}")
        if self.remote.external_id_field in remotes:
            problems.append("the external-id field holds our key; it cannot also be a field")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def fields_for(self, direction: Literal["inbound", "outbound"]) -> dict[str, SyncField]:
        """The fields that flow in ``direction``."""
        if self.direction not in (direction, "bidirectional"):
            return {}
        return {
            name: f
            for name, f in self.fields.items()
            if f.direction in (None, direction, "bidirectional")
        }
