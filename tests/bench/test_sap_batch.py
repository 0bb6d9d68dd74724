"""The SAP $batch benchmark runs end to end at a small size (its figures come from real runs
only): 3,000 partners, read through 30 server pages, 300 local changes written as MERGEs in one
$batch call; and its job is the example job's mapping."""

from __future__ import annotations

import sys

import pytest

from conveyor.sync.jobs import load_sync_job
from tests.helpers import MAPPINGS, ROOT

sys.path.append(str(ROOT / "bench"))
import sap_batch


def columns(out: str, step: str) -> list[str]:
    """The table line of ``step``, cut into its cells."""
    [line] = [line for line in out.splitlines() if line.startswith(f"| {step} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_small_run_writes_through_batch_and_ends_equal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sap_batch.main(["--rows", "3000", "--sqlite"]) == 0
    out = capsys.readouterr().out
    first = columns(out, "first run, SAP -> local")
    assert first[1] == "3,000"
    assert first[6] == "30"  # read pages: every partner through __next
    local = columns(out, "local changes -> SAP")
    assert local[1] == "300"
    assert local[7:10] == ["1", "300", "0"]  # one $batch call of 300 MERGEs, no POST
    both = columns(out, "both sides: 10% remote + 10% local")
    assert both[1] == "600"
    assert both[7:10] == ["1", "300", "0"]
    assert "both sides equal: 3,000 records compared" in out


def test_the_job_is_the_example_jobs_mapping() -> None:
    example = load_sync_job(MAPPINGS / "sap" / "business_partners.yaml")
    job = sap_batch.JOB
    assert job.fields == example.fields
    assert (job.direction, job.conflict, job.deletes, job.batch_size) == (
        example.direction,
        example.conflict,
        example.deletes,
        example.batch_size,
    )
    assert job.remote.entity == example.remote.entity
    assert job.remote.external_id_field == example.remote.external_id_field
    assert job.local.key == example.local.key
    assert job.local.modified_column == example.local.modified_column
    assert set(sap_batch.MAPPED.items()) == {(n, f.remote) for n, f in job.fields.items()}
