"""The upload page in a real browser (Debian's chromium through Playwright): upload a CSV and
an XLSX, see the preview, start the import, see the final counts and the rejects link."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from conveyor.web import WebConfig, create_app
from tests.helpers import EXAMPLES, copy_example, rows
from tests.web.support import serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FINAL_TIMEOUT_MS = 120_000

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            "(or run `apt-get install -y chromium`); never `playwright install`",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def site(
    web_config: WebConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """The server's base URL and its target database URL (SQLite in tmp_path)."""
    url = f"sqlite:///{tmp_path / 'target.db'}"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    with serve(create_app(web_config)) as base:
        yield base, url


@pytest.fixture
def page(browser: Browser, site: tuple[str, str]) -> Iterator[Page]:
    """A fresh tab on the upload page; fails the test on any script error or CSP refusal."""
    context = browser.new_context(accept_downloads=True)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("console", lambda message: _note_console(message, problems))
    tab.goto(site[0])
    expect(tab.locator("body")).to_have_attribute("data-ready", "true")
    try:
        yield tab
        assert problems == [], problems
    finally:
        context.close()


def _note_console(message: ConsoleMessage, problems: list[str]) -> None:
    """Script errors and CSP refusals are problems; a 4xx the page shows to the user is not."""
    expected = "Failed to load resource: the server responded with a status of 4"
    if message.type == "error" and not message.text.startswith(expected):
        problems.append(f"console: {message.text}")


def _upload(page: Page, path: Path, fmt: str) -> None:
    page.get_by_test_id("file").set_input_files(str(path))
    page.get_by_test_id("upload-button").click()
    expect(page.get_by_test_id("upload-format")).to_have_text(fmt)
    expect(page.get_by_test_id("upload-size")).to_contain_text(f"{path.stat().st_size:,}")


def _final_counts(page: Page, status: str) -> dict[str, int]:
    expect(page.get_by_test_id("run-status")).to_have_attribute(
        "data-status", status, timeout=FINAL_TIMEOUT_MS
    )
    expect(page.get_by_test_id("final-counts")).to_be_visible()
    counts = {}
    for cell in page.locator("[data-testid^=final-count-]").all():
        name = (cell.get_attribute("data-testid") or "").removeprefix("final-count-")
        counts[name] = int(cell.inner_text())
    return counts


