"""The import-jobs table through a job's life, on both dialects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from conveyor.load.urls import make_engine
from conveyor.state.jobs import COUNT_FIELDS, JobStore
from tests.state.test_migrations import SHIPPED

SECRET = "pw-s3cret"


@pytest.fixture
def store(db_url: str) -> Iterator[JobStore]:
    opened = JobStore(db_url)
    opened.ensure()
    yield opened
    opened.close()


def start(store: JobStore, name: str = "contacts.csv") -> int:
    return store.start(
        name,
        1234,
        "ab" * 32,
        "contacts",
        "cd" * 32,
        "contacts",
        f"postgresql://app:{SECRET}@db.example/crm",
    )


def test_a_job_is_started_then_finished(store: JobStore) -> None:
    before = dt.datetime.now(dt.UTC)
    job_id = start(store)
    running = store.get(job_id)
    assert running["status"] == "running"
    assert running["file_name"] == "contacts.csv"
    assert running["file_size"] == 1234
    assert running["target_url"] == "postgresql://app:***@db.example/crm"
    assert [running[name] for name in COUNT_FIELDS] == [0] * len(COUNT_FIELDS)
    assert running["finished_at"] is None and running["duration_ms"] is None
    assert before <= running["started_at"] <= dt.datetime.now(dt.UTC)
    assert running["started_at"].tzinfo is not None

    counts = {"rows_read": 10, "inserted": 4, "updated": 2, "unchanged": 1, "duplicates": 1}
    store.finish(job_id, "succeeded", {**counts, "rejected": 2}, None, rejects_path="/r.csv")
    done = store.get(job_id)
    assert done["status"] == "succeeded"
    expected = {**dict.fromkeys(COUNT_FIELDS, 0), **counts, "rejected": 2}
    assert {name: done[name] for name in COUNT_FIELDS} == expected
    assert done["rejects_path"] == "/r.csv"
    assert done["error"] is None
    assert done["finished_at"] >= done["started_at"]
    elapsed = done["finished_at"] - done["started_at"]
    assert done["duration_ms"] == elapsed // dt.timedelta(milliseconds=1)


def test_failed_and_dry_run_jobs_keep_their_outcome(store: JobStore) -> None:
    failed = start(store, "bad.csv")
    store.finish(failed, "failed", {"rows_read": 3}, "bad.csv: not a CSV file")
    dry = start(store, "try.csv")
    store.finish(dry, "dry_run", {"rows_read": 5, "inserted": 5}, None)
    assert store.get(failed)["error"] == "bad.csv: not a CSV file"
    assert store.get(failed)["inserted"] == 0
    assert store.get(dry)["status"] == "dry_run"


def test_list_recent_is_newest_first(store: JobStore) -> None:
    ids = [start(store, f"f{i}.csv") for i in range(4)]
    assert [job["id"] for job in store.list_recent(3)] == ids[::-1][:3]
    assert [job["file_name"] for job in store.list_recent()] == [
        "f3.csv",
        "f2.csv",
        "f1.csv",
        "f0.csv",
    ]


def test_details_can_be_filled_in_later(store: JobStore) -> None:
    job_id = store.start("x.csv", None, None, None, None, None, "sqlite:///x.db")
    store.describe(job_id, mapping_name="contacts", mapping_hash="h1", target_table="people")
    job = store.get(job_id)
    assert (job["mapping_name"], job["mapping_hash"], job["target_table"]) == (
        "contacts",
        "h1",
        "people",
    )
    assert job["file_size"] is None


def test_misuse_is_refused(store: JobStore) -> None:
    job_id = start(store)
    with pytest.raises(ValueError, match="job status 'done'"):
        store.finish(job_id, "done", {}, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unknown job counts \['erased'\]"):
        store.finish(job_id, "succeeded", {"erased": 1}, None)
    store.finish(job_id, "succeeded", {}, None)
    with pytest.raises(ValueError, match=r"already finished \(succeeded\)"):
        store.finish(job_id, "failed", {}, "again")
    with pytest.raises(KeyError, match="no import job 999"):
        store.get(999)
    with pytest.raises(KeyError, match="no import job 999"):
        store.describe(999, mapping_name="m")


def test_status_is_checked_by_the_database_too(store: JobStore, db_url: str) -> None:
    job_id = start(store)
    engine = make_engine(db_url)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE conveyor_import_jobs SET status = 'bogus' WHERE id = :id"),
            {"id": job_id},
        )
    engine.dispose()


def test_a_store_can_share_the_targets_engine(db_url: str) -> None:
    engine = make_engine(db_url)
    store = JobStore(engine)
    assert store.ensure() == SHIPPED
    job_id = start(store)
    store.close()  # does not dispose an engine it was given
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM conveyor_import_jobs")).scalar()
    assert (count, job_id) == (1, 1)
    engine.dispose()
