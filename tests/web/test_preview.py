"""POST /uploads/{id}/preview: a dry run through a mapping that writes nothing; mappings are
names from the server's folder or YAML checked by the mapping loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.web import WebConfig
from tests.helpers import EXAMPLES
from tests.web.support import stored_files


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server's target database (a SQLite file that a dry run must not create)."""
    path = tmp_path / "target.db"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{path}")
    return path


def _upload(api: httpx.Client, name: str, data: bytes | None = None) -> dict[str, Any]:
    content = data if data is not None else (EXAMPLES / name).read_bytes()
    response = api.post("/uploads", params={"filename": name}, content=content)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _preview(api: httpx.Client, upload_id: str, **choice: object) -> httpx.Response:
    return api.post(f"/uploads/{upload_id}/preview", json=choice)


def test_preview_of_the_contacts_example_shows_rows_counts_and_rejects(
    api: httpx.Client, target: Path
) -> None:
    upload = _upload(api, "contacts.csv")
    response = _preview(api, upload["upload_id"], mapping="contacts")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["mapping"], body["table"], body["error"]) == (
        "dry_run",
        "contacts",
        "contacts",
        None,
    )
    counts = body["counts"]
    assert (counts["rows_read"], counts["inserted"], counts["duplicates"]) == (12, 7, 1)
    assert counts["rejected"] == 4
    assert body["columns"][:3] == ["email", "contact_id", "first_name"]
    assert len(body["rows"]) == 8  # up to 10 rows that pass the mapping: 8 of the 12 do
    first = body["rows"][0]
    assert first["email"] == "ada.lovelace@example.org"  # strip, lower
    assert first["first_name"] == "Ada" and first["full_name"] == "Ada Lovelace"
    assert first["lifetime_value"] == "1250.50"  # decimal digits kept exactly, as text
    assert first["signed_up"] == "2023-12-10" and first["newsletter"] is True
    assert first["modified_at"] == "2024-03-01T09:15:00+00:00"
    reasons = " ".join(r["_error"] for r in body["examples"]["rejected"])
    assert "not-an-email" in str(body["examples"]["rejected"]) and "email" in reasons
    inserted = body["examples"]["inserted"]
    assert len(inserted) == 3 and {r["email"] for r in inserted} <= {
        r["email"] for r in body["rows"]
    }
    assert not target.exists(), "a dry run created the target database"


def test_preview_rows_are_limited_by_the_config(tmp_path: Path, target: Path) -> None:
    from conveyor.web import create_app
    from tests.helpers import MAPPINGS
    from tests.web.support import serve

    config = WebConfig(data_dir=tmp_path / "d", mappings_dir=MAPPINGS, preview_rows=3)
    with serve(create_app(config)) as base, httpx.Client(base_url=base, timeout=60) as client:
        upload = _upload(client, "contacts.csv")
        rows = _preview(client, upload["upload_id"], mapping="contacts").json()["rows"]
    assert [r["contact_id"] for r in rows] == [1001, 1002, 1003]


def test_preview_of_an_xlsx_through_its_mapping(api: httpx.Client, target: Path) -> None:
    upload = _upload(api, "orders.xlsx")
    assert upload["format"] == "xlsx"
    body = _preview(api, upload["upload_id"], mapping="orders").json()
    assert body["error"] is None
    assert (body["counts"]["inserted"], body["counts"]["rejected"]) == (4, 1)
    assert body["rows"][0]["order_no"] == "SO-1001"
    assert body["rows"][0]["ordered_on"] == "2024-03-01"


def test_without_a_mapping_the_suggested_one_is_used(api: httpx.Client, target: Path) -> None:
    upload = _upload(api, "contacts.csv")
    body = _preview(api, upload["upload_id"]).json()
    assert (body["status"], body["table"]) == ("dry_run", "contacts")
    assert body["rows"][0]["e_mail_address"] == "Ada.Lovelace@Example.org"


