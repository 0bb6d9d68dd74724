"""The Prefect flow on an ephemeral test server: one task per stage, artifacts published."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import DeploymentResponse

from flows.export_table import export_table_flow
from flows.import_file import REJECTS_STATE, import_file_flow, watching
from tests.helpers import MAPPINGS, ROOT, copy_example, rows, run_logs


async def _artifacts(key: str) -> list[object]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
        return list(found)


def test_flow_imports_and_publishes_artifacts(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'flow.db'}")
    source = copy_example("contacts.csv", tmp_path)
    result = import_file_flow(path=str(source), mapping=str(MAPPINGS / "contacts.yaml"))
    assert result["status"] == "succeeded"
    assert result["counts"]["inserted"] == 7
    assert result["counts"]["rejected"] == 4
    assert "flow.db" in result["target"]
    tables = asyncio.run(_artifacts("import-counts"))
    assert tables, "the counts table artifact was not published"
    links = asyncio.run(_artifacts("import-rejects"))
    assert links, "the rejects link artifact was not published"
    progress = asyncio.run(_artifacts("import-progress"))
    assert progress and getattr(progress[0], "data", None) == 100.0


def test_flow_fails_with_the_reason(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'flow.db'}")
    source = tmp_path / "broken.json"
    source.write_text('[{"a": 1}, {"a": ')
    with pytest.raises(RuntimeError, match=r"broken\.json"):
        import_file_flow(path=str(source))


class _Watcher:
    def __init__(self) -> None:
        self.run_ids: list[str] = []
        self.percents: list[float] = []

    def started(self, flow_run_id: str) -> None:
        self.run_ids.append(flow_run_id)

    def progress(self, percent: float) -> None:
        self.percents.append(percent)


def test_a_watcher_sees_the_run_id_and_progress_up_to_100(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'flow.db'}")
    source = copy_example("contacts.csv", tmp_path)
    watcher = _Watcher()
    with watching(watcher):
        state = import_file_flow(
            path=str(source), mapping=str(MAPPINGS / "contacts.yaml"), return_state=True
        )
    assert [str(state.state_details.flow_run_id)] == watcher.run_ids
    assert watcher.percents[-1] == 100.0
    assert len(watcher.percents) >= 3, watcher.percents
    assert watcher.percents == sorted(watcher.percents)
    import_file_flow(path=str(source), mapping=str(MAPPINGS / "contacts.yaml"), force=True)
    assert len(watcher.run_ids) == 1, "a run outside the block reported to the watcher"


def test_only_transient_errors_are_retried() -> None:
    from prefect.states import Failed

    from conveyor.errors import ConfigError, TransientError
    from flows.import_file import _only_transient

    assert _only_transient(None, None, Failed(data=TransientError("database restarting")))
    assert not _only_transient(None, None, Failed(data=ConfigError("bad mapping")))
    assert not _only_transient(None, None, Failed(data=ValueError("bug")))


def test_target_url_comes_from_a_secret_block(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    monkeypatch.delenv("CONVEYOR_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'secret.db'}"
    Secret(value=url).save("conveyor-test-target", overwrite=True)
    source = copy_example("contacts.csv", tmp_path)
    result = import_file_flow(
        path=str(source),
        mapping=str(MAPPINGS / "contacts.yaml"),
        target_secret="conveyor-test-target",
    )
    assert result["status"] == "succeeded"
    assert len(rows(url, "contacts", "email")) == 7


def test_only_database_stages_retry() -> None:
    from flows.import_file import deduplicate, finish, load, read_and_map, resolve

    assert [(t.name, t.retries) for t in (resolve, read_and_map, deduplicate, load, finish)] == [
        ("resolve", 3),
        ("read-and-map", 0),
        ("dedupe", 0),
        ("load", 3),
        ("record-job", 3),
    ]


def test_export_flow_publishes_its_figures_and_the_file(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    source = copy_example("contacts.csv", tmp_path)
    assert import_file_flow(path=str(source), mapping=str(MAPPINGS / "contacts.yaml"))
    out = tmp_path / "contacts.xlsx"
    result = export_table_flow(source="contacts", out=str(out), order_by=["email desc"])
    assert (result["status"], result["rows"], result["format"]) == ("succeeded", 7, "xlsx")
    assert result["bytes"] == out.stat().st_size
    assert "flow.db" in result["database"]
    summary = asyncio.run(_artifacts("export-summary"))
    assert summary, "the export's table artifact was not published"
    assert "contacts.xlsx" in str(getattr(summary[0], "data", ""))
    assert asyncio.run(_artifacts("export-file")), "the file's link artifact was not published"
    progress = asyncio.run(_artifacts("export-progress"))
    assert progress and getattr(progress[0], "data", None) == 100.0


def test_export_flow_fails_with_the_reason(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'flow.db'}")
    with pytest.raises(RuntimeError, match="nowhere"):
        export_table_flow(source="nowhere", out=str(tmp_path / "x.csv"))


async def _flow_run_name(state: object) -> str:
    run_id = getattr(getattr(state, "state_details", None), "flow_run_id", None)
    assert run_id is not None
    async with get_client() as client:
        return (await client.read_flow_run(run_id)).name


def test_rejected_rows_end_in_a_distinct_state_with_a_summary(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'flow.db'}")
    source = copy_example("contacts.csv", tmp_path)
    mapping = str(MAPPINGS / "contacts.yaml")
    state = import_file_flow(path=str(source), mapping=mapping, return_state=True)
    assert state.is_completed() and state.name == REJECTS_STATE
    assert state.message == f"4 rows rejected: see {tmp_path / 'contacts.rejects.csv'}"
    assert asyncio.run(_flow_run_name(state)) == "import contacts.csv → contacts"
    run_id = state.state_details.flow_run_id
    summary = [
        getattr(a, "data", "")
        for a in asyncio.run(_artifacts("import-rejects-summary"))
        if getattr(a, "flow_run_id", None) == run_id
    ]
    assert len(summary) == 1 and "**4 of 12 rows rejected**" in str(summary[0])
    clean = tmp_path / "clean.csv"
    clean.write_text("id,name\n1,Ann\n2,Bob\n")
    plain = import_file_flow(path=str(clean), key=["id"], return_state=True)
    assert plain.is_completed() and plain.name == "Completed"
    assert asyncio.run(_flow_run_name(plain)) == "import clean.csv → clean"


def test_export_run_is_named_after_what_it_does(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'flow.db'}")
    clean = tmp_path / "people.csv"
    clean.write_text("id,name\n1,Ann\n")
    assert import_file_flow(path=str(clean), key=["id"])["status"] == "succeeded"
    state = export_table_flow(source="people", out=str(tmp_path / "p.json"), return_state=True)
    assert asyncio.run(_flow_run_name(state)) == "export people → p.json"


async def _run_texts(run_id: UUID) -> list[str]:
    """What a flow run left on the server: its artifacts, parameters and final state."""
    async with get_client() as client:
        artifacts = await client.read_artifacts()
        run = await client.read_flow_run(run_id)
    mine = [a for a in artifacts if a.flow_run_id == run_id]
    return [*(f"{a.data} {a.description}" for a in mine), str(run.parameters), str(run.state)]


@pytest.mark.postgres
def test_a_run_with_a_secret_shows_it_nowhere(
    prefect_server: None, pg_empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret
    from sqlalchemy.engine import make_url

    monkeypatch.delenv("CONVEYOR_DATABASE_URL", raising=False)
    password = "s3cr3t-Pw-4242"  # the server trusts local connections: any password works
    url = make_url(pg_empty_url).set(password=password).render_as_string(hide_password=False)
    Secret(value=url).save("conveyor-test-secret-scan", overwrite=True)
    source = copy_example("contacts.csv", tmp_path)
    with run_logs() as logs:
        state = import_file_flow(
            path=str(source),
            mapping=str(MAPPINGS / "contacts.yaml"),
            target_secret="conveyor-test-secret-scan",
            return_state=True,
        )
    assert state.name == REJECTS_STATE
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    texts = [*logs, *asyncio.run(_run_texts(run_id))]
    stages = [t.split(":")[0] for t in texts if t.startswith(("resolve:", "read:", "dedupe:"))]
    assert stages == ["resolve", "read", "dedupe"]  # a line per stage, the URL redacted
    assert any("***" in t for t in texts if t.startswith("resolve:"))
    assert not [t for t in texts if password in t]


def _prefect(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_deploy_all_then_a_worker_runs_the_export_deployment(
    prefect_server: None, tmp_path: Path
) -> None:
    """The README's commands: create the pool, deploy everything, start a worker, run one."""
    from prefect.settings import PREFECT_API_URL

    db = f"sqlite:///{tmp_path / 'deployed.db'}"
    source = tmp_path / "people.csv"
    source.write_text("id,name\n1,Ann\n2,Bob\n")
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "CONVEYOR_DATABASE_URL": db,
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PWD": str(ROOT),
        "CONVEYOR_REFERENCE_DEMO": _reference_settings(tmp_path),
    }
    pools = _prefect("work-pool", "ls", env=env)
    if "conveyor" not in pools:
        _prefect("work-pool", "create", "conveyor", "--type", "process", env=env)
    _prefect("--no-prompt", "deploy", "--all", env=env)
    deployments = asyncio.run(_deployments())
    assert deployments["import-file"] == ["import"]
    assert deployments["export-table"] == ["export"]
    assert deployments["sync-accounts"] == ["connector:reference", "entity:account", "sync"]
    sync_deployment = asyncio.run(_deployment("sync-job/sync-accounts"))
    assert [s.schedule.cron for s in sync_deployment.schedules] == ["*/15 * * * *"]  # type: ignore[union-attr]
    limit = sync_deployment.global_concurrency_limit
    assert limit is not None and limit.limit == 1, "runs of one sync job must not overlap"
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "worker", "start", "--pool", "conveyor"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        imported = _run_deployment("import-file/import-file", path=str(source), key=["id"])
        assert imported.state is not None and imported.state.is_completed(), imported.state
        out = tmp_path / "people.json"
        exported = _run_deployment("export-table/export-table", source="people", out=str(out))
        assert exported.state is not None and exported.state.is_completed(), exported.state
        assert exported.name == "export people → people.json"
        synced = _run_deployment("sync-job/sync-accounts", job="accounts")
        assert synced.state is not None and synced.state.is_completed(), synced.state
        assert synced.name == "sync accounts"
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=60)
    assert json.loads(out.read_text(encoding="utf-8")) == [
        {"id": 1, "name": "Ann"},
        {"id": 2, "name": "Bob"},
    ]


