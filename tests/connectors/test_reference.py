"""The reference connector beyond the contract: settings, the remote-user API, validation,
faults (planned, by rule, at random), latency, key-scan deletes and secrets kept out of errors."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conveyor.connector import Connector, ConnectorFactory, WriteRequest, connector_factory
from conveyor.errors import ConfigError, RecordError, TransientError
from conveyor.retry import RetryPolicy, with_retries
from conveyor.testing.contract import ConnectorContract
from conveyor.testing.reference import ReferenceConnector, ReferenceStore, from_settings
from tests.connectors.reference_harness import ENTITY, FIELDS, ReferenceHarness, settings
from tests.helpers import ROOT

SECRET = "s3cret-pw"
CLOSED_PORT_URL = f"postgresql://conveyor:{SECRET}@127.0.0.1:1/nowhere"
MOMENT = dt.datetime(2031, 5, 6, 7, 8, 9, 101112, tzinfo=dt.UTC)


@pytest.fixture
def connector(sqlite_url: str) -> Iterator[ReferenceConnector]:
    opened = from_settings(settings(sqlite_url))
    yield opened
    opened.close()


def create(connector: ReferenceConnector, *refs: str) -> list[str]:
    """Create one record per ref through the connector; their ids."""
    requests = [WriteRequest(ref, {"Name": ref}) for ref in refs]
    results = connector.write(ENTITY, requests, "Ext")
    assert all(r.ok for r in results), [r.error for r in results]
    return [r.record.id for r in results if r.record]


def live_ids(connector: ReferenceConnector) -> list[str]:
    return [r.id for r in connector.store(ENTITY).all()]


# --- settings -------------------------------------------------------------------------------


def test_it_is_registered_as_reference(connector: ReferenceConnector) -> None:
    factory: ConnectorFactory = from_settings  # mypy: the factory's type fits the registry
    assert connector_factory("reference") is factory
    assert isinstance(connector, Connector) and connector.name == "reference"
    assert connector.capabilities.page_size == 5 and connector.capabilities.batch_size == 4
    assert connector.capabilities.delete_detection == "tombstones"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"page_size": 0}, "page_size: Input should be greater than or equal to 1"),
        ({"delete_detection": "audit"}, "delete_detection: Input should be 'tombstones'"),
        ({"fail_rate": 2}, "fail_rate: Input should be less than or equal to 1"),
        ({"entities": {"accounts": {"Name": "text"}}}, "Input should be 'string', 'integer'"),
        ({"entities": {"accounts": {"Id": "string"}}}, "Id: reserved for the record's id"),
        ({"entities": {"bad-name": {"Name": "string"}}}, "entity names ['bad-name']"),
        ({"entities": {}}, "declare at least one entity"),
        ({"entities": "{not json"}, "entities: not JSON"),
        (
            {"entities": {"accounts": {"Name": "string", "external_id_field": "Ext"}}},
            "external_id_field 'Ext' is not among the fields",
        ),
    ],
)
def test_bad_settings_say_what_to_fix(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match="reference connector settings") as caught:
        from_settings(settings(CLOSED_PORT_URL) | change)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)


def test_the_short_entity_form_and_json_text_are_accepted(sqlite_url: str) -> None:
    short = {"accounts": {"Name": "string", "Ext": "string", "external_id_field": "Ext"}}
    for entities in (short, json.dumps(short)):
        connector = from_settings({"url": sqlite_url, "entities": entities})
        info = connector.describe("accounts")
        assert set(info.fields) == {"Name", "Ext"} and info.fields["Ext"].external_id
        assert (info.id_field, info.modified_field) == ("Id", "LastModified")
        connector.close()


def test_the_url_is_never_shown(sqlite_url: str) -> None:
    with pytest.raises(ConfigError) as bad_scheme:
        from_settings(settings(f"mysql://u:{SECRET}@host/db"))
    assert SECRET not in str(bad_scheme.value) and "***" in str(bad_scheme.value)
    connector = from_settings(settings(CLOSED_PORT_URL))
    assert SECRET not in repr(connector) and SECRET not in repr(connector.settings)
    with pytest.raises(ConfigError, match="cannot be reached") as unreachable:
        connector.check()
    assert SECRET not in str(unreachable.value) and "***" in str(unreachable.value)
    connector.close()


def test_unknown_entities_and_fields_are_config_errors(connector: ReferenceConnector) -> None:
    with pytest.raises(ConfigError, match=r"unknown entity 'contacts'.*accounts"):
        connector.describe("contacts")
    with pytest.raises(ConfigError, match=r"unknown field.*'Colour'.*its fields: Name"):
        connector.read_changes(ENTITY, None, ["Name", "Colour"])
    with pytest.raises(ConfigError, match=r"'Name' is not the external-id field.*Ext"):
        connector.write(ENTITY, [WriteRequest("k", {})], "Name")


# --- writes and the remote user -------------------------------------------------------------


def test_values_are_validated_and_stored_canonical(connector: ReferenceConnector) -> None:
    values = {"Employees": "12", "Revenue": 3.10, "Active": "yes", "Opened": "2024-03-01"}
    rows = [
        WriteRequest("ok", values),
        WriteRequest("bad", {"Employees": "abc"}),
        WriteRequest("odd", {"Colour": "red"}),
    ]
    ok, bad, odd = connector.write(ENTITY, rows, "Ext")
    assert ok.record is not None
    stored = {k: v for k, v in ok.record.values.items() if v is not None}
    assert stored == {
        "Employees": 12,
        "Revenue": "3.1",
        "Active": True,
        "Opened": "2024-03-01",
        "Ext": "ok",
    }
    assert str(bad.error) == "field Employees: 'abc' is not a whole number"
    assert isinstance(odd.error, RecordError) and "unknown field(s) 'Colour'" in str(odd.error)
    assert live_ids(connector) == [ok.record.id]


def test_updates_of_deleted_records_and_repeats_in_one_batch(connector: ReferenceConnector) -> None:
    [gone] = create(connector, "gone")
    connector.delete(ENTITY, [gone])
    rows = [
        WriteRequest("x", {"Name": "first"}),
        WriteRequest("x", {"Employees": 3}),
        WriteRequest("gone", {"Name": "again"}, remote_id=gone),
    ]
    first, second, dead = connector.write(ENTITY, rows, "Ext")
    assert first.record is not None and second.record is not None
    assert first.record.id == second.record.id, "a repeated create in one batch duplicated"
    assert second.record.values["Name"] == "first" and second.record.values["Employees"] == 3
    assert first.record.values["Employees"] is None, "a result must show the row as it was"
    assert isinstance(dead.error, RecordError) and "was deleted" in str(dead.error)
    # a create whose key only a tombstone holds makes a new record
    [again] = create(connector, "gone")
    assert again != gone


def test_the_remote_user_changes_records_without_connector_calls(
    connector: ReferenceConnector, sqlite_url: str
) -> None:
    store = connector.store(ENTITY)
    connector.clock = lambda: MOMENT
    record_id = store.create({"Name": "by hand", "Ext": "h1"})
    connector.clock = lambda: MOMENT + dt.timedelta(seconds=1)
    store.update(record_id, {"Employees": "7"})
    record = store.get(record_id)
    assert record is not None and record.modified_at == MOMENT + dt.timedelta(seconds=1)
    assert record.values["Employees"] == 7 and record.values["Name"] == "by hand"
    assert connector.calls == 0
    other = ReferenceStore(sqlite_url, ENTITY, FIELDS, external_id_field="Ext")
    assert [r.id for r in other.all()] == [record_id], "another client sees the same store"
    other.remove(record_id)
    other.close()
    tombstone = store.get(record_id)
    assert tombstone is not None and tombstone.deleted and store.all() == []
    with pytest.raises(RecordError, match="was deleted"):
        store.update(record_id, {"Name": "late"})
    with pytest.raises(RecordError, match="no accounts record"):
        store.remove("R-missing")
    assert store.get("R-missing") is None and connector.calls == 0


def test_every_remote_call_is_counted(connector: ReferenceConnector) -> None:
    connector.check()
    connector.describe(ENTITY)
    assert connector.calls == 2
    create(connector, *[f"k{n}" for n in range(9)])  # batches of 4: three calls
    assert connector.calls == 5
    assert len(list(connector.read_changes(ENTITY, None, ["Name"]))) == 2  # 5 + 4
    assert connector.calls == 7
    assert [len(p) for p in connector.scan_ids(ENTITY)] == [5, 4]
    assert connector.calls == 9
    connector.delete(ENTITY, live_ids(connector)[:5])  # batches of 4: two calls
    assert connector.calls == 11


def test_reads_take_since_as_utc_and_return_only_asked_fields(
    connector: ReferenceConnector,
) -> None:
    connector.clock = lambda: MOMENT
    create(connector, "a")
    naive = MOMENT.replace(tzinfo=None)
    [batch] = connector.read_changes(ENTITY, naive, ["Name"])
    assert [dict(r.values) for r in batch.records] == [{"Name": "a", "Ext": "a"}]
    assert batch.records[0].modified_at == MOMENT
    later = MOMENT + dt.timedelta(microseconds=1)
    assert list(connector.read_changes(ENTITY, later, ["Name"])) == []


def test_key_scan_deletes_leave_nothing_behind(sqlite_url: str) -> None:
    connector = from_settings(settings(sqlite_url, delete_detection="key_scan"))
    kept, gone = create(connector, "kept", "gone")
    assert connector.delete(ENTITY, [gone])[0].ok
    records = [r for b in connector.read_changes(ENTITY, None, ["Name"]) for r in b.records]
    assert [r.id for r in records] == [kept]
    assert connector.store(ENTITY).get(gone) is None
    assert [i for page in connector.scan_ids(ENTITY) for i in page] == [kept]
    connector.close()


# --- faults and latency ---------------------------------------------------------------------


def test_planned_faults_hit_the_next_calls_then_stop(connector: ReferenceConnector) -> None:
    connector.faults.fail_next("read", TransientError("busy", retry_after=2), times=2)
    for _ in range(2):
        with pytest.raises(TransientError, match="busy"):
            list(connector.read_changes(ENTITY, None, ["Name"]))
    assert list(connector.read_changes(ENTITY, None, ["Name"])) == []
    connector.faults.fail_next("any", ConfigError("HTTP 401"))
    with pytest.raises(ConfigError):
        connector.describe(ENTITY)
    connector.describe(ENTITY)
    with pytest.raises(ValueError, match="unknown operation"):
        connector.faults.fail_next("query", RecordError("x"))  # type: ignore[arg-type]


def test_a_planned_record_error_fails_the_rows_of_one_call(connector: ReferenceConnector) -> None:
    connector.faults.fail_next("write", RecordError("HTTP 400: refused"))
    results = connector.write(ENTITY, [WriteRequest(f"k{n}", {}) for n in range(6)], "Ext")
    assert [r.ok for r in results] == [False] * 4 + [True] * 2
    assert str(results[0].error) == "HTTP 400: refused"
    assert len(live_ids(connector)) == 2


def test_rows_matching_a_rule_are_refused(connector: ReferenceConnector) -> None:
    connector.faults.reject_when(lambda v: v["Name"] == "bad", "names may not be bad")
    [ok] = create(connector, "fine")
    rows = [
        WriteRequest("a", {"Name": "bad"}),
        WriteRequest("b", {"Name": "good"}),
        WriteRequest("fine", {"Name": "bad"}, remote_id=ok),
    ]
    results = connector.write(ENTITY, rows, "Ext")
    assert [r.ok for r in results] == [False, True, False]
    assert str(results[0].error) == "record 'a': names may not be bad"
    record = connector.store(ENTITY).get(ok)
    assert record is not None and record.values["Name"] == "fine"


def test_random_failures_follow_the_seed(sqlite_url: str) -> None:
    def outcomes(seed: int) -> list[bool]:
        connector = from_settings(settings(sqlite_url, fail_rate=0.5, seed=seed))
        seen = []
        for _ in range(40):
            try:
                connector.describe(ENTITY)
                seen.append(True)
            except TransientError:
                seen.append(False)
        connector.close()
        return seen

    first = outcomes(7)
    assert first == outcomes(7) and first != outcomes(8)
    assert 8 <= first.count(False) <= 32
    always = from_settings(settings(sqlite_url, fail_rate=1))
    with pytest.raises(TransientError, match="fail_rate"):
        always.check()
    always.faults.fail_rate = 0.0
    records = with_retries(lambda: create(always, "k"), RetryPolicy(initial=0.001))
    assert len(records) == 1
    always.close()


def test_latency_is_slept_per_call(sqlite_url: str) -> None:
    connector = from_settings(settings(sqlite_url, latency_ms=30))
    started = time.monotonic()
    connector.check()
    connector.describe(ENTITY)
    assert time.monotonic() - started >= 0.06
    slept: list[float] = []
    connector.sleep = slept.append
    create(connector, *[f"k{n}" for n in range(5)])
    assert slept == [0.03, 0.03]
    connector.close()


# --- the contract suite itself can fail -----------------------------------------------------


def test_ties_by_volume_when_the_clock_cannot_be_set(sqlite_url: str) -> None:
    harness = ReferenceHarness.open(sqlite_url)
    harness.clock_settable = False
    harness.seeds_share_instants = True
    minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    harness.connector.clock = lambda: minute  # a remote whose timestamps are coarse
    ConnectorContract().test_incremental_read_keeps_ties_across_a_page_boundary(harness)
    harness.close()


def test_the_tie_test_fails_when_no_tie_can_be_arranged(sqlite_url: str) -> None:
    harness = ReferenceHarness.open(sqlite_url)
    harness.clock_settable = False
    with pytest.raises(pytest.fail.Exception, match="cannot be arranged"):
        ConnectorContract().test_incremental_read_keeps_ties_across_a_page_boundary(harness)
    harness.seeds_share_instants = True  # but the clock is fine-grained: no tie arises
    with pytest.raises(pytest.fail.Exception, match="no instant holds more than a page"):
        ConnectorContract().test_incremental_read_keeps_ties_across_a_page_boundary(harness)
    harness.close()


def test_another_process_sees_the_same_store(connector: ReferenceConnector) -> None:
    [record_id] = create(connector, "shared")
    url = connector.settings.url.get_secret_value()
    code = (
        "import json, sys\n"
        "from conveyor.connector import connector_factory\n"
        "c = connector_factory('reference')(json.loads(sys.argv[1]))\n"
        "print(json.dumps([r.id for b in c.read_changes('accounts', None, ['Name'])"
        " for r in b.records]))\n"
    )
    argument = json.dumps(settings(url))
    done = subprocess.run(
        [sys.executable, "-c", code, argument], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [record_id]