def test_a_csv_is_previewed_imported_and_its_rejects_downloaded(
    page: Page, site: tuple[str, str], tmp_path: Path
) -> None:
    source = copy_example("contacts.csv", tmp_path)
    _upload(page, source, "csv")
    expect(page.get_by_test_id("mapping-yaml")).to_have_value(re.compile(r"^name: contacts\n"))
    page.get_by_test_id("mapping").select_option("contacts")
    expect(page.get_by_test_id("suggested")).to_be_hidden()
    page.get_by_test_id("preview-button").click()
    first = page.get_by_test_id("preview-row-0")
    expect(first).to_contain_text("ada.lovelace@example.org")
    expect(first).to_contain_text("Ada Lovelace")
    expect(page.get_by_test_id("preview-count-inserted")).to_have_text("7")
    expect(page.get_by_test_id("preview-count-rejected")).to_have_text("4")
    expect(page.get_by_test_id("preview-rejected")).to_contain_text("not-an-email")
    expect(page.get_by_test_id("preview-error")).to_have_text("")

    page.get_by_test_id("start-button").click()
    counts = _final_counts(page, "completed_with_rejects")
    assert counts == {
        "rows_read": 12,
        "inserted": 7,
        "updated": 0,
        "unchanged": 0,
        "duplicates": 1,
        "rejected": 4,
    }
    expect(page.get_by_test_id("progress-text")).to_have_text("100%")
    run_id = page.get_by_test_id("run-id").inner_text()
    assert re.fullmatch(r"[0-9a-f-]{36}", run_id), run_id
    expect(page.get_by_test_id("run-link")).to_have_attribute(
        "href", re.compile(f"/runs/flow-run/{run_id}$")
    )
    link = page.get_by_test_id("rejects-link")
    expect(link).to_have_text("Download the 4 rejected rows")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "contacts.rejects.csv"
    with open(download.value.path(), newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 4
    assert len(rows(site[1], "contacts", "email")) == 7


def test_an_xlsx_is_previewed_and_imported(page: Page, site: tuple[str, str]) -> None:
    _upload(page, EXAMPLES / "orders.xlsx", "xlsx")
    page.get_by_test_id("mapping").select_option("orders")
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-row-0")).to_contain_text("SO-1001")
    expect(page.get_by_test_id("preview-count-inserted")).to_have_text("4")
    page.get_by_test_id("start-button").click()
    counts = _final_counts(page, "completed_with_rejects")
    assert (counts["rows_read"], counts["inserted"], counts["duplicates"]) == (6, 4, 1)
    assert counts["rejected"] == 1
    assert len(rows(site[1], "orders", "order_no")) == 4


def test_an_edited_suggestion_and_errors_are_shown(page: Page, site: tuple[str, str]) -> None:
    clean = EXAMPLES / "contacts.csv"
    _upload(page, clean, "csv")
    page.get_by_test_id("mapping").select_option("")
    yaml = page.get_by_test_id("mapping-yaml")
    yaml.fill(yaml.input_value().replace("type: integer", "type: nope"))
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-error")).to_contain_text("'nope' is not a type")
    yaml.fill(yaml.input_value().replace("type: nope", "type: integer"))
    yaml.fill(yaml.input_value().replace("table: contacts", "table: people"))
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-status")).to_contain_text("into table people")
    expect(page.get_by_test_id("preview-row-0")).to_contain_text("Ada.Lovelace@Example.org")
    page.get_by_test_id("start-button").click()
    counts = _final_counts(page, "completed_with_rejects")
    assert counts["rows_read"] == 12
    assert len(rows(site[1], "people", "contact_id")) == counts["inserted"]


def test_a_refused_file_is_explained(page: Page, tmp_path: Path) -> None:
    fake = tmp_path / "report.csv"
    fake.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    page.get_by_test_id("file").set_input_files(str(fake))
    page.get_by_test_id("upload-button").click()
    expect(page.get_by_test_id("upload-error")).to_contain_text("this is a PDF document")
    expect(page.get_by_test_id("mapping-section")).to_be_hidden()


def test_text_from_the_file_is_never_markup(page: Page, tmp_path: Path) -> None:
    hostile = tmp_path / "<img src=x onerror=alert(1)>.csv"
    hostile.write_text("id,name\n1,<b>bold</b><script>alert(2)</script>\n", encoding="utf-8")
    _upload(page, hostile, "csv")
    page.get_by_test_id("preview-button").click()
    cell = page.get_by_test_id("preview-row-0")
    expect(cell).to_contain_text("<b>bold</b><script>alert(2)</script>")
    assert page.locator("#preview-rows b, #preview-rows script, img").count() == 0
    expect(page.get_by_test_id("upload-name")).to_have_text("<img src=x onerror=alert(1)>.csv")


def test_with_a_key_the_page_asks_for_it_once(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import SecretStr

    from tests.helpers import MAPPINGS

    monkeypatch.setenv("CONVEYOR_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    config = WebConfig(data_dir=tmp_path / "d", mappings_dir=MAPPINGS, api_key=SecretStr("s3"))
    context = browser.new_context()
    try:
        with serve(create_app(config)) as base:
            tab = context.new_page()
            tab.goto(base)
            expect(tab.get_by_test_id("key-section")).to_be_visible()
            tab.get_by_test_id("api-key").fill("wrong")
            tab.get_by_test_id("key-button").click()
            upload_error = tab.get_by_test_id("upload-error")
            tab.get_by_test_id("file").set_input_files(str(EXAMPLES / "contacts.csv"))
            tab.get_by_test_id("upload-button").click()
            expect(upload_error).to_contain_text("X-API-Key")
            expect(tab.get_by_test_id("key-section")).to_be_visible()
            tab.get_by_test_id("api-key").fill("s3")
            tab.get_by_test_id("key-button").click()
            expect(tab.get_by_test_id("key-section")).to_be_hidden()
            tab.get_by_test_id("upload-button").click()
            expect(tab.get_by_test_id("upload-format")).to_have_text("csv")
            tab.get_by_test_id("mapping").select_option("contacts")
            tab.get_by_test_id("start-button").click()
            assert _final_counts(tab, "completed_with_rejects")["rejected"] == 4
            with tab.expect_download() as download:  # fetched with the key, saved from a blob
                tab.get_by_test_id("rejects-link").click()
            assert download.value.suggested_filename == "contacts.rejects.csv"
            with open(download.value.path(), newline="", encoding="utf-8") as fh:
                assert len(list(csv.DictReader(fh))) == 4
            tab.reload()
            expect(tab.locator("body")).to_have_attribute("data-ready", "true")
            expect(tab.get_by_test_id("key-section")).to_be_hidden()  # kept for the tab
            assert httpx.get(f"{base}/mappings").status_code == 401
    finally:
        context.close()
