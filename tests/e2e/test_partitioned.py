"""Partitioned imports give what a single-process import gives: every row and value, the counts
and the rejects file, byte for byte.

The flow reads and maps the partitions on a Dask cluster of processes (one per module, reached
by its address, and once on the local cluster the flow starts itself); the core's own process
pool is used where Prefect is not the point.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster

from conveyor.errors import ConfigError
from conveyor.importer import ImportJob, ImportRequest, import_file
from conveyor.report import ImportReport
from conveyor.testing.postgres import create_test_database, find_or_start_postgres
from flows.import_file import LOCAL_CLUSTER, import_file_flow, watching
from tests.helpers import rows, run_logs

CSV_MAPPING = """
name: people
source: {format: csv, batch_size: 200}
target: {table: people, key: [id], mode: upsert}
dedupe: {strategy: last}
fields:
  id: {type: integer}
  email: {checks: {email: true}}
  age: {type: integer}
  note: {}
"""

NDJSON_MAPPING = """
name: events
source: {format: json, batch_size: 150}
target: {table: events, key: [id], mode: upsert}
dedupe: {strategy: first}
fields:
  id: {type: integer}
  name: {checks: {regex: "^n"}}
  age: {type: integer}
  tags: {}
"""


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """A Dask cluster of two worker processes, shared by the module's flow runs."""
    with LocalCluster(n_workers=2, **LOCAL_CLUSTER) as cluster:  # type: ignore[no-untyped-call]
        yield str(cluster.scheduler_address)


@pytest.fixture
def reference_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database of ``db_url``'s dialect, for the single-process import."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    url, drop = create_test_database(find_or_start_postgres())
    yield url
    drop()


def _csv(path: Path, count: int) -> None:
    """Keys repeated far apart (so in other partitions), multi-line quoted notes all along
    (so near every cut), bad e-mails and ages (mapping rejects) and ragged rows (reader
    rejects) in every partition, and a few blank lines."""
    rnd = random.Random(11)
    lines = ["id,email,age,note"]
    for i in range(count):
        email = "not-an-email" if i % 41 == 0 else f"p{i}@example.com"
        age = "old" if i % 53 == 0 else str(rnd.randrange(100))
        note = f'"first line\nsecond, ""quoted"" line {i}"' if i % 7 == 0 else f"plain {i}"
        lines.append(f"{i % (count // 3)},{email},{age},{note}")
        if i % 89 == 0:
            lines.append(f"{i},ragged")
        if i % 211 == 0:
            lines.append("")
    path.write_text("\n".join(lines) + "\n")


