"""Sync job files: found by name under mappings/*/, checked with errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.connector import connector_factory, known_connectors
from conveyor.errors import ConfigError, MappingError
from conveyor.sync.jobs import available_sync_jobs, load_sync_job

JOB = """\
local:
  table: accounts
  key: id
  modified_column: updated_at
remote:
  connector: reference
  connection: ref-test
  entity: account
  external_id_field: conveyor_key
fields:
  name: {remote: Name}
  revenue: {remote: AnnualRevenue, type: decimal}
  status: {remote: Status, to_local: [lower], to_remote: [upper]}
  score: {remote: Score, type: integer, direction: inbound}
conflict: {policy: field_merge, fallback: newest_wins}
deletes: {policy: soft, column: deleted_at}
natural_key: [name]
schedule: "*/15 * * * *"
"""


def write_job(root: Path, text: str, name: str = "accounts", folder: str = "reference") -> Path:
    path = root / "mappings" / folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_job_loads_by_name_and_takes_its_files_stem(tmp_path: Path) -> None:
    write_job(tmp_path, JOB)
    job = load_sync_job("accounts", tmp_path / "mappings")
    assert job.name == "accounts"
    assert job.direction == "bidirectional"
    assert job.conflict.policy == "field_merge" and job.conflict.fallback == "newest_wins"
    assert set(job.fields_for("outbound")) == {"name", "revenue", "status"}
    assert set(job.fields_for("inbound")) == {"name", "revenue", "status", "score"}
    assert available_sync_jobs(tmp_path / "mappings") == {
        "accounts": tmp_path / "mappings" / "reference" / "accounts.yaml"
    }


def test_an_inbound_job_sends_nothing_out(tmp_path: Path) -> None:
    path = write_job(tmp_path, JOB + "direction: inbound\n")
    job = load_sync_job(path)
    assert job.fields_for("outbound") == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("conflict: {policy: field_merge", "conflict: {policy: fieldmerge"), r":15: conflict"),
        (('schedule: "*/15 * * * *"', "schedule: every hour"), "not a cron expression"),
        (("deletes: {policy: soft, column: deleted_at}", "deletes: {policy: soft}"), "needs"),
        (("natural_key: [name]", "natural_key: [email]"), r"natural_key names \['email'\]"),
        (("  score: {remote: Score", "  score: {remote: Name"), "mapped twice: \\['Name'\\]"),
        (
            ("  key: id", "  key: id\n  colour: red"),
            r":4: local.colour: .colour. is not a known key; allowed keys: table, key, modified",
        ),
        (("  table: accounts", "  table: accounts; drop"), "not a column name"),
    ],
)
def test_mistakes_are_named_with_their_line(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    assert change[0] in JOB
    path = write_job(tmp_path, JOB.replace(*change))
    with pytest.raises(MappingError, match=message) as caught:
        load_sync_job(path)
    assert str(path) in str(caught.value)


def test_an_unknown_job_lists_the_known_ones(tmp_path: Path) -> None:
    write_job(tmp_path, JOB)
    with pytest.raises(ConfigError, match="known jobs: accounts"):
        load_sync_job("acounts", tmp_path / "mappings")


def test_two_jobs_with_one_name_are_refused(tmp_path: Path) -> None:
    write_job(tmp_path, JOB)
    write_job(tmp_path, JOB, folder="other")
    with pytest.raises(ConfigError, match="two sync jobs are named 'accounts'"):
        available_sync_jobs(tmp_path / "mappings")


def test_import_mappings_at_the_top_are_not_sync_jobs() -> None:
    jobs = available_sync_jobs(Path(__file__).resolve().parents[2] / "mappings")
    assert "contacts" not in jobs


def test_an_unknown_connector_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown connector 'salesfarce'; known connectors: "):
        connector_factory("salesfarce")
    assert known_connectors() == sorted(known_connectors())
