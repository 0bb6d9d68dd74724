"""The API key: checked before any body is read, so a refused request leaves nothing behind;
not needed on loopback without one; a server off loopback will not start without one."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from conveyor.errors import ConfigError
from conveyor.web import WebConfig, create_app, is_loopback
from tests.helpers import EXAMPLES, MAPPINGS
from tests.web.support import serve, stored_files

KEY = "k3y-for-tests-Ω"  # non-ASCII on purpose: compared as bytes


@pytest.fixture
def keyed_config(tmp_path: Path) -> WebConfig:
    return WebConfig(
        data_dir=tmp_path / "data",
        mappings_dir=MAPPINGS,
        api_key=SecretStr(KEY),
        max_upload_bytes=50 * 1024 * 1024,
    )


@pytest.fixture
def keyed(keyed_config: WebConfig) -> Iterator[httpx.Client]:
    app = create_app(keyed_config)
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client


def _key(value: str) -> dict[bytes, bytes]:
    return {b"X-API-Key": value.encode()}  # UTF-8 bytes: the key is not ASCII


CSV = (EXAMPLES / "contacts.csv").read_bytes()


def test_without_the_key_every_api_route_gets_401(keyed: httpx.Client) -> None:
    calls = [
        ("POST", "/uploads?filename=c.csv"),
        ("POST", "/uploads/" + "0" * 32 + "/preview"),
        ("POST", "/imports?filename=c.csv&mapping=contacts"),
        ("GET", "/imports/" + "0" * 32),
        ("GET", "/imports/" + "0" * 32 + "/rejects"),
        ("GET", "/mappings"),
    ]
    for method, path in calls:
        for headers in ({}, _key("wrong"), _key(KEY + "x"), _key("")):
            response = keyed.request(method, path, content=CSV, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert "X-API-Key" in response.json()["detail"]
            assert KEY not in response.text


def test_a_wrong_key_leaves_no_file(keyed: httpx.Client, keyed_config: WebConfig) -> None:
    for path in ("/uploads?filename=c.csv", "/imports?filename=c.csv&mapping=contacts"):
        response = keyed.post(path, content=CSV, headers=_key("wrong"))
        assert response.status_code == 401
    assert stored_files(keyed_config) == []


def test_the_key_is_checked_before_the_body_is_read(keyed: httpx.Client) -> None:
    """Headers announce 40 MB that never come: the 401 arrives without waiting for them."""
    where = urlsplit(str(keyed.base_url))
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    try:
        conn.putrequest("POST", "/uploads?filename=c.csv")
        conn.putheader("Content-Length", str(40 * 1024 * 1024))
        conn.putheader("X-API-Key", "wrong")
        conn.endheaders()
        assert conn.getresponse().status == 401
    finally:
        conn.close()


def test_the_right_key_is_accepted(keyed: httpx.Client, keyed_config: WebConfig) -> None:
    response = keyed.post("/uploads?filename=c.csv", content=CSV, headers=_key(KEY))
    assert response.status_code == 201, response.text
    upload_id = response.json()["upload_id"]
    assert stored_files(keyed_config) == [f"{upload_id}.csv"]
    assert keyed.get("/mappings", headers=_key(KEY)).json()["mappings"][0] == "contacts"


def test_the_page_and_its_info_need_no_key_and_say_one_is_required(keyed: httpx.Client) -> None:
    assert keyed.get("/").status_code == 200
    info = keyed.get("/api/info").json()
    assert info["key_required"] is True
    assert KEY not in keyed.get("/").text + str(info)


def test_on_loopback_without_a_key_none_is_needed(api: httpx.Client) -> None:
    assert api.get("/api/info").json()["key_required"] is False
    assert api.post("/uploads?filename=c.csv", content=CSV).status_code == 201


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_addresses_may_run_without_a_key(host: str, tmp_path: Path) -> None:
    assert is_loopback(host)
    create_app(WebConfig(host=host, data_dir=tmp_path))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com", ""])
def test_other_addresses_refuse_to_start_without_a_key(host: str, tmp_path: Path) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match=r"refusing to listen on .* without an API key"):
        create_app(WebConfig(host=host, data_dir=tmp_path))
    create_app(WebConfig(host=host, data_dir=tmp_path, api_key=SecretStr(KEY)))


def test_an_empty_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="API key is empty"):
        create_app(WebConfig(data_dir=tmp_path, api_key=SecretStr("")))


def test_the_key_never_shows_in_the_config_text(keyed_config: WebConfig) -> None:
    assert KEY not in repr(keyed_config) + str(keyed_config) + keyed_config.model_dump_json()
