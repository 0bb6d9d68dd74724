"""``FakeSalesforce``: a stateful Salesforce org on 127.0.0.1 that tests start, seed, inspect and
break, and that simple-salesforce talks to unmodified.

Every response carries ``Sforce-Limit-Info: api-usage=N/LIMIT``; past the daily limit calls get
403 REQUEST_LIMIT_EXCEEDED. Calls are counted in total and per route (method and path template),
so tests can hold a connector to an API budget.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from conveyor.testing.fakes.salesforce.api_errors import ApiError, not_found
from conveyor.testing.fakes.salesforce.auth import Auth, Credentials, Login, Sessions
from conveyor.testing.fakes.salesforce.bulk2 import Bulk2Api
from conveyor.testing.fakes.salesforce.clock import Clock, system_clock
from conveyor.testing.fakes.salesforce.composite import CompositeApi
from conveyor.testing.fakes.salesforce.describe import FieldSpec, Schema
from conveyor.testing.fakes.salesforce.dml import Dml, Outcome, render
from conveyor.testing.fakes.salesforce.faults import Faults
from conveyor.testing.fakes.salesforce.ids import IdFactory
from conveyor.testing.fakes.salesforce.query import Executor
from conveyor.testing.fakes.salesforce.rest import API_VERSIONS, RestApi
from conveyor.testing.fakes.salesforce.routing import Request, Response, Router
from conveyor.testing.fakes.salesforce.server import HttpServer
from conveyor.testing.fakes.salesforce.store import Org
from conveyor.testing.fakes.served import ServedFake

__all__ = ["DEFAULT_VERSION", "FakeSalesforce"]

DEFAULT_VERSION = "59.0"


class FakeSalesforce(ServedFake):
    """A fake Salesforce org served over HTTP; use it as a context manager."""

    def __init__(
        self,
        *,
        port: int = 0,
        clock: Clock | None = None,
        api_limit: int = 100_000,
        polls_to_complete: int = 1,
        query_page_size: int = 2000,
        bulk_page_size: int = 50_000,
        credentials: Credentials | None = None,
        cassettes: Path | None = None,
        custom_fields: Mapping[str, Iterable[FieldSpec]] | None = None,
    ) -> None:
        self.schema = Schema(cassettes)
        for name, specs in (custom_fields or {}).items():
            for spec in specs:
                self.schema.require(name).add_field(spec)
        self.org = Org(self.schema, IdFactory(), clock or system_clock)
        self.api_limit = api_limit
        self.polls_to_complete = polls_to_complete
        self.query_page_size = query_page_size
        self.bulk_page_size = bulk_page_size
        self.credentials = credentials or Credentials()
        self.internal_errors: list[str] = []
        self._usage = 0
        self._init_counters()
        self._sessions = Sessions(self.org.org_id)
        self.faults = Faults(on_expire=self._sessions.expire_all)
        self._dml = Dml(self.org, self.faults)
        self._router = self._routes()
        self._session_id = self._sessions.issue()
        self._server = HttpServer(self._handle, port)

    def _routes(self) -> Router:
        router = Router()
        executor = Executor(self.org)
        auth = Auth(
            self._sessions, self.credentials, lambda: self.url, self.org.org_id, self.org.user_id
        )
        router.add("POST", "/services/oauth2/token", auth.token, auth=False)
        router.add("POST", "/services/Soap/u/{api}", auth.soap_login, auth=False)
        RestApi(
            self.org, self._dml, executor, lambda: self.query_page_size, self._usage_info
        ).register(router)
        CompositeApi(self.org, self._dml).register(router)
        self._bulk = Bulk2Api(
            self.org,
            self._dml,
            executor,
            self.faults,
            lambda: self.polls_to_complete,
            lambda: self.bulk_page_size,
        )
        self._bulk.register(router)
        return router

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def session_id(self) -> str:
        """An access token issued when the fake was made (until the session expires)."""
        return self._session_id

    def new_session(self) -> str:
        """Issue a fresh valid access token without going through the token endpoint."""
        self._session_id = self._sessions.issue()
        return self._session_id

    @property
    def logins(self) -> list[Login]:
        return list(self._sessions.logins)

    # -- the org ------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self.org.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.org.clock = clock

    def seed(self, object: str, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create records as a user would (all or none); returns their ids in order."""
        obj = self.schema.require(object)
        with self.org.lock, self.org.journal() as journal:
            ids = []
            for number, record in enumerate(records):
                outcome = self._dml.create(obj, record, "json")
                if outcome.error is not None:
                    journal.rollback()
                    raise ValueError(f"seeding {object} record {number}: {_describe(outcome)}")
                ids.append(str(outcome.id))
            return ids

    def records(self, object: str, include_deleted: bool = False) -> list[dict[str, object]]:
        """The object's records as REST JSON values, in creation order."""
        obj = self.schema.require(object)
        with self.org.lock:
            return [render(obj, r) for r in self.org.rows(obj, include_deleted)]

    def get(self, object: str, record_id: str) -> dict[str, object] | None:
        obj = self.schema.require(object)
        with self.org.lock:
            record = self.org.get(obj, record_id)
            return render(obj, record) if record is not None else None

    def update(self, object: str, record_id: str, values: Mapping[str, Any]) -> None:
        """Change a record as a user would (bumping ``SystemModstamp``)."""
        obj = self.schema.require(object)
        with self.org.lock:
            outcome = self._dml.update(obj, record_id, values, "json")
        if outcome.error is not None:
            raise ValueError(f"updating {object} {record_id}: {_describe(outcome)}")

    def delete(self, object: str, record_ids: str | Iterable[str]) -> None:
        """Move records to the recycle bin (queryAll still returns them, IsDeleted = true)."""
        obj = self.schema.require(object)
        ids = [record_ids] if isinstance(record_ids, str) else list(record_ids)
        with self.org.lock:
            for record_id in ids:
                outcome = self._dml.delete(obj, record_id)
                if outcome.error is not None:
                    raise ValueError(f"deleting {object} {record_id}: {_describe(outcome)}")

    def undelete(self, object: str, record_ids: str | Iterable[str]) -> None:
        obj = self.schema.require(object)
        ids = [record_ids] if isinstance(record_ids, str) else list(record_ids)
        with self.org.lock:
            for record_id in ids:
                self.org.undelete(obj, record_id)

    def empty_recycle_bin(self, object: str | None = None) -> None:
        """Purge deleted records for good (queryAll no longer sees them)."""
        with self.org.lock:
            objects = [self.schema.require(object)] if object else self.schema.loaded()
            for obj in objects:
                for record in list(self.org.rows(obj, include_deleted=True)):
                    if record.get("IsDeleted"):
                        self.org.purge(obj, str(record["Id"]))

    def add_field(self, object: str, spec: FieldSpec) -> None:
        with self.org.lock:
            self.schema.require(object).add_field(spec)

    def add_object(
        self, name: str, fields: Iterable[FieldSpec] = (), key_prefix: str | None = None
    ) -> None:
        with self.org.lock:
            self.schema.add_object(name, fields, key_prefix=key_prefix)

    def ingest_jobs(self) -> list[dict[str, Any]]:
        """Info of every Bulk ingest job, as ``GET jobs/ingest/{id}`` shows it (no polling)."""
        with self.org.lock:
            return [job.info() for job in self._bulk.ingest_jobs.values()]

    def query_jobs(self) -> list[dict[str, Any]]:
        with self.org.lock:
            return [job.info() for job in self._bulk.query_jobs.values()]

    # -- counters and limits ------------------------------------------------------------------

    @property
    def api_usage(self) -> int:
        """API calls counted against the daily limit (what Sforce-Limit-Info reports)."""
        return self._usage

    @api_usage.setter
    def api_usage(self, value: int) -> None:
        with self._counter_lock:
            self._usage = value

    def _usage_info(self) -> tuple[int, int]:
        return self._usage, self.api_limit

    # -- request pipeline ---------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        try:
            route, params = self._router.match(request.method, request.path)
        except ApiError as error:
            self._count(f"{request.method} (no route)")
            return self._finish(Response.error(error))
        self._count(route.key)
        delay = self.faults.delay_for(route.key)
        if delay:
            time.sleep(delay)
        try:
            if "version" in params and params["version"] not in API_VERSIONS:
                raise not_found()
            if route.authenticated:
                self._authenticate(request)
            injected = self.faults.error_for(route.key)
            if injected is not None:
                raise injected
            if route.authenticated:
                self._spend()
            with self.org.lock:
                response = route.handler(replace(request, params=params))
        except ApiError as error:
            response = Response.error(error)
        except Exception as exc:  # a bug in the fake must show, not hang the client
            self.internal_errors.append(traceback.format_exc())
            response = Response.error(ApiError(500, "UNKNOWN_EXCEPTION", f"fake bug: {exc!r}"))
        return self._finish(response)

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self._sessions.valid(token.strip()):
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def _spend(self) -> None:
        with self._counter_lock:
            if self._usage >= self.api_limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._usage += 1

    def _finish(self, response: Response) -> Response:
        response.headers["Sforce-Limit-Info"] = f"api-usage={self._usage}/{self.api_limit}"
        return response


def _describe(outcome: Outcome) -> str:
    error = outcome.error
    return f"{error.code}: {error.message}" if error is not None else "ok"