def test_an_edited_suggestion_is_previewed(api: httpx.Client, target: Path) -> None:
    upload = _upload(api, "contacts.csv")
    edited = upload["suggested_mapping"].replace("table: contacts", "table: people")
    edited = edited.replace(
        "e_mail_address: {from: E-mail Address}",
        "email: {from: E-mail Address, transforms: [lower]}",
    )
    body = _preview(api, upload["upload_id"], mapping_yaml=edited).json()
    assert body["table"] == "people"
    assert body["rows"][0]["email"] == "ada.lovelace@example.org"


@pytest.mark.parametrize(
    "name", ["../x", "../mappings/contacts", "/etc/passwd", "contacts.yaml", "nope", ".hidden"]
)
def test_mapping_names_must_be_mappings_of_the_server(
    api: httpx.Client, target: Path, name: str
) -> None:
    upload = _upload(api, "contacts.csv")
    response = _preview(api, upload["upload_id"], mapping=name)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert f"unknown mapping {name!r}" in detail
    assert "available: contacts, orders, products, suppliers" in detail


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "target: {table: t}\nfields:\n  a: {from: A, type: nope}\n",
            "mapping_yaml:3: fields.a.type: 'nope' is not a type",
        ),
        ("target: {table: t\nfields: {}\n", "mapping_yaml"),
        ("", "mapping_yaml: the file is empty"),
        ("- just\n- a list\n", "a mapping file holds keys"),
    ],
)
def test_a_bad_mapping_yaml_gets_422_with_the_loaders_message(
    api: httpx.Client, target: Path, text: str, message: str
) -> None:
    upload = _upload(api, "contacts.csv")
    response = _preview(api, upload["upload_id"], mapping_yaml=text)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_a_mapping_that_does_not_fit_the_file_reports_the_error(
    api: httpx.Client, web_config: WebConfig, target: Path
) -> None:
    upload = _upload(api, "contacts.csv")
    text = "target: {table: t, key: [id]}\nfields:\n  id: {from: Customer Number}\n"
    response = _preview(api, upload["upload_id"], mapping_yaml=text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "failed" and body["rows"] == []
    assert body["error"].startswith("contacts.csv: column 'Customer Number' (for field id)")
    assert str(web_config.data_dir) not in body["error"], "a server path reached the client"


def test_both_a_name_and_a_text_is_refused(api: httpx.Client, target: Path) -> None:
    upload = _upload(api, "contacts.csv")
    response = _preview(api, upload["upload_id"], mapping="contacts", mapping_yaml="x: 1")
    assert response.status_code == 422
    assert "not both" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"mapping": 3}', b'{"path": "/etc/passwd"}', b"[1, 2]"]
)
def test_a_malformed_body_gets_400_saying_what_is_expected(
    api: httpx.Client, target: Path, body: bytes
) -> None:
    upload = _upload(api, "contacts.csv")
    response = api.post(f"/uploads/{upload['upload_id']}/preview", content=body)
    assert response.status_code == 400, response.text
    assert 'the body must be JSON like {"mapping": "NAME"}' in response.json()["detail"]


def test_an_import_needs_an_upload_or_a_file(api: httpx.Client) -> None:
    response = api.post("/imports")
    assert response.status_code == 400
    assert "upload_id" in response.json()["detail"]
    assert api.get("/imports/" + "0" * 32).status_code == 404
    assert "no import with id" in api.get("/imports/nope").json()["detail"]


def test_a_scripts_import_with_an_unknown_mapping_leaves_no_file(
    api: httpx.Client, web_config: WebConfig
) -> None:
    data = (EXAMPLES / "contacts.csv").read_bytes()
    response = api.post("/imports", params={"filename": "c.csv", "mapping": "../c"}, content=data)
    assert response.status_code == 422, response.text
    assert stored_files(web_config) == []
    refused = api.post("/imports", params={"filename": "c.pdf"}, content=b"%PDF-1.4 x")
    assert refused.status_code == 415
    assert stored_files(web_config) == []
