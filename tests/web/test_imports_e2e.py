"""Imports through the API on a real server and a Prefect test server, into SQLite and
PostgreSQL: the same counts as the CLI, rejects downloadable, runs that exist in Prefect."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from conveyor.cli import app as cli_app
from conveyor.web import WebConfig, create_app
from flows.import_file import REJECTS_STATE
from tests.helpers import EXAMPLES, MAPPINGS, drop_all, rows
from tests.web.support import serve, stored_files, wait_until_final

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def server(web_config: WebConfig) -> Iterator[httpx.Client]:
    """A server started inside the Prefect harness (it runs in a copy of this context)."""
    with serve(create_app(web_config)) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client


def _cli_counts(file: Path, mapping: str, url: str) -> dict[str, int]:
    """The counts `conveyor import --json` reports for the same file and mapping."""
    result = CliRunner().invoke(
        cli_app, ["import", str(file), "--mapping", mapping, "--target", url, "--json"]
    )
    assert result.exit_code == 0, result.output
    counts: dict[str, int] = json.loads(result.stdout)["counts"]
    return counts


async def _flow_run(run_id: str) -> tuple[str, str | None, dict[str, Any]]:
    async with get_client() as client:
        run = await client.read_flow_run(UUID(run_id))
    return run.name, run.state.name if run.state else None, dict(run.parameters)


def _start(client: httpx.Client, upload_id: str, **choice: object) -> dict[str, Any]:
    response = client.post("/imports", params={"upload_id": upload_id}, json=choice)
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()
    assert response.headers["location"] == started["status_url"] == f"/imports/{started['id']}"
    assert started["status"] in ("queued", "running")
    return started


def test_an_import_into_sqlite_matches_the_cli(
    server: httpx.Client, web_config: WebConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    expected = _cli_counts(EXAMPLES / "contacts.csv", "contacts", f"sqlite:///{tmp_path / 'c.db'}")
    upload = server.post(
        "/uploads?filename=contacts.csv", content=(EXAMPLES / "contacts.csv").read_bytes()
    ).json()
    started = _start(server, upload["upload_id"], mapping="contacts")
    done = wait_until_final(server, started["id"])
    assert done["status"] == "completed_with_rejects", done
    assert done["counts"] == expected
    assert (done["counts"]["inserted"], done["counts"]["rejected"]) == (7, 4)
    assert done["progress"] == 100.0 and done["error"] is None
    assert len(rows(url, "contacts", "email")) == 7
    name, state, parameters = asyncio.run(_flow_run(done["flow_run_id"]))
    assert state == REJECTS_STATE
    assert name == f"import {upload['upload_id']}.csv → contacts"
    assert parameters["mapping"] == str(MAPPINGS / "contacts.yaml")
    assert "target" not in parameters and url not in str(parameters)
    assert done["flow_run_url"].endswith(f"/runs/flow-run/{done['flow_run_id']}")
    rejects = server.get(done["rejects_url"])
    assert rejects.status_code == 200
    assert 'filename="contacts.rejects.csv"' in rejects.headers["content-disposition"]
    records = list(csv.DictReader(io.StringIO(rejects.text)))
    assert len(records) == 4 and all(r["_error"] for r in records)
    assert {"not-an-email"} <= {r["E-mail Address"] for r in records}
    assert f"{done['id']}.csv" in stored_files(web_config)


def test_the_same_file_again_is_skipped_unless_forced(
    server: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    data = (EXAMPLES / "orders.xlsx").read_bytes()
    upload = server.post("/uploads?filename=orders.xlsx", content=data).json()
    first = wait_until_final(server, _start(server, upload["upload_id"], mapping="orders")["id"])
    assert first["status"] == "completed_with_rejects", first
    assert (first["counts"]["inserted"], first["counts"]["duplicates"]) == (4, 1)
    assert (
        server.get(first["rejects_url"])
        .headers["content-type"]
        .startswith("application/vnd.openxmlformats")
    )
    again = wait_until_final(server, _start(server, upload["upload_id"], mapping="orders")["id"])
    assert again["status"] == "skipped", again
    assert "orders.xlsx was already imported" in again["note"]
    assert again["rejects_url"] is None
    forced = server.post(
        "/imports", params={"upload_id": upload["upload_id"], "mapping": "orders", "force": True}
    )
    done = wait_until_final(server, forced.json()["id"])
    assert done["status"] == "completed_with_rejects", done
    assert (done["counts"]["inserted"], done["counts"]["unchanged"]) == (0, 4)


def test_a_failed_import_says_why(
    server: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    upload = server.post("/uploads?filename=broken.json", content=b'[{"a": 1}, {"a": ').json()
    assert upload["format"] == "json" and upload["suggested_mapping"] is None
    assert "broken.json" in upload["suggestion_error"]
    yaml = "target: {table: broken}\nfields:\n  a: {from: a, type: integer}\n"
    done = wait_until_final(server, _start(server, upload["upload_id"], mapping_yaml=yaml)["id"])
    assert done["status"] == "failed", done
    assert done["error"].startswith("broken.json: "), done["error"]
    assert str(tmp_path) not in done["error"]
    assert done["counts"] is None and done["rejects_url"] is None
    assert server.get(f"/imports/{done['id']}/rejects").status_code == 404


def test_the_target_can_come_from_a_secret_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    monkeypatch.delenv("CONVEYOR_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # the default sqlite:///conveyor.db would land here
    url = f"sqlite:///{tmp_path / 'secret.db'}"
    Secret(value=url).save("conveyor-web-test-target", overwrite=True)
    config = WebConfig(
        data_dir=tmp_path / "data", mappings_dir=MAPPINGS, target_secret="conveyor-web-test-target"
    )
    with serve(create_app(config)) as base, httpx.Client(base_url=base, timeout=60) as client:
        upload = client.post(
            "/uploads?filename=contacts.csv", content=(EXAMPLES / "contacts.csv").read_bytes()
        ).json()
        done = wait_until_final(
            client, _start(client, upload["upload_id"], mapping="contacts")["id"]
        )
        preview = client.post(
            f"/uploads/{upload['upload_id']}/preview", json={"mapping": "contacts"}
        ).json()
    assert done["status"] == "completed_with_rejects", done
    assert len(rows(url, "contacts", "email")) == 7
    assert preview["counts"]["unchanged"] == 7  # the preview read the same (secret) target
    assert not (tmp_path / "conveyor.db").exists()


@pytest.mark.postgres
def test_a_scripts_import_into_postgresql_matches_the_cli(
    server: httpx.Client, pg_empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _cli_counts(EXAMPLES / "contacts.csv", "contacts", pg_empty_url)
    drop_all(pg_empty_url)  # the same database, empty again: the web import starts afresh
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", pg_empty_url)
    response = server.post(
        "/imports",
        params={"filename": "contacts.csv", "mapping": "contacts"},
        content=(EXAMPLES / "contacts.csv").read_bytes(),
    )
    assert response.status_code == 202, response.text
    done = wait_until_final(server, response.json()["id"])
    assert done["status"] == "completed_with_rejects", done
    assert done["counts"] == expected
    assert len(rows(pg_empty_url, "contacts", "email")) == 7
    name, state, _ = asyncio.run(_flow_run(done["flow_run_id"]))
    assert state == REJECTS_STATE and name.endswith(".csv → contacts")
    rejects = server.get(done["rejects_url"])
    assert len(list(csv.DictReader(io.StringIO(rejects.text)))) == 4


def test_the_api_key_can_come_from_a_secret_block(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.system import Secret

    from conveyor.cli_serve import load_api_key
    from conveyor.errors import ConveyorError

    monkeypatch.setenv("CONVEYOR_WEB_API_KEY", "from-the-environment")
    Secret(value="from-the-block").save("conveyor-web-test-key", overwrite=True)
    key = load_api_key("conveyor-web-test-key")
    assert key is not None and key.get_secret_value() == "from-the-block"
    from_env = load_api_key(None)
    assert from_env is not None and from_env.get_secret_value() == "from-the-environment"
    with pytest.raises(ConveyorError, match="cannot read the Secret block 'no-such-block'"):
        load_api_key("no-such-block")
