"""Seed files for the fake instance (``python -m conveyor.testing.fakes.servicenow --seed FILE``).

A YAML (or JSON) mapping of table name to the records to insert, in order, with the values the
Table API takes (references by sys_id or display value)::

    incident:
      - short_description: Printer jam
        u_conveyor_key: ext-1
        state: 2
        assignment_group: Network
    sys_user_group:
      - name: Database
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from conveyor.testing.fakes.servicenow.fake import FakeServiceNow

__all__ = ["SeedFileError", "apply_seed", "load_seed"]


class SeedFileError(ValueError):
    """The seed file cannot be used; the message names the file, the entry and what to fix."""


def load_seed(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SeedFileError(f"{path}: cannot read the seed file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SeedFileError(f"{path}: a seed file maps table names to lists of records")
    return data


def apply_seed(
    fake: FakeServiceNow, data: Mapping[str, Any], source: str = "seed"
) -> dict[str, list[str]]:
    """Insert the seed's records; returns their sys_ids per table."""
    inserted: dict[str, list[str]] = {}
    for table, entries in data.items():
        if not isinstance(entries, list):
            raise SeedFileError(f"{source}: '{table}' must be a list of records")
        for number, entry in enumerate(entries):
            where = f"{source}: {table}[{number}]"
            if not isinstance(entry, dict):
                raise SeedFileError(f"{where}: a record is a mapping of column to value")
            try:
                inserted.setdefault(table, []).append(fake.insert(str(table), entry))
            except (ValueError, KeyError) as exc:
                raise SeedFileError(f"{where}: {exc}") from None
    return inserted
