"""Seed files for the fake (used by ``python -m conveyor.testing.fakes.salesforce --seed``).

A YAML or JSON document::

    objects:                     # custom objects to add (optional)
      Invoice__c: [{name: Amount__c, type: currency}]
    fields:                      # custom fields on existing objects (optional)
      Account: [{name: Conveyor_Key__c, type: string, external_id: true, unique: true}]
    records:                     # records to create, in order (optional)
      Account: [{Name: Acme, Conveyor_Key__c: A-1}]

Field entries take the keyword arguments of :func:`~.describe.custom_field`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from conveyor.testing.fakes.salesforce.describe import FieldSpec, custom_field
from conveyor.testing.fakes.salesforce.fake import FakeSalesforce

__all__ = ["SeedFileError", "apply_seed", "load_seed"]

_SECTIONS = ("objects", "fields", "records")


class SeedFileError(ValueError):
    """The seed file cannot be used; the message names the file and what to fix."""


def load_seed(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SeedFileError(f"{path}: cannot read the seed file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - set(_SECTIONS):
        raise SeedFileError(f"{path}: a seed file is a mapping with the sections {_SECTIONS}")
    return data


def apply_seed(fake: FakeSalesforce, data: Mapping[str, Any], source: str = "seed") -> None:
    for name, entries in _mapping(data, "objects", source).items():
        fake.add_object(name, [_field(e, f"{source}: objects.{name}") for e in entries or ()])
    for name, entries in _mapping(data, "fields", source).items():
        for entry in entries or ():
            fake.add_field(name, _field(entry, f"{source}: fields.{name}"))
    for name, records in _mapping(data, "records", source).items():
        try:
            fake.seed(name, records or [])
        except ValueError as exc:
            raise SeedFileError(f"{source}: records.{name}: {exc}") from None


def _mapping(data: Mapping[str, Any], section: str, source: str) -> Mapping[str, Any]:
    value = data.get(section) or {}
    if not isinstance(value, dict):
        raise SeedFileError(f"{source}: '{section}' must map object names to lists")
    return value


def _field(entry: object, where: str) -> FieldSpec:
    allowed = set(inspect.signature(custom_field).parameters)
    if not isinstance(entry, dict) or "name" not in entry or set(entry) - allowed:
        raise SeedFileError(f"{where}: a field needs 'name' and may have {sorted(allowed)}")
    try:
        return custom_field(**entry)
    except (TypeError, ValueError) as exc:
        raise SeedFileError(f"{where}: {exc}") from None
