"""Seed files for the fake Jira (``python -m conveyor.testing.fakes.jira --seed FILE``).

A YAML (or JSON) document with the issues to create, in order::

    issues:
      - project: TIC                 # optional, TIC by default
        issuetype: Bug               # optional, Task by default
        status: In Progress          # optional, To Do by default
        comments: [First look]       # optional
        summary: Printer jam         # every other key is a field, as REST v2 takes it
        description: It jams.
        labels: [hardware]
        priority: {name: High}
        customfield_10050: ext-1
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from conveyor.testing.fakes.jira.fake import FakeJira

__all__ = ["SeedFileError", "apply_seed", "load_seed"]

_CONTROL = ("project", "issuetype", "status", "comments")


class SeedFileError(ValueError):
    """The seed file cannot be used; the message names the file, the entry and what to fix."""


def load_seed(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SeedFileError(f"{path}: cannot read the seed file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - {"issues"}:
        raise SeedFileError(f"{path}: a seed file is a mapping with one section, 'issues'")
    return data


def apply_seed(fake: FakeJira, data: Mapping[str, Any], source: str = "seed") -> list[str]:
    """Create the seed's issues; returns their keys."""
    entries = data.get("issues") or []
    if not isinstance(entries, list):
        raise SeedFileError(f"{source}: 'issues' must be a list of issues")
    keys = []
    for number, entry in enumerate(entries):
        where = f"{source}: issues[{number}]"
        if not isinstance(entry, dict):
            raise SeedFileError(f"{where}: an issue is a mapping of fields")
        fields = {k: v for k, v in entry.items() if k not in _CONTROL}
        try:
            key = fake.create_issue(
                str(entry.get("project", "TIC")), fields, str(entry.get("issuetype", "Task"))
            )
            if entry.get("status"):
                fake.set_status(key, str(entry["status"]))
            for comment in entry.get("comments") or []:
                fake.add_comment(key, comment)
        except (ValueError, KeyError) as exc:
            raise SeedFileError(f"{where}: {exc}") from None
        keys.append(key)
    return keys
