"""`conveyor serve` (``serve_command`` on a Typer app of the test's own; conveyor.cli registers
the same function as ``serve``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from conveyor.cli_serve import serve_command
from tests.helpers import MAPPINGS, ROOT

app = typer.Typer()
app.command()(serve_command)

_LAUNCH = (
    "import typer\n"
    "from conveyor.cli_serve import serve_command\n"
    "app = typer.Typer()\n"
    "app.command()(serve_command)\n"
    "app()\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_off_loopback_without_a_key_it_refuses_to_start(
    host: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CONVEYOR_WEB_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["--host", host, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"refusing to listen on {host} without an API key" in message
    assert "CONVEYOR_WEB_API_KEY" in message
    assert "Traceback" not in result.output


def test_an_empty_key_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVEYOR_WEB_API_KEY", "")
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "API key is empty" in " ".join(result.stderr.split())


def test_a_bad_option_is_reported_without_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--port", "70000", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "port" in result.stderr and "Traceback" not in result.output


def test_it_serves_the_page_and_asks_for_the_key_from_the_environment(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CONVEYOR_WEB_API_KEY": "from-env-123"}
    env.pop("CONVEYOR_DATABASE_URL", None)
    options = ["--port", str(port), "--data-dir", str(tmp_path), "--mappings-dir", str(MAPPINGS)]
    server = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, *options, "--max-upload-mb", "0.01"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        info = _wait_for(base + "/api/info", server)
        assert info == {
            "key_required": True,
            "max_upload_bytes": 10485,
            "accepted": "CSV (UTF-8, UTF-16 or Windows-1252 text), XLSX, JSON, NDJSON or XML",
        }
        assert "<h1>Conveyor: import a file</h1>" in httpx.get(base + "/").text
        assert httpx.get(base + "/mappings").status_code == 401
        keyed = httpx.get(base + "/mappings", headers={"X-API-Key": "from-env-123"})
        assert keyed.json()["mappings"][0] == "contacts"
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert f"Conveyor upload page on http://127.0.0.1:{port}/ (an API key is required)" in output
    assert "from-env-123" not in output


def _wait_for(url: str, server: subprocess.Popen[str], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server stopped: {server.communicate()[0]}")
        try:
            return httpx.get(url, timeout=2).json()
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the server did not answer {url} within {timeout} s")