def _ndjson(path: Path, count: int) -> None:
    """Besides the CSV's traps: ages that are text in a few batches only (the JSON reader
    types each batch from its values, and a rejects file shows 5 or "5"), and tags that are
    JSON text as strings before lists appear (the rejects writer then parses such text)."""
    rnd = random.Random(12)
    lines = []
    for i in range(count):
        if i % 97 == 0:
            lines.append("[1, 2]")
        if i % 211 == 0:
            lines.append("   ")
        record: dict[str, Any] = {
            "id": i % (count // 3),
            "name": f"{'bad' if i % 37 == 0 else 'n'}{i}",
        }
        record["age"] = "x" if rnd.random() < 0.004 else rnd.randrange(90)
        if i > count // 2 and i % 61 == 0:
            record["tags"] = ["a", {"b": i}]
        elif i % 19 == 0:
            record["tags"] = "[1]"
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")


def _same(
    reference: ImportReport, result: dict[str, Any], urls: tuple[str, str], table: str
) -> None:
    """Same counts, rows and rejects file; and nothing trivially equal."""
    assert result["status"] == reference.status == "succeeded"
    assert result["counts"] == asdict(reference.counts)
    assert reference.counts.rejected > 0 and reference.counts.duplicates > 0
    expected = rows(urls[0], table, "id")
    assert expected and rows(urls[1], table, "id") == expected
    assert reference.rejects_path is not None
    parted = Path(result["rejects_path"]).read_bytes()
    assert parted == reference.rejects_path.read_bytes()


def _import_both(
    kind: str, folder: Path, reference_url: str, **flow_options: Any
) -> tuple[ImportReport, dict[str, Any], list[str]]:
    """The file imported in one process, then through the flow in partitions."""
    source = folder / ("people.csv" if kind == "csv" else "events.ndjson")
    (_csv if kind == "csv" else _ndjson)(source, 3000)
    mapping = folder / "mapping.yaml"
    mapping.write_text(CSV_MAPPING if kind == "csv" else NDJSON_MAPPING)
    single = folder / f"single.rejects{source.suffix}"
    reference = import_file(source, mapping, reference_url, rejects_path=single)
    with run_logs() as logs:
        result = import_file_flow(
            path=str(source),
            mapping=str(mapping),
            rejects_path=str(folder / f"parted.rejects{source.suffix}"),
            **flow_options,
        )
    return reference, result, logs


@pytest.mark.parametrize("kind", ["csv", "ndjson"])
def test_partitions_on_a_dask_cluster_give_the_single_process_import(
    prefect_server: None,
    dask_address: str,
    db_url: str,
    reference_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", db_url)
    monkeypatch.setenv("CONVEYOR_SPILL_DIR", str(tmp_path))
    reference, result, logs = _import_both(
        kind, tmp_path, reference_url, partitions=3, dask_address=dask_address
    )
    _same(reference, result, (reference_url, db_url), "people" if kind == "csv" else "events")
    plan = [m for m in logs if m.startswith("plan: 3 partitions of ")]
    assert plan and plan[0].endswith(f"on {dask_address}")
    assert any(m.startswith("partitions: read in 3 partitions") for m in logs), logs
    assert not list(tmp_path.glob("conveyor-*")), "the spill folder was left behind"


def test_the_flow_starts_and_stops_a_local_cluster_and_reports_progress(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'parted.db'}"
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    monkeypatch.delenv("CONVEYOR_DASK_ADDRESS", raising=False)
    watcher = _Watcher()
    with watching(watcher):
        reference, result, logs = _import_both(
            "csv", tmp_path, f"sqlite:///{tmp_path / 'single.db'}", partitions=4
        )
    _same(reference, result, (f"sqlite:///{tmp_path / 'single.db'}", url), "people")
    assert any("on a local Dask cluster of" in m for m in logs), logs
    reads = [p for p in watcher.percents if 0 < p < 50]  # as partitions arrive, before the load
    assert len(reads) >= 3 and reads == sorted(reads), watcher.percents


class _Watcher:
    def __init__(self) -> None:
        self.percents: list[float] = []

    def started(self, flow_run_id: str) -> None:
        pass

    def progress(self, percent: float) -> None:
        self.percents.append(percent)


def test_a_stray_quote_that_misleads_the_plan_falls_back_to_one_process(tmp_path: Path) -> None:
    """A quote inside an unquoted field is a literal to the csv module but flips the planner's
    count: its cuts then fall inside quoted fields, the partition before ends in an open quote,
    and the job reads the file in one process instead, with the same outcome."""
    source = tmp_path / "stray.csv"
    lines = ["id,size,note", '1,5" pipe,plain']
    lines += [f'{i},{i} cm,"first\nsecond {i}"' for i in range(2, 400)]
    source.write_text("\n".join(lines) + "\n")
    reference = import_file(source, None, f"sqlite:///{tmp_path / 'a.db'}", table="t", key=["id"])
    target = f"sqlite:///{tmp_path / 'b.db'}"
    request = ImportRequest(source, None, target, "t", ("id",), partitions=3, spill_dir=tmp_path)
    job = ImportJob(request)
    parted = job.run()
    assert job.partition_note is not None
    assert "read in one process instead" in job.partition_note, job.partition_note
    assert "never closed" in job.partition_note
    assert (parted.status, parted.counts) == (reference.status, reference.counts)
    assert rows(target, "t", "id") == rows(f"sqlite:///{tmp_path / 'a.db'}", "t", "id")
    assert not list(tmp_path.glob("conveyor-*")), "the spill folder was left behind"


def test_a_local_process_pool_gives_the_single_process_import(tmp_path: Path) -> None:
    """``import_file(partitions=N)`` (what ``conveyor import --partitions N`` would call) runs
    the partitions in local processes, with the same outcome."""
    source = tmp_path / "people.csv"
    _csv(source, 3000)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(CSV_MAPPING)
    urls = (f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}")
    reference = import_file(source, mapping, urls[0], rejects_path=tmp_path / "a.rejects.csv")
    request = ImportRequest(source, mapping, urls[1], rejects_path=tmp_path / "b.rejects.csv")
    request.partitions = 3
    job = ImportJob(request)
    parted = job.run()
    assert job.partition_note is not None and job.partition_note.startswith("read in 3 ")
    _same(reference, parted.to_dict(), urls, "people")


def test_a_spill_folder_that_cannot_be_made_says_what_to_set(tmp_path: Path) -> None:
    request = ImportRequest(tmp_path / "x.csv", spill_dir=tmp_path / "missing" / "folder")
    with pytest.raises(ConfigError, match="CONVEYOR_SPILL_DIR"):
        ImportJob(request)
