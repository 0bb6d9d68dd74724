"""Seed files for the fake system (``python -m conveyor.testing.fakes.sap --seed FILE``).

A YAML (or JSON) mapping with a list of business partners to create, in order, with the values
the API takes (JSON forms: ``"/Date(ms)/"``, ``"PT10H30M00S"``, decimals as strings)::

    A_BusinessPartner:
      - BusinessPartnerCategory: "1"
        FirstName: Ada
        LastName: Lovelace
        YY1_ConveyorKey: ext-1
      - {BusinessPartner: "2000001", BusinessPartnerCategory: "2", OrganizationBPName1: ACME}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from conveyor.testing.fakes.sap.fake import FakeSap
from conveyor.testing.fakes.sap.schema import PARTNER_SET

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
        raise SeedFileError(f"{path}: a seed file maps '{PARTNER_SET}' to a list of partners")
    return data


def apply_seed(fake: FakeSap, data: Mapping[str, Any], source: str = "seed") -> list[str]:
    """Create the seed's partners; returns their keys."""
    unknown = [name for name in data if name != PARTNER_SET]
    if unknown:
        raise SeedFileError(f"{source}: unknown entity set(s) {unknown}; only '{PARTNER_SET}'")
    entries = data.get(PARTNER_SET) or []
    if not isinstance(entries, list):
        raise SeedFileError(f"{source}: '{PARTNER_SET}' must be a list of partners")
    keys: list[str] = []
    for number, entry in enumerate(entries):
        where = f"{source}: {PARTNER_SET}[{number}]"
        if not isinstance(entry, dict):
            raise SeedFileError(f"{where}: a partner is a mapping of property to value")
        try:
            keys.append(fake.insert(entry))
        except (ValueError, KeyError) as exc:
            raise SeedFileError(f"{where}: {exc}") from None
    return keys
