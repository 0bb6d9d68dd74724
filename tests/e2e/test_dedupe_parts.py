"""Large files are deduplicated in parts by key: the result is the same as in one part."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import conveyor.spill
from conveyor import import_file
from tests.helpers import rows

MAPPING = """\
name: people
target: {{table: people, key: [email]}}
dedupe: {{strategy: {strategy}, ignore_case: true}}
fields:
  email: {{}}
  name: {{}}
  n: {{type: integer}}
"""


def people_file(path: Path) -> Path:
    """2,000 rows over 600 keys spelled in varying case and spacing, some names empty."""
    rng = random.Random(5)
    lines = ["email,name,n"]
    for i in range(2000):
        key = rng.randrange(600)
        email = f"User{key}@Example.org" if rng.random() < 0.5 else f" user{key}@example.org"
        name = "" if rng.random() < 0.3 else f"name{i}"
        lines.append(f"{email},{name},{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("strategy", ["first", "last", "error", "merge"])
def test_parts_give_the_same_table_counts_and_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    source = people_file(tmp_path / "people.csv")
    mapping = tmp_path / "people.yaml"
    mapping.write_text(MAPPING.format(strategy=strategy), encoding="utf-8")
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = import_file(source, mapping, whole_url, rejects_path=tmp_path / "whole.csv")
    assert conveyor.spill.partitions(source.stat().st_size) == 1

    monkeypatch.setattr(conveyor.spill, "PART_BYTES", 4096)
    assert conveyor.spill.partitions(source.stat().st_size) > 5
    parts_url = f"sqlite:///{tmp_path / 'parts.db'}"
    parts = import_file(source, mapping, parts_url, rejects_path=tmp_path / "parts.csv")

    assert parts.status == whole.status == "succeeded"
    assert parts.counts == whole.counts
    assert whole.counts.duplicates + whole.counts.rejected > 0
    assert rows(parts_url, "people", "email") == rows(whole_url, "people", "email")
    if whole.rejects_path is not None:
        assert parts.rejects_path is not None
        whole_rejects = sorted(whole.rejects_path.read_text(encoding="utf-8").splitlines())
        assert sorted(parts.rejects_path.read_text(encoding="utf-8").splitlines()) == whole_rejects
