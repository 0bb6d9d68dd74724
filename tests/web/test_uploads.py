"""POST /uploads: streamed to disk under a generated name, within the limit, typed by content;
every refusal leaves no file behind."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conveyor.web import WebConfig
from conveyor.web.errors import BadRequest, UploadTooLarge
from conveyor.web.uploads import UploadStore
from tests.helpers import EXAMPLES
from tests.web.samples import ACCEPTED, REFUSED
from tests.web.support import stored_files

LIMIT = 1024 * 1024  # web_config's limit


def _declare_only(base: str, path: str, length: int, headers: dict[str, str]) -> tuple[int, str]:
    """Send headers announcing ``length`` bytes, but no body: the answer must come anyway."""
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Length", str(length))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_a_csv_is_stored_under_a_generated_name_with_its_sniffed_type(
    api: httpx.Client, web_config: WebConfig
) -> None:
    data = (EXAMPLES / "contacts.csv").read_bytes()
    response = api.post("/uploads", params={"filename": "../../etc/contacts.csv"}, content=data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["upload_id"])
    assert (body["filename"], body["format"], body["size"]) == ("contacts.csv", "csv", len(data))
    assert body["mappings"] == ["contacts", "orders", "products", "suppliers"]
    assert body["suggested_mapping"].startswith("name: contacts\n")
    assert "e_mail_address: {from: E-mail Address}" in body["suggested_mapping"]
    assert stored_files(web_config) == [f"{body['upload_id']}.csv"]
    assert (web_config.uploads_dir / f"{body['upload_id']}.csv").read_bytes() == data


@pytest.mark.parametrize(("name", "data", "fmt"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_each_accepted_kind_is_stored_under_its_own_extension(
    api: httpx.Client, web_config: WebConfig, name: str, data: bytes, fmt: str
) -> None:
    response = api.post("/uploads", params={"filename": name}, content=data)
    assert response.status_code == 201, response.text
    assert response.json()["format"] == fmt
    assert stored_files(web_config) == [f"{response.json()['upload_id']}.{fmt}"]


@pytest.mark.parametrize(("name", "data", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_other_kinds_get_415_and_leave_no_file(
    api: httpx.Client, web_config: WebConfig, name: str, data: bytes, words: str
) -> None:
    response = api.post("/uploads", params={"filename": "innocent.csv"}, content=data)
    assert response.status_code == 415, response.text
    assert words in response.json()["detail"]
    assert "Accepted: CSV" in response.json()["detail"]
    assert stored_files(web_config) == []


def test_an_empty_upload_gets_400(api: httpx.Client, web_config: WebConfig) -> None:
    response = api.post("/uploads", params={"filename": "empty.csv"}, content=b"")
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]
    assert stored_files(web_config) == []


def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    api: httpx.Client, web_config: WebConfig
) -> None:
    status, text = _declare_only(str(api.base_url), "/uploads?filename=big.csv", LIMIT + 1, {})
    assert status == 413, text
    assert "limit is 1,048,576 bytes" in text
    assert stored_files(web_config) == []


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b"a,b\n1,2\n" * (min(size, total - sent) // 8)
        sent += len(chunk)
        yield chunk


def test_a_stream_over_the_limit_is_cut_and_its_partial_file_deleted(
    api: httpx.Client, web_config: WebConfig
) -> None:
    response = api.post("/uploads", params={"filename": "big.csv"}, content=_chunks(2 * LIMIT))
    assert "content-length" not in response.request.headers  # chunked: no length announced
    assert response.status_code == 413, response.text
    assert "more than 1,048,576 bytes" in response.json()["detail"]
    assert stored_files(web_config) == []
    assert api.get("/api/info").status_code == 200  # the server is still serving


def test_a_stream_of_exactly_the_limit_is_accepted(
    api: httpx.Client, web_config: WebConfig
) -> None:
    response = api.post("/uploads", params={"filename": "full.csv"}, content=_chunks(LIMIT))
    assert response.status_code == 201, response.text
    assert response.json()["size"] == LIMIT


def test_a_declared_empty_body_gets_400(api: httpx.Client, web_config: WebConfig) -> None:
    status, text = _declare_only(str(api.base_url), "/uploads?filename=e.csv", 0, {})
    assert status == 400 and "empty" in text
    assert stored_files(web_config) == []


def test_a_content_length_that_is_not_a_number_is_a_clear_error(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, max_bytes=10)  # uvicorn itself refuses such requests first
    with pytest.raises(BadRequest, match="'four' is not a number"):
        store.check_declared_size("four")
    store.check_declared_size("10")
    with pytest.raises(UploadTooLarge, match="11 bytes, the limit is 10 bytes"):
        store.check_declared_size("11")


def test_unknown_upload_ids_get_404_with_a_message(api: httpx.Client) -> None:
    for upload_id in ("0" * 32, "not-an-id", "A" * 32):
        response = api.post(f"/uploads/{upload_id}/preview", json={})
        assert response.status_code == 404, (upload_id, response.text)
        assert "upload the file again" in response.json()["detail"]
    assert api.post("/uploads/..%2F..%2Fetc/preview", json={}).status_code == 404  # no route