def _run_deployment(name: str, **parameters: object) -> FlowRun:
    from prefect.deployments import run_deployment

    run = run_deployment(name, parameters=parameters, timeout=180, poll_interval=1)
    assert isinstance(run, FlowRun)
    return run


def _reference_settings(tmp_path: Path) -> str:
    fields = {"Name": "string", "Revenue": "decimal", "Status": "string", "Ext": "string"}
    entities = {"account": {"fields": fields, "external_id_field": "Ext"}}
    return json.dumps({"url": f"sqlite:///{tmp_path / 'remote.db'}", "entities": entities})


async def _deployment(name: str) -> DeploymentResponse:
    async with get_client() as client:
        return await client.read_deployment_by_name(name)


async def _deployments() -> dict[str, list[str]]:
    async with get_client() as client:
        found = await client.read_deployments()
    return {d.name: sorted(d.tags) for d in found}


def test_sync_flow_publishes_counts_and_ends_named_when_records_are_parked(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.sync_job import ATTENTION_STATE, sync_job_flow

    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'local.db'}")
    monkeypatch.setenv("CONVEYOR_REFERENCE_DEMO", _reference_settings(tmp_path))
    monkeypatch.chdir(ROOT)  # the job is found in mappings/reference/
    state = sync_job_flow(job="accounts", return_state=True)
    assert state.is_completed() and state.name == "Completed", state
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'local.db'}")
    with engine.begin() as conn:  # a row the remote cannot take: parked, not silently green
        conn.execute(
            sa.text(
                "INSERT INTO accounts (id, name, revenue, status, updated_at) "
                "VALUES ('x', 'X', 'abc', 'new', '2099-01-01T00:00:00.000000+00:00')"
            )
        )
    engine.dispose()
    state = sync_job_flow(job="accounts", return_state=True)
    assert state.is_completed() and state.name == ATTENTION_STATE, state
    assert "conveyor parked list accounts" in (state.message or "")
    tables = asyncio.run(_artifacts("sync-counts"))
    assert tables, "the counts table artifact was not published"
    attention = asyncio.run(_artifacts("sync-attention"))
    assert attention, "the parked/conflicts summary was not published"
