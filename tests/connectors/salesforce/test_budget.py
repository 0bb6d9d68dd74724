"""The issue's API-call budgets, counted at the fake org through whole sync runs: 10,000
changed records in at most 10 calls on the Bulk path, an idle run in at most 2.

The fake finishes a Bulk job by its first poll; against a real org each further poll is one
more call (waits double from ``poll_seconds`` up to 30 s)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from conveyor.retry import RetryPolicy
from conveyor.sync.engine import SyncEngine, SyncReport
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.fakes.salesforce.client import simple_salesforce_session
from conveyor.testing.fakes.salesforce.clock import system_clock
from conveyor.testing.fakes.salesforce.fake import FakeSalesforce
from tests.connectors.salesforce.harness import CUSTOM, EXTERNAL_ID

N = 10_000
JOB = SyncJobSpec.model_validate(
    {
        "name": "budget",
        "local": {"table": "accounts", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "salesforce",
            "connection": "budget",
            "entity": "Account",
            "external_id_field": EXTERNAL_ID,
        },
        "fields": {
            "name": {"remote": "Name"},
            "employees": {"remote": "NumberOfEmployees", "type": "integer"},
        },
        "conflict": {"policy": "field_merge", "fallback": "newest_wins"},
        "overlap_seconds": 60,
    }
)


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(custom_fields={"Account": CUSTOM}) as fake:
        yield fake


def run(fake: FakeSalesforce, engine: sa.Engine) -> tuple[SyncReport, int]:
    session, url, token = simple_salesforce_session(fake)
    settings = SalesforceSettings.model_validate(
        {"instance_url": url, "access_token": token, "poll_seconds": 0.001}
    )
    connector = SalesforceConnector(settings, session=session)
    fake.reset_calls()
    report = SyncEngine(JOB, connector, engine).run()
    connector.close()
    assert report.status == "succeeded", report.error
    assert report.remote_calls == fake.calls, "the connector counts what the fake saw"
    return report, fake.calls


def test_ten_thousand_changed_records_take_at_most_ten_calls(
    fake: FakeSalesforce, tmp_path: Path
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'local.db'}")
    day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    fake.clock = lambda: day_ago  # seeded yesterday: outside the idle run's overlap window
    ids = fake.seed("Account", [{"Name": f"A{i}", "NumberOfEmployees": i} for i in range(N)])
    fake.clock = system_clock

    first, calls = run(fake, engine)
    assert first.counts["created"] == N
    assert first.counts["api_limit"] == fake.api_limit, "the org's allowance, in the counts"
    assert first.counts["api_used"] == fake.api_usage
    assert calls <= 5, f"describe, REST probe, query job: create, poll, results; took {calls}"

    idle, calls = run(fake, engine)
    assert idle.counts["read_remote"] == 0, "rows just written locally are re-read, not sent"
    assert idle.counts["created"] == idle.counts["updated"] == 0
    assert calls <= 2, f"an idle run took {calls} calls: describe and one query"

    half = N // 2
    for record_id in ids[:half]:  # a remote user changes half ...
        fake.update("Account", record_id, {"NumberOfEmployees": -1})
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    with engine.begin() as conn:  # ... and the other half changes locally
        changed = conn.execute(
            sa.text(
                "UPDATE accounts SET name = name || '-local', updated_at = :t "
                "WHERE employees >= :half"
            ),
            {"t": stamp, "half": half},
        )
        assert changed.rowcount == N - half
    both, calls = run(fake, engine)
    assert both.counts["updated"] == N, both.counts
    assert calls <= 10, f"the budget is 10 calls for {N:,} changed records; took {calls}"
    names = {str(r["Name"]) for r in fake.records("Account")}
    assert sum(n.endswith("-local") for n in names) == N - half
    with engine.connect() as conn:
        count = "SELECT count(*) FROM accounts WHERE "
        assert conn.execute(sa.text(count + "employees = -1")).scalar() == half
        assert conn.execute(sa.text(count + "employees IS NULL")).scalar() == 0, "nothing lost"
    engine.dispose()


def test_a_run_stops_before_the_jobs_share_of_the_allowance_and_the_next_continues(
    fake: FakeSalesforce, tmp_path: Path
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'local.db'}")
    fake.seed("Account", [{"Name": f"A{i}", "NumberOfEmployees": i} for i in range(5)])
    fake.api_usage = int(fake.api_limit * 0.9)  # other integrations spent 90% today
    session, url, token = simple_salesforce_session(fake)
    settings = SalesforceSettings.model_validate({"instance_url": url, "access_token": token})
    connector = SalesforceConnector(settings, session=session)
    stopped = SyncEngine(JOB, connector, engine, retry=RetryPolicy(attempts=1)).run()
    connector.close()
    assert stopped.status == "failed" and stopped.retryable
    assert "daily API calls are used" in (stopped.error or "")
    assert stopped.counts["api_used"] >= fake.api_limit * 0.9
    assert stopped.remote_calls == 1, "stopped at the first answer that showed the share spent"
    fake.api_usage = 0  # a new day
    report, _ = run(fake, engine)
    assert report.counts["created"] == 5, "the cursor stayed: the next run reads everything"
    engine.dispose()
