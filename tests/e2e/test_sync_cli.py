"""`conveyor sync`, `parked` and `conflicts` from the command line, with the example job
mappings/reference/accounts.yaml and its connection settings from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from conveyor.cli import app
from conveyor.connector import RemoteFieldType
from conveyor.testing.reference import ReferenceStore
from tests.helpers import ROOT

runner = CliRunner()
FIELDS: dict[str, RemoteFieldType] = {
    "Name": "string",
    "Revenue": "decimal",
    "Status": "string",
    "Ext": "string",
}
MAPPINGS = str(ROOT / "mappings")


def settings(remote_url: str, **extra: object) -> str:
    entities = {"account": {"fields": FIELDS, "external_id_field": "Ext"}}
    return json.dumps({"url": remote_url, "entities": entities, **extra})


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "CONVEYOR_DATABASE_URL": f"sqlite:///{tmp_path / 'local.db'}",
        "CONVEYOR_REFERENCE_DEMO": settings(f"sqlite:///{tmp_path / 'remote.db'}"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def remote(tmp_path: Path) -> ReferenceStore:
    return ReferenceStore(
        f"sqlite:///{tmp_path / 'remote.db'}", "account", FIELDS, external_id_field="Ext"
    )


def sync(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["sync", "accounts", "--mappings", MAPPINGS, "--json", *args])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def local_rows(env: dict[str, str]) -> list[tuple[object, ...]]:
    engine = sa.create_engine(env["CONVEYOR_DATABASE_URL"])
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT id, name, status FROM accounts ORDER BY name"))
        rows = [tuple(r) for r in found]
    engine.dispose()
    return rows


def test_sync_creates_locally_then_reports_nothing_to_do(
    env: dict[str, str], tmp_path: Path
) -> None:
    store = remote(tmp_path)
    acme = store.create({"Name": "Acme", "Revenue": "10.5", "Status": "OPEN"})
    store.create({"Name": "Globex", "Revenue": "2", "Status": "Won"})
    store.close()
    dry = sync("--dry-run")
    assert dry["status"] == "dry_run"
    changes: list[dict[str, object]] = dry["changes"]  # type: ignore[assignment]
    assert [c["outcome"] for c in changes] == ["created", "created"]
    assert not Path(make_url(env["CONVEYOR_DATABASE_URL"]).database or "").exists()
    report = sync()
    assert report["counts"]["created"] == 2  # type: ignore[index]
    assert local_rows(env) == [(acme, "Acme", "open"), (local_rows(env)[1][0], "Globex", "won")]
    again = sync()
    assert again["counts"]["created"] == again["counts"]["updated"] == 0  # type: ignore[index]


def test_the_human_output_names_the_counts(env: dict[str, str], tmp_path: Path) -> None:
    remote(tmp_path).create({"Name": "Acme", "Revenue": "1", "Status": "new"})
    result = runner.invoke(app, ["sync", "accounts", "--mappings", MAPPINGS])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stdout and "created" in result.stdout


def test_conflicts_are_listed_and_resolved_from_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    store = remote(tmp_path)
    rid = store.create({"Name": "Acme", "Revenue": "1", "Status": "new"})
    sync()
    sync()
    engine = sa.create_engine(env["CONVEYOR_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE accounts SET revenue = '5', updated_at = :t"),
            {"t": "2099-01-01T00:00:00.000000+00:00"},
        )
    engine.dispose()
    store.update(rid, {"Revenue": "7"})
    report = sync()
    assert report["counts"]["conflicted"] == 1  # type: ignore[index]
    listed = runner.invoke(app, ["conflicts", "list", "accounts", "--json"])
    [conflict] = json.loads(listed.stdout)
    assert conflict["fields"] == ["revenue"]
    assert conflict["local"] == {"revenue": "5"} and conflict["remote"] == {"revenue": "7"}
    wrong = runner.invoke(
        app,
        [
            "conflicts",
            "resolve",
            str(conflict["id"]),
            "--job",
            "accounts",
            "--take",
            "merged",
            "--mappings",
            MAPPINGS,
        ],
    )
    assert wrong.exit_code == 2 and "--set FIELD=VALUE" in wrong.output
    done = runner.invoke(
        app,
        [
            "conflicts",
            "resolve",
            str(conflict["id"]),
            "--job",
            "accounts",
            "--take",
            "merged",
            "--set",
            "revenue=6",
            "--mappings",
            MAPPINGS,
        ],
    )
    assert done.exit_code == 0, done.output
    sync()
    assert str(store.get(rid).values["Revenue"]) in ("6", "6.0")  # type: ignore[union-attr]
    store.close()
    listed = runner.invoke(app, ["conflicts", "list", "accounts", "--json"])
    assert json.loads(listed.stdout) == []


def test_parked_records_are_listed_retried_and_discarded(
    env: dict[str, str], tmp_path: Path
) -> None:
    sync()  # creates the local table
    engine = sa.create_engine(env["CONVEYOR_DATABASE_URL"])
    insert = sa.text(
        "INSERT INTO accounts (id, name, revenue, status, updated_at) "
        "VALUES (:id, :name, 'abc', 'new', '2099-01-01T00:00:00.000000+00:00')"
    )
    with engine.begin() as conn:  # SQLite keeps decimals as text: an app can store anything
        conn.execute(insert, [{"id": "x1", "name": "One"}, {"id": "x2", "name": "Two"}])
    report = sync()
    assert report["counts"]["parked"] == 2  # type: ignore[index]
    listed = json.loads(runner.invoke(app, ["parked", "list", "accounts", "--json"]).stdout)
    assert {p["key"] for p in listed} == {"x1", "x2"}
    assert all(p["reason"] == "field revenue: 'abc' is not a decimal number" for p in listed)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE accounts SET revenue = '3' WHERE id = 'x1'"))
    engine.dispose()
    ids = {p["key"]: str(p["id"]) for p in listed}
    assert runner.invoke(app, ["parked", "retry", ids["x1"]]).exit_code == 0
    assert runner.invoke(app, ["parked", "discard", ids["x2"]]).exit_code == 0
    assert runner.invoke(app, ["parked", "discard", "999"]).exit_code == 1
    report = sync()
    assert report["counts"]["created"] == 1  # type: ignore[index]
    store = remote(tmp_path)
    assert [r.values["Ext"] for r in store.all()] == ["x1"]
    store.close()
    listed = json.loads(runner.invoke(app, ["parked", "list", "accounts", "--json"]).stdout)
    assert listed == []


def test_a_field_the_remote_lacks_is_reported_before_anything_is_written(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_status = settings(f"sqlite:///{tmp_path / 'remote.db'}")
    monkeypatch.setenv(
        "CONVEYOR_REFERENCE_DEMO", without_status.replace('"Status": "string", ', "")
    )
    failed = runner.invoke(app, ["sync", "accounts", "--mappings", MAPPINGS, "--json"])
    assert failed.exit_code == 1
    assert "no field Status on account" in json.loads(failed.stdout)["error"]


def test_an_unknown_connection_says_where_settings_come_from(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONVEYOR_REFERENCE_DEMO")
    result = runner.invoke(app, ["sync", "accounts", "--mappings", MAPPINGS])
    assert result.exit_code == 2
    assert "CONVEYOR_REFERENCE_DEMO" in result.output and "Secret block" in result.output


def test_secrets_in_the_connection_never_reach_the_output(
    env: dict[str, str], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(pg_url).set(password="s3cret-pw")  # trust auth ignores it; it must not leak
    monkeypatch.setenv(
        "CONVEYOR_REFERENCE_DEMO", settings(url.render_as_string(hide_password=False))
    )
    for args in (["--json"], [], ["--dry-run"]):
        result = runner.invoke(app, ["sync", "accounts", "--mappings", MAPPINGS, *args])
        assert result.exit_code == 0, result.output
        assert "s3cret-pw" not in result.output
    broken = url.set(port=1)
    monkeypatch.setenv(
        "CONVEYOR_REFERENCE_DEMO", settings(broken.render_as_string(hide_password=False))
    )
    result = runner.invoke(app, ["sync", "accounts", "--mappings", MAPPINGS])
    assert result.exit_code == 1 and "s3cret-pw" not in result.output


def test_two_runs_of_one_job_never_overlap(env: dict[str, str], tmp_path: Path) -> None:
    store = remote(tmp_path)
    for i in range(30):
        store.create({"Name": f"N{i}", "Revenue": "1", "Status": "new"})
    store.close()
    slow = dict(os.environ)
    slow["CONVEYOR_REFERENCE_DEMO"] = settings(
        f"sqlite:///{tmp_path / 'remote.db'}", latency_ms=100, page_size=2
    )
    command = [sys.executable, "-m", "conveyor", "sync", "accounts", "--mappings", MAPPINGS]
    first = subprocess.Popen(
        command, env=slow, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.0)  # it is reading: 15 pages of 100 ms
    second = subprocess.run(
        command, env=slow, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.returncode == 2, second.stdout + second.stderr
    assert "already running" in second.stderr
