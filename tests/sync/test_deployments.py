"""Every sync job under mappings/*/ has its deployment in prefect.yaml, and the block updates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from cronsim import CronSim
from typer.testing import CliRunner

from conveyor.cli import app
from conveyor.errors import ConfigError
from conveyor.sync.deployments import BEGIN, END, sync_block, update_prefect_yaml
from conveyor.sync.jobs import available_sync_jobs, load_sync_job
from tests.helpers import ROOT

MAPPINGS = ROOT / "mappings"


def test_the_committed_prefect_yaml_has_a_deployment_per_sync_job() -> None:
    text = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    assert sync_block(MAPPINGS) in text, "run: conveyor deploy --write-only"
    deployments = {d["name"]: d for d in yaml.safe_load(text)["deployments"]}
    jobs = available_sync_jobs(MAPPINGS)
    assert jobs, "the example sync job is missing"
    for name in jobs:
        job = load_sync_job(name, MAPPINGS)
        deployment = deployments[f"sync-{name}"]
        assert deployment["parameters"] == {"job": name}
        assert deployment["entrypoint"] == "flows/sync_job.py:sync_job_flow"
        assert f"connector:{job.remote.connector}" in deployment["tags"]
        assert f"entity:{job.remote.entity}" in deployment["tags"]
        assert deployment["concurrency_limit"] == 1
        for schedule in deployment.get("schedules", []):
            CronSim(schedule["cron"], dt.datetime(2026, 1, 1))


def test_the_block_is_rewritten_in_place_and_the_rest_is_kept(tmp_path: Path) -> None:
    prefect = tmp_path / "prefect.yaml"
    prefect.write_text("name: x\n# a comment to keep\ndeployments:\n  - name: other\n")
    assert update_prefect_yaml(prefect, MAPPINGS) is True
    assert update_prefect_yaml(prefect, MAPPINGS) is False
    text = prefect.read_text()
    assert "# a comment to keep" in text and "  - name: other" in text
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "sync-accounts" in text
    names = [d["name"] for d in yaml.safe_load(text)["deployments"]]
    assert names == ["other", *(f"sync-{n}" for n in sorted(available_sync_jobs(MAPPINGS)))]


def test_a_broken_block_or_file_is_an_error(tmp_path: Path) -> None:
    prefect = tmp_path / "prefect.yaml"
    prefect.write_text(f"deployments:\n{BEGIN}\n  - name: half\n")
    with pytest.raises(ConfigError, match="no end marker"):
        update_prefect_yaml(prefect, MAPPINGS)
    prefect.write_text("name: x\n")
    with pytest.raises(ConfigError, match="no `deployments:` list"):
        update_prefect_yaml(prefect, MAPPINGS)


def test_deploy_check_and_write_only_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    current = ["deploy", "--check", "--prefect-file", str(ROOT / "prefect.yaml")]
    assert runner.invoke(app, [*current, "--mappings", str(MAPPINGS)]).exit_code == 0
    stale = tmp_path / "prefect.yaml"
    stale.write_text("deployments:\n  - name: other\n")
    args = ["--prefect-file", str(stale), "--mappings", str(MAPPINGS)]
    assert runner.invoke(app, ["deploy", "--check", *args]).exit_code == 1
    result = runner.invoke(app, ["deploy", "--write-only", *args])
    assert result.exit_code == 0 and "updated" in result.output
    assert runner.invoke(app, ["deploy", "--check", *args]).exit_code == 0
