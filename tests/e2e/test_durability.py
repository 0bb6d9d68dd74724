"""Durability: an import killed with SIGKILL at any point leaves the table untouched or at a
committed batch boundary, and the same command then ends with exactly the table and the counts
of an uninterrupted run. Two imports into one table at once lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor.testing.postgres import create_test_database, find_or_start_postgres
from tests.helpers import ROOT

GENERATOR = ROOT / "bench" / "generate_contacts.py"
MAPPING = ROOT / "bench" / "contacts.yaml"
ROWS = 30_000
BATCH = 2_000  # 15 load batches, so a kill lands between or inside them


@pytest.fixture(scope="module")
def new_database() -> Iterator[Callable[[], str]]:
    """Makes fresh PostgreSQL databases (each test here needs its own); drops them after."""
    server = find_or_start_postgres()
    drops: list[Callable[[], None]] = []

    def make() -> str:
        url, drop = create_test_database(server)
        drops.append(drop)
        return url

    yield make
    for drop in drops:
        drop()


@pytest.fixture(scope="module")
def contacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("durability") / "contacts.csv"
    command = [sys.executable, str(GENERATOR), "--rows", str(ROWS), "--seed", "7"]
    subprocess.run([*command, "--out", str(out)], check=True)
    return out


def start_import(source: Path, url: str, *extra: str, batch: int = BATCH) -> subprocess.Popen[str]:
    env = {**os.environ, "CONVEYOR_LOAD_BATCH_ROWS": str(batch), "CONVEYOR_DATABASE_URL": url}
    command = [sys.executable, "-m", "conveyor", "import", str(source), "-m", str(MAPPING)]
    return subprocess.Popen(
        [*command, "--json", *extra],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_import(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, out + err
    report: dict[str, Any] = json.loads(out)
    return report


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate()  # reaps it and closes its pipes


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def table_rows(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT * FROM bench_contacts ORDER BY email")


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, "the import ended before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.01)


def safe(check: Callable[[], bool]) -> Callable[[], bool]:
    """A poll that is False while the job row or its table does not exist yet."""

    def poll() -> bool:
        try:
            return check()
        except (sa.exc.DBAPIError, ValueError):
            return False

    return poll


def job_state(url: str) -> tuple[str, int, int]:
    (row,) = query(url, "SELECT status, loaded_rows, inserted FROM conveyor_import_jobs")
    return str(row[0]), int(row[1]), int(row[2])


@pytest.fixture(scope="module")
def reference(
    contacts: Path, new_database: Callable[[], str]
) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    url = new_database()
    report = finish_import(start_import(contacts, url))
    assert report["status"] == "succeeded"
    return report["counts"], table_rows(url)


def _reading(url: str) -> Callable[[], bool]:
    return safe(lambda: job_state(url)[0] == "running")


def _between_batches(url: str) -> Callable[[], bool]:
    return safe(lambda: job_state(url)[1] >= 3 * BATCH)


def _inside_copy(url: str) -> Callable[[], bool]:
    """True while the import's connection is inside a COPY of its second or later batch.

    One autocommit connection polls (each statement sees a fresh pg_stat_activity), so the
    tens of milliseconds a 10,000-row COPY takes are enough to catch it.
    """
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    copying = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state = 'active' AND query LIKE 'COPY%' AND pid <> pg_backend_pid()"
    )
    loaded = sa.text("SELECT max(loaded_rows) FROM conveyor_import_jobs")

    def poll() -> bool:
        if not conn.execute(copying).scalar_one():
            return False
        if (conn.execute(loaded).scalar_one() or 0) < COPY_BATCH:
            return False
        conn.close()
        engine.dispose()
        return True

    return safe(poll)


COPY_BATCH = 10_000
KillPoint = Callable[[str], Callable[[], bool]]
KILL_POINTS: dict[KillPoint, int] = {
    _reading: BATCH,
    _between_batches: BATCH,
    _inside_copy: COPY_BATCH,
}


@pytest.mark.parametrize("kill_point", list(KILL_POINTS), ids=lambda f: f.__name__[1:])
def test_sigkill_then_rerun_ends_as_an_uninterrupted_run(
    contacts: Path,
    new_database: Callable[[], str],
    reference: tuple[dict[str, Any], list[tuple[Any, ...]]],
    kill_point: Callable[[str], Callable[[], bool]],
) -> None:
    url = new_database()
    batch = KILL_POINTS[kill_point]
    process = start_import(contacts, url, batch=batch)
    wait_for(kill_point(url), process)
    kill(process)

    status, loaded, inserted = job_state(url)
    assert status == "running"  # the killed process could not record anything else
    assert loaded % batch == 0  # a committed batch boundary ...
    stored = query(url, "SELECT count(*) FROM bench_contacts") if loaded else [(0,)]
    assert stored == [(inserted,)]  # ... and the table holds exactly those batches' rows

    report = finish_import(start_import(contacts, url))
    counts, rows = reference
    assert report["status"] == "succeeded"
    assert report["counts"] == counts
    assert table_rows(url) == rows
    if loaded:
        assert report["job_id"] == 1
        assert report["note"].startswith("resumed job 1 after its last committed batch")
    jobs = query(url, "SELECT status FROM conveyor_import_jobs ORDER BY id")
    assert jobs[-1] == ("succeeded",)


def test_a_killed_sqlite_import_resumes(contacts: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    expected = finish_import(start_import(contacts, reference_url))
    process = start_import(contacts, url)
    wait_for(_between_batches(url), process)
    kill(process)
    _, loaded, inserted = job_state(url)
    assert query(url, "SELECT count(*) FROM bench_contacts") == [(inserted,)]
    report = finish_import(start_import(contacts, url))
    assert report["counts"] == expected["counts"]
    assert report["note"].startswith("resumed job 1")
    assert table_rows(url) == table_rows(reference_url)
    assert loaded > 0


def test_a_finished_import_is_not_resumed_and_a_repeat_is_skipped(
    contacts: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    first = finish_import(start_import(contacts, url))
    repeat = finish_import(start_import(contacts, url))
    assert repeat["status"] == "skipped"
    assert f"by job {first['job_id']}" in repeat["note"]
    forced = finish_import(start_import(contacts, url, "--force"))
    assert forced["status"] == "succeeded"
    assert forced["counts"]["unchanged"] == first["counts"]["inserted"]


def test_two_imports_into_one_table_at_once_lose_nothing(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    """Both succeed: each batch locks the table while it writes, so the result is the same as
    running them one after the other, batch by batch; every key lands once."""
    url = new_database()
    # The same keys twice, the second file with every Lifetime Value changed.
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    command = [sys.executable, str(GENERATOR), "--rows", "20000", "--seed", "11"]
    subprocess.run([*command, "--out", str(files[0])], check=True)
    subprocess.run([*command, "--change-every", "1", "--out", str(files[1])], check=True)
    runs = [start_import(f, url) for f in files]
    reports = [finish_import(p) for p in runs]
    assert [r["status"] for r in reports] == ["succeeded", "succeeded"]
    keys = query(url, "SELECT count(*), count(DISTINCT email) FROM bench_contacts")
    kept = (
        reports[0]["counts"]["inserted"]
        + reports[0]["counts"]["updated"]
        + reports[0]["counts"]["unchanged"]
    )
    assert keys == [(kept, kept)]
    assert reports[0]["counts"]["inserted"] + reports[1]["counts"]["inserted"] == kept
    for report in reports:
        counts = report["counts"]
        written = sum(counts[k] for k in ("inserted", "updated", "unchanged", "deleted"))
        assert counts["rows_read"] == written + counts["duplicates"] + counts["rejected"]
