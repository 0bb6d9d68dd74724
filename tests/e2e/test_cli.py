"""The command line, driven through Typer's runner (the same code path as the console script)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from conveyor.cli import app
from conveyor.mapping import MappingSpec
from tests.helpers import MAPPINGS, copy_example, drop_all, rows

runner = CliRunner()


def _db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_import_json_summary(tmp_path: Path) -> None:
    source = copy_example("contacts.csv", tmp_path)
    args = ["import", str(source), "--mapping", str(MAPPINGS / "contacts.yaml")]
    result = runner.invoke(app, [*args, "--target", _db(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded"
    assert summary["counts"] == {
        "rows_read": 12,
        "inserted": 7,
        "updated": 0,
        "unchanged": 0,
        "duplicates": 1,
        "rejected": 4,
        "deleted": 0,
        "removed": 0,
    }
    assert summary["rejects_path"] == str(tmp_path / "contacts.rejects.csv")
    assert isinstance(summary["job_id"], int)


def test_dry_run_prints_examples_and_writes_nothing(tmp_path: Path) -> None:
    source = copy_example("contacts.csv", tmp_path)
    args = ["import", str(source), "-m", str(MAPPINGS / "contacts.yaml"), "--dry-run"]
    result = runner.invoke(app, [*args, "--target", _db(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was written" in result.stdout
    assert "inserted (examples)" in result.stdout
    assert "rejected (examples)" in result.stdout
    assert not (tmp_path / "cli.db").exists()


def test_identity_import_with_key(tmp_path: Path) -> None:
    source = tmp_path / "People List.csv"
    source.write_text(
        "ID,Full Name,Joined\n1,Ann,2024-01-02\n2,Bob,2024-02-03\n1,Ann B,2024-01-05\n"
    )
    result = runner.invoke(
        app, ["import", str(source), "--key", "ID", "--target", _db(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["table"] == "people_list"
    assert summary["counts"]["inserted"] == 2
    assert summary["counts"]["duplicates"] == 1
    stored = rows(_db(tmp_path), "people_list", "id")
    assert [(r["id"], r["full_name"]) for r in stored] == [(1, "Ann B"), (2, "Bob")]


def test_mapping_suggest_prints_a_loadable_mapping(tmp_path: Path) -> None:
    source = tmp_path / "items.csv"
    source.write_text("Item Code,Price,In Stock\n007,1.50,true\n008,2.25,false\n")
    result = runner.invoke(app, ["mapping", "suggest", str(source), "--key", "Item Code"])
    assert result.exit_code == 0, result.output
    spec = MappingSpec.model_validate(yaml.safe_load(result.stdout))
    assert spec.target.table == "items"
    assert spec.target.key == ["item_code"]
    assert str(spec.fields["item_code"].type) == "string"  # leading zeros: a code, not a number
    assert str(spec.fields["price"].type) == "decimal(3,2)"
    assert str(spec.fields["in_stock"].type) == "boolean"


def test_unknown_mapping_is_a_clear_error(tmp_path: Path) -> None:
    source = copy_example("contacts.csv", tmp_path)
    result = runner.invoke(
        app, ["import", str(source), "-m", "no-such-mapping", "--target", _db(tmp_path)]
    )
    assert result.exit_code == 1
    assert "no-such-mapping" in result.stdout
    assert "Traceback" not in result.output


def test_unreadable_file_is_recorded_as_failed(tmp_path: Path) -> None:
    source = tmp_path / "junk.xlsx"
    source.write_bytes(b"PK\x03\x04 this is not a workbook")
    result = runner.invoke(app, ["import", str(source), "--target", _db(tmp_path), "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed"
    assert "junk.xlsx" in summary["error"]
    assert "Traceback" not in result.output
    jobs = rows(_db(tmp_path), "conveyor_import_jobs", "id")
    assert [j["status"] for j in jobs] == ["failed"]


def test_table_option_with_mapping_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "x.csv", "-m", "contacts", "--table", "t"])
    assert result.exit_code == 2
    assert "apply only without --mapping" in result.output


def test_suggested_yaml_is_plain_yaml(tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text("a,b\n1,x\n")
    result = runner.invoke(app, ["mapping", "suggest", str(source)])
    assert yaml.safe_load(result.stdout)["target"]["table"] == "a"


def test_default_target_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    source = copy_example("contacts.csv", tmp_path)
    result = runner.invoke(app, ["import", str(source), "-m", str(MAPPINGS / "contacts.yaml")])
    assert result.exit_code == 0, result.output
    assert len(rows(url, "contacts", "email")) == 7


def test_default_target_is_conveyor_db_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONVEYOR_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    source = copy_example("contacts.csv", tmp_path)
    result = runner.invoke(app, ["import", str(source), "-m", str(MAPPINGS / "contacts.yaml")])
    assert result.exit_code == 0, result.output
    assert len(rows("sqlite:///conveyor.db", "contacts", "email")) == 7


def test_a_password_in_the_url_is_never_printed(pg_url: str, tmp_path: Path) -> None:
    url = make_url(pg_url).set(password="s3cr3t-pw")  # trust auth: accepted, unused
    source = copy_example("contacts.csv", tmp_path)
    target = url.render_as_string(hide_password=False)
    drop_all(pg_url)
    for extra in (["--json"], [], ["--dry-run"]):
        args = ["import", str(source), "-m", str(MAPPINGS / "contacts.yaml"), *extra]
        result = runner.invoke(app, [*args, "--target", target])
        assert result.exit_code == 0, result.output
        assert "s3cr3t-pw" not in result.output
    jobs = rows(pg_url, "conveyor_import_jobs", "id")
    assert jobs and all("s3cr3t-pw" not in (j["target_url"] or "") for j in jobs)
    bad = url.set(port=1).render_as_string(hide_password=False)  # nothing listens there
    result = runner.invoke(app, ["import", str(source), "--target", bad, "--json"])
    assert result.exit_code == 1
    assert "s3cr3t-pw" not in result.output
    drop_all(pg_url)


def test_progress_bar_renders_on_a_terminal() -> None:
    from conveyor import cli

    console = cli.err
    try:
        cli.err = Console(file=io.StringIO(), force_terminal=True, width=100)
        with cli._progress(enabled=True) as update:
            assert update is not None
            update("read", 0, 1000, 0)
            update("read", 1000, 1000, 40)
            update("load", 40, 40, 40)
        assert "40 rows" in cli.err.file.getvalue()  # type: ignore[attr-defined]
    finally:
        cli.err = console


def test_suggest_types_json_lists_as_json(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    lines = [
        '{"id": 1, "user": {"name": "ann", "tags": ["a", "b"]}, "ts": "2024-01-02T10:00:00Z"}',
        '{"id": 2, "user": {"name": "bob", "tags": []}, "ts": "2024-01-03T10:00:00+01:00"}',
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["mapping", "suggest", str(source), "--key", "id"])
    assert result.exit_code == 0, result.output
    spec = MappingSpec.model_validate(yaml.safe_load(result.stdout))
    assert {name: str(f.type) for name, f in spec.fields.items()} == {
        "id": "integer",
        "user_name": "string",
        "user_tags": "json",
        "ts": "datetime",
    }
    assert spec.fields["user_tags"].from_ == "user.tags"
    mapping = tmp_path / "events.yaml"
    mapping.write_text(result.stdout, encoding="utf-8")
    imported = runner.invoke(
        app, ["import", str(source), "-m", str(mapping), "--target", _db(tmp_path), "--json"]
    )
    assert json.loads(imported.stdout)["counts"]["inserted"] == 2
    stored = rows(_db(tmp_path), "events", "id")
    assert json.loads(stored[0]["user_tags"]) == ["a", "b"]


def test_import_with_partitions_gives_the_same_counts(tmp_path: Path) -> None:
    source = copy_example("contacts.csv", tmp_path)
    args = ["import", str(source), "--mapping", str(MAPPINGS / "contacts.yaml"), "--json"]
    one = runner.invoke(app, [*args, "--target", f"sqlite:///{tmp_path / 'a.db'}"])
    two = runner.invoke(
        app, [*args, "--target", f"sqlite:///{tmp_path / 'b.db'}", "--partitions", "2"]
    )
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert json.loads(one.stdout)["counts"] == json.loads(two.stdout)["counts"]
    assert runner.invoke(app, [*args, "--partitions", "0"]).exit_code == 2
