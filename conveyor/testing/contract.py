"""The connector contract suite: the tests every connector inherits in a few lines.

A connector's test module subclasses :class:`ConnectorContract`, names the connector and
provides a ``harness`` fixture that arranges the remote (a fake server on 127.0.0.1 for the real
connectors, a database table for the reference connector)::

    class TestAcmeContract(ConnectorContract):
        connector_name = "acme"

        @pytest.fixture
        def harness(self, tmp_path: Path) -> Iterator[ContractHarness]:
            server = start_fake_acme(tmp_path)
            yield AcmeHarness(server, page_size=5, batch_size=4)
            server.stop()

Every test here is the engine's assumption about a connector, proved against the remote: what
``describe`` says, reads in (modified_at, id) order that keep ties on the cursor and respect the
page size, writes that read back equal, creates that are idempotent on the external id, per-row
failures, the error vocabulary (401 -> ConfigError, 429/503 -> TransientError carrying
Retry-After, which :func:`conveyor.retry.with_retries` honours) and delete detection as
declared. An entity the remote cannot delete (``EntityInfo.deletable`` False, as SAP's
business partners) must refuse each delete as a row error that says so. Keep the harness's page
and batch sizes small (a handful) so the suite stays fast.
``tests/connectors/test_contract_coverage.py`` fails when a registered connector has no subclass.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import pytest

from conveyor.connector import (
    ChangeBatch,
    Connector,
    EntityInfo,
    RemoteRecord,
    WriteRequest,
    connector_factory,
)
from conveyor.errors import ConfigError, RecordError, TransientError
from conveyor.retry import RetryPolicy, with_retries
from conveyor.sync.values import canonical
from conveyor.testing.types import REMOTE_TO_LOCAL

__all__ = ["ConnectorContract", "ContractHarness", "canonical_values", "read_all"]

#: Instants the tests set the remote's clock to (when the harness can), far from "now".
T0 = dt.datetime(2030, 1, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=1)
T2 = T0 + dt.timedelta(minutes=2)
FAST_RETRIES = RetryPolicy(attempts=3, initial=0.001, maximum=0.002)


class ContractHarness(Protocol):
    """What the suite needs to arrange the remote around one open connector.

    ``seed``/``update``/``remove`` act as another user of the remote would (through the fake
    server's own state, not through the connector): they change the record's modification time
    and are not counted in ``connector.calls``.

    Ties on the cursor: ``set_clock(moment)`` makes every later change on the remote (by the
    harness or the connector) carry ``moment`` as its modification time, ``set_clock(None)``
    returns to real time. A remote whose clock cannot be set raises NotImplementedError; the
    suite then relies on ``seeds_share_instants``: True when the remote's timestamps are coarse
    (whole seconds, say) so that records seeded back to back share one instant; the tie test
    then seeds three pages of records and fails if no instant holds more than a page of them.
    A harness that can do neither fails the tie test: ties are not optional.
    """

    @property
    def connector(self) -> Connector:
        """The open connector under test (small page and batch sizes keep the suite fast)."""
        ...

    @property
    def entity(self) -> str: ...

    @property
    def fields(self) -> Sequence[str]:
        """The writable fields ``sample`` fills and the suite reads back."""
        ...

    @property
    def external_id_field(self) -> str: ...

    @property
    def seeds_share_instants(self) -> bool: ...

    def sample(self, n: int) -> dict[str, Any]:
        """Valid values for ``fields``, different for each ``n``."""
        ...

    def invalid(self, n: int) -> dict[str, Any]:
        """Values the remote refuses for one record (text in a number field, say)."""
        ...

    def seed(self, values: Mapping[str, Any]) -> str:
        """Create a record as a remote user; its id."""
        ...

    def update(self, id: str, values: Mapping[str, Any]) -> None: ...

    def remove(self, id: str) -> None: ...

    def set_clock(self, moment: dt.datetime | None) -> None: ...

    def fail_next(self, op: str, status: int, retry_after: float | None = None) -> None:
        """The next call of ``op`` (check, read, write, delete, scan) answers HTTP ``status``
        (with a Retry-After header when ``retry_after`` is given)."""
        ...


def read_all(
    connector: Connector, entity: str, fields: Sequence[str], since: dt.datetime | None = None
) -> list[ChangeBatch]:
    """Every batch ``read_changes`` yields."""
    return list(connector.read_changes(entity, since, fields))


def canonical_values(info: EntityInfo, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` in canonical form for the fields' declared types, for exact comparison."""
    return {n: canonical(v, REMOTE_TO_LOCAL[info.fields[n].type], n) for n, v in values.items()}


def _records(batches: Sequence[ChangeBatch]) -> list[RemoteRecord]:
    return [r for batch in batches for r in batch.records]


def _check_order(records: Sequence[RemoteRecord]) -> None:
    assert all(r.modified_at for r in records), "read_changes returned a record with no time"
    # Oldest first is what the engine needs; ties come in the remote's own id order (which
    # need not be Python's: Salesforce compares ids without regard to case).
    moments = [r.modified_at or T0 for r in records]
    assert moments == sorted(moments), "read_changes must return the oldest changes first"
    doubled = [i for i, n in Counter(r.id for r in records).items() if n > 1]
    assert not doubled, f"records returned twice in one read: {doubled}"


class ConnectorContract:
    """Inherit this in ``tests/connectors/``, set ``connector_name`` and define ``harness``."""

    connector_name: ClassVar[str]

    @pytest.fixture
    def harness(self) -> ContractHarness:
        pytest.fail(f"{type(self).__name__} must define a `harness` fixture", pytrace=False)

    # --- the connector is what the registry says ------------------------------------------

    def test_is_registered_under_its_name(self, harness: ContractHarness) -> None:
        assert connector_factory(self.connector_name) is not None
        assert harness.connector.name == self.connector_name
        assert isinstance(harness.connector, Connector)

    def test_check_passes_against_a_healthy_remote(self, harness: ContractHarness) -> None:
        harness.connector.check()

    def test_describe_names_fields_and_the_external_id(self, harness: ContractHarness) -> None:
        info = harness.connector.describe(harness.entity)
        assert info.name == harness.entity and info.id_field
        assert info.unknown([*harness.fields, harness.external_id_field]) == []
        assert info.fields[harness.external_id_field].external_id
        assert info.unknown(["no_such_field_x9"]) == ["no_such_field_x9"]
        assert info.read_only(harness.fields) == [], "the suite's fields must be writable"

    # --- reads ----------------------------------------------------------------------------

    def test_full_read_returns_every_record_with_its_values(self, harness: ContractHarness) -> None:
        ids = {harness.seed(harness.sample(n)): n for n in range(3)}
        info = harness.connector.describe(harness.entity)
        records = _records(read_all(harness.connector, harness.entity, harness.fields))
        _check_order(records)
        assert {r.id for r in records} == set(ids)
        for record in records:
            assert not record.deleted
            expected = canonical_values(info, harness.sample(ids[record.id]))
            got = canonical_values(info, {n: record.values.get(n) for n in harness.fields})
            assert got == expected

    def test_incremental_read_keeps_ties_across_a_page_boundary(
        self, harness: ContractHarness
    ) -> None:
        size = harness.connector.capabilities.page_size
        instant, before, tied = self._seed_ties(harness, size)
        assert len(tied) > size, f"the tie must span a page boundary: {len(tied)} <= {size}"
        batches = read_all(harness.connector, harness.entity, harness.fields, since=instant)
        records = _records(batches)
        _check_order(records)
        got = {r.id for r in records}
        assert tied <= got, f"records tied on the cursor were lost: {sorted(tied - got)}"
        assert not (before & got), "records modified before `since` came back"
        floor = instant.replace(microsecond=0)  # remotes that keep whole seconds read from it
        assert all(r.modified_at is not None and r.modified_at >= floor for r in records)

    def _seed_ties(
        self, harness: ContractHarness, size: int
    ) -> tuple[dt.datetime, set[str], set[str]]:
        """Records tied on one instant, more than a page of them: (instant, ids before, tied)."""
        try:
            harness.set_clock(T0)
        except NotImplementedError:
            return self._seed_ties_by_volume(harness, size)
        try:
            before = {harness.seed(harness.sample(0))}
            harness.set_clock(T1)
            tied = {harness.seed(harness.sample(n)) for n in range(1, size + 2)}
            harness.set_clock(T2)
            harness.seed(harness.sample(size + 2))
        finally:
            harness.set_clock(None)
        return T1, before, tied

    def _seed_ties_by_volume(
        self, harness: ContractHarness, size: int
    ) -> tuple[dt.datetime, set[str], set[str]]:
        if not harness.seeds_share_instants:
            pytest.fail(
                "the harness can neither set the remote's clock (set_clock) nor seed records "
                "in one instant (seeds_share_instants): the tie test cannot be arranged",
                pytrace=False,
            )
        for n in range(3 * size + 1):
            harness.seed(harness.sample(n))
        records = _records(read_all(harness.connector, harness.entity, harness.fields))
        by_instant = Counter(r.modified_at for r in records)
        instant, count = by_instant.most_common(1)[0]
        assert instant is not None
        if count <= size:
            pytest.fail(f"no instant holds more than a page ({size}) of seeded records")
        before = {r.id for r in records if r.modified_at is not None and r.modified_at < instant}
        return instant, before, {r.id for r in records if r.modified_at == instant}

    @pytest.mark.parametrize("shape", ["page_plus_one", "two_full_pages"])
    def test_pagination_respects_the_page_size(self, harness: ContractHarness, shape: str) -> None:
        size = harness.connector.capabilities.page_size
        count = size + 1 if shape == "page_plus_one" else 2 * size
        seeded = {harness.seed(harness.sample(n)) for n in range(count)}
        calls = harness.connector.calls
        batches = read_all(harness.connector, harness.entity, harness.fields)
        made = harness.connector.calls - calls
        records = _records(batches)
        _check_order(records)
        assert {r.id for r in records} == seeded
        assert all(len(b.records) <= size for b in batches), "a batch exceeds the page size"
        pages = -(-count // size)
        assert pages <= made <= count // size + 1, f"{made} calls to read {count} records"

    # --- writes ---------------------------------------------------------------------------

    def test_write_then_read_back(self, harness: ContractHarness) -> None:
        connector, entity, ext = harness.connector, harness.entity, harness.external_id_field
        info = connector.describe(entity)
        created = connector.write(entity, [WriteRequest("k1", harness.sample(1))], ext)
        assert created[0].ok and created[0].record is not None, created[0].error
        record_id = created[0].record.id
        updated = connector.write(
            entity, [WriteRequest("k1", harness.sample(2), remote_id=record_id)], ext
        )
        assert updated[0].ok and updated[0].record is not None, updated[0].error
        assert updated[0].record.id == record_id
        [record] = _records(read_all(connector, entity, harness.fields))
        assert record.id == record_id
        expected = canonical_values(info, harness.sample(2))
        for values in (updated[0].record.values, record.values):
            assert canonical_values(info, {n: values.get(n) for n in harness.fields}) == expected
        assert canonical_values(info, {ext: record.values.get(ext)}) == canonical_values(
            info, {ext: "k1"}
        )

    def test_writes_respect_the_batch_size(self, harness: ContractHarness) -> None:
        size = harness.connector.capabilities.batch_size
        requests = [WriteRequest(f"b{n}", harness.sample(n)) for n in range(size + 1)]
        calls = harness.connector.calls
        results = harness.connector.write(harness.entity, requests, harness.external_id_field)
        assert [r.ref for r in results] == [r.ref for r in requests], "results out of order"
        assert all(r.ok for r in results), [r.error for r in results if r.error]
        assert harness.connector.calls - calls >= 2, "more than batch_size rows in one call"
        records = _records(read_all(harness.connector, harness.entity, harness.fields))
        assert len(records) == size + 1

    def test_create_is_idempotent_on_the_external_id(self, harness: ContractHarness) -> None:
        connector, entity, ext = harness.connector, harness.entity, harness.external_id_field
        first = connector.write(entity, [WriteRequest("same", harness.sample(1))], ext)
        again = connector.write(entity, [WriteRequest("same", harness.sample(2))], ext)
        assert first[0].record is not None and again[0].record is not None
        assert again[0].record.id == first[0].record.id, "a second create made a duplicate"
        records = _records(read_all(connector, entity, harness.fields))
        assert [r.id for r in records] == [first[0].record.id]
        info = connector.describe(entity)
        got = canonical_values(info, {n: records[0].values.get(n) for n in harness.fields})
        assert got == canonical_values(info, harness.sample(2))

    def test_row_failures_keep_the_rest_of_the_batch(self, harness: ContractHarness) -> None:
        connector, entity, ext = harness.connector, harness.entity, harness.external_id_field
        requests = [
            WriteRequest("good1", harness.sample(1)),
            WriteRequest("bad", harness.invalid(2)),
            WriteRequest("gone", harness.sample(3), remote_id=self._missing_id(harness)),
            WriteRequest("good2", harness.sample(4)),
        ]
        results = connector.write(entity, requests, ext)
        assert [r.ref for r in results] == ["good1", "bad", "gone", "good2"]
        assert results[0].ok and results[3].ok, [r.error for r in results]
        for failed in results[1:3]:
            assert isinstance(failed.error, RecordError) and str(failed.error), failed
            assert failed.record is None
        records = _records(read_all(connector, entity, harness.fields))
        ids = {r.id for r in records if not r.deleted}
        assert ids == {r.record.id for r in (results[0], results[3]) if r.record}

    def _missing_id(self, harness: ContractHarness) -> str:
        """The id of a record that existed and was removed: an id the remote knows not."""
        gone = harness.seed(harness.sample(99))
        harness.remove(gone)
        return gone

    # --- the error vocabulary -------------------------------------------------------------

    @pytest.mark.parametrize("op", ["check", "read"])
    def test_401_is_a_config_error(self, harness: ContractHarness, op: str) -> None:
        harness.fail_next(op, 401)
        with pytest.raises(ConfigError):
            self._run(harness, op)

    @pytest.mark.parametrize("status", [429, 503])
    @pytest.mark.parametrize("op", ["read", "write"])
    def test_throttling_is_transient_and_retry_after_is_honoured(
        self, harness: ContractHarness, status: int, op: str
    ) -> None:
        harness.seed(harness.sample(0))
        harness.fail_next(op, status, retry_after=7)
        with pytest.raises(TransientError) as caught:
            self._run(harness, op)
        assert caught.value.retry_after == 7
        harness.fail_next(op, status, retry_after=3)
        waits: list[float] = []
        with_retries(lambda: self._run(harness, op), FAST_RETRIES, sleep=waits.append)
        assert waits and waits[0] >= 3, f"Retry-After was not honoured: waited {waits}"
        records = _records(read_all(harness.connector, harness.entity, harness.fields))
        assert len(records) == (1 if op == "read" else 2), "a retried create made a duplicate"

    def _run(self, harness: ContractHarness, op: str) -> object:
        connector, entity = harness.connector, harness.entity
        actions: dict[str, Callable[[], object]] = {
            "check": connector.check,
            "read": lambda: read_all(connector, entity, harness.fields),
            "write": lambda: connector.write(
                entity, [WriteRequest("retried", harness.sample(5))], harness.external_id_field
            ),
        }
        return actions[op]()

    # --- deletes --------------------------------------------------------------------------

    @pytest.mark.parametrize("by", ["remote_user", "connector"])
    def test_deletes_are_detected_as_declared(self, harness: ContractHarness, by: str) -> None:
        connector, entity = harness.connector, harness.entity
        kept, gone = harness.seed(harness.sample(1)), harness.seed(harness.sample(2))
        if by == "remote_user":
            harness.remove(gone)
        elif connector.describe(entity).deletable:
            [result] = connector.delete(entity, [gone])
            assert result.ok, result.error
        else:  # the remote refuses deletes of this entity: each is a row error saying so
            [result] = connector.delete(entity, [gone])
            assert isinstance(result.error, RecordError) and str(result.error), result
            harness.remove(gone)
        detection = connector.capabilities.delete_detection
        if detection == "tombstones":
            records = {r.id: r for r in _records(read_all(connector, entity, harness.fields))}
            assert gone in records and records[gone].deleted, "the delete left no tombstone"
            assert not records[kept].deleted
        elif detection == "key_scan":
            ids = [i for page in connector.scan_ids(entity) for i in page]
            assert kept in ids and gone not in ids
        else:
            assert detection == "none", f"unknown delete detection {detection!r}"

    def test_delete_of_an_unknown_id_is_a_row_error(self, harness: ContractHarness) -> None:
        kept = harness.seed(harness.sample(1))
        missing = self._missing_id(harness)
        results = harness.connector.delete(harness.entity, [missing, kept])
        assert [r.ref for r in results] == [missing, kept]
        assert isinstance(results[0].error, RecordError) and str(results[0].error)
        if harness.connector.describe(harness.entity).deletable:
            assert results[1].ok, results[1].error
        else:
            assert isinstance(results[1].error, RecordError), "an undeletable entity was deleted"
