"""``FakeServiceNow``: a stateful ServiceNow instance on 127.0.0.1 that tests start, seed,
inspect and break, and that pysnc and plain ``requests`` talk to unmodified.

Calls are counted in total and per route (method and path template, e.g.
``"GET /api/now/table/{table}"``), so tests can hold a connector to an API budget. Requests
served inside a Batch API call are counted per route as ``"BATCH GET /api/now/table/{table}"``
and are not in :attr:`FakeServiceNow.calls` (the batch is one HTTP call).
"""

from __future__ import annotations

import copy
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.salesforce.server import HttpServer
from conveyor.testing.fakes.served import ClientCredentialsAccess, ServedFake
from conveyor.testing.fakes.servicenow.auth import Authenticator, Credentials, unauthorized
from conveyor.testing.fakes.servicenow.batch_api import BatchApi
from conveyor.testing.fakes.servicenow.dictionary import seed_dictionary
from conveyor.testing.fakes.servicenow.env import Env, as_user
from conveyor.testing.fakes.servicenow.faults import Faults
from conveyor.testing.fakes.servicenow.fields import FieldReader
from conveyor.testing.fakes.servicenow.glidetime import Clock, DateGenerateZone, system_clock
from conveyor.testing.fakes.servicenow.import_api import ImportApi
from conveyor.testing.fakes.servicenow.people import seed_people
from conveyor.testing.fakes.servicenow.query import QueryCompiler
from conveyor.testing.fakes.servicenow.render import Renderer
from conveyor.testing.fakes.servicenow.routing import (
    Request,
    Response,
    Router,
    ServiceNowError,
)
from conveyor.testing.fakes.servicenow.store import Store
from conveyor.testing.fakes.servicenow.table_api import TableApi
from conveyor.testing.fakes.servicenow.tables import build_schema
from conveyor.testing.fakes.servicenow.transform import (
    Transformer,
    TransformMap,
    default_transform_map,
)
from conveyor.testing.fakes.servicenow.writes import Writer

__all__ = ["ColumnMapping", "FakeServiceNow"]

ColumnMapping = Literal["label", "name"]
T = TypeVar("T")


class FakeServiceNow(ClientCredentialsAccess, ServedFake):
    """A fake ServiceNow instance served over HTTP; use it as a context manager.

    ``time_zone`` and ``date_format`` are the integration user's preferences: display values
    of date-times are written in them (raw values are UTC). ``clock`` stamps records (a
    :class:`~conveyor.testing.fakes.salesforce.clock.ManualClock` makes stamps predictable).
    """

    def __init__(
        self,
        port: int = 0,
        clock: Clock | None = None,
        time_zone: str = "America/Los_Angeles",
        *,
        date_format: str = "yyyy-MM-dd",
        credentials: Credentials | None = None,
    ) -> None:
        self.credentials: Credentials = credentials or Credentials()
        self.internal_errors: list[str] = []
        #: How ``javascript:gs.dateGenerate(date, time)`` in a query is read: in the user's
        #: zone (``"user"``, what the condition builder shows) or as UTC (``"UTC"``).
        self.date_generate_zone: DateGenerateZone = "user"
        #: How ``insertMultiple`` matches record keys to staging columns (ServiceNow's default
        #: is the column label).
        self.insert_multiple_mapping: ColumnMapping = "label"
        #: While True, ``insertMultiple`` rows stay ``pending`` until :meth:`process_imports`.
        self.defer_imports = False
        self._init_counters()
        self.schema = build_schema()
        store = Store(self.schema, clock or system_clock)
        self._time_zone = time_zone
        zone = ZoneInfo(time_zone)
        self._auth = Authenticator(self.credentials, lambda: store.clock())
        self.faults = Faults(clock=lambda: store.clock(), unauthorized=unauthorized)
        reader = FieldReader(self.schema, store, zone, date_format)
        self._env = Env(
            schema=self.schema,
            store=store,
            writer=Writer(self.schema, store, zone, self.faults.rejection_for),
            reader=reader,
            renderer=Renderer(reader),
            compiler=QueryCompiler(
                reader, now=lambda: store.clock(), generate_zone=lambda: self.date_generate_zone
            ),
            faults=self.faults,
            default_url=lambda: self.url,
        )
        self._router = Router()
        TableApi(self._env).register(self._router)
        self.transform_map: TransformMap = default_transform_map(self.schema)
        self._imports = ImportApi(
            self._env,
            Transformer(self._env, self.transform_map),
            mapping=lambda: self.insert_multiple_mapping,
            deferred=lambda: self.defer_imports,
        )
        self._imports.register(self._router)
        BatchApi(self._batch_item).register(self._router)
        self._router.add("POST", "/oauth_token.do", self._auth.token_endpoint, auth=False)
        seed_dictionary(self.schema, store)
        seed_people(store, self.credentials.username)
        self._server = HttpServer(self._handle, port)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:PORT``: what pysnc is given (it refuses ``http://``); reach it
        through :func:`~conveyor.testing.fakes.servicenow.client.loopback_session`."""
        return f"https://127.0.0.1:{self._server.port}"

    # -- credentials and settings -------------------------------------------------------------

    @property
    def time_zone(self) -> str:
        return self._time_zone

    @property
    def clock(self) -> Clock:
        return self._env.store.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._env.store.clock = clock

    def expire_tokens(self) -> None:
        """Every OAuth access token issued so far answers 401 from now on; refresh tokens
        still work."""
        with self._env.store.lock:
            self._auth.expire_tokens()

    def set_audit_delete(self, table: str, enabled: bool) -> None:
        """Audit deletes of ``table`` in ``sys_audit_delete`` or not (no_audit_delete)."""
        with self._env.store.lock:
            if self.schema.get(table) is None:
                raise KeyError(f"no table {table!r} in the fake instance")
            self.schema.set_audit_delete(table, enabled)

    def process_imports(self) -> int:
        """Transform every pending import row (see :attr:`defer_imports`); returns how many."""
        with self._env.store.lock:
            return self._imports.process(self.username)

    # -- records ------------------------------------------------------------------------------

    def insert(self, table: str, values: Mapping[str, Any]) -> str:
        """Insert a record as the integration user would (same value checks and business rules
        as the Table API, no ACLs or planned refusals); returns its sys_id."""
        with self._env.store.lock:
            writer = self._env.writer
            return self._checked(lambda: writer.insert(table, values, self.username, api=False))[
                "sys_id"
            ]

    def update(self, table: str, sys_id: str, values: Mapping[str, Any]) -> None:
        """Update a record (stamps and ``sys_mod_count`` move only if a value changes)."""
        with self._env.store.lock:
            writer = self._env.writer
            self._checked(lambda: writer.update(table, sys_id, values, self.username, api=False))

    def delete(self, table: str, sys_id: str) -> None:
        """Delete a record; an audited table gets its ``sys_audit_delete`` row."""
        with self._env.store.lock:
            writer = self._env.writer
            self._checked(lambda: writer.delete(table, sys_id, self.username, api=False))

    def records(self, table: str) -> list[dict[str, str]]:
        """The stored records ``table`` sees (extending tables included), oldest first, as
        copies of their stored (raw, UTC) values."""
        with self._env.store.lock:
            if self.schema.get(table) is None:
                raise KeyError(f"no table {table!r} in the fake instance")
            return [copy.deepcopy(row) for _, row in self._env.store.rows(table)]

    def get(self, table: str, sys_id: str) -> dict[str, str] | None:
        with self._env.store.lock:
            found = self._env.store.find(table, sys_id)
            return copy.deepcopy(found[1]) if found is not None else None

    @staticmethod
    def _checked(action: Callable[[], T]) -> T:
        """Run a write; the instance's refusal becomes a ValueError (404: KeyError)."""
        try:
            return action()
        except ServiceNowError as error:
            if error.status == 404:
                raise KeyError(f"ServiceNow found no such record: {error.payload()}") from None
            raise ValueError(f"ServiceNow refused the write: {error.payload()}") from None

    # -- counters -----------------------------------------------------------------------------

    # -- request pipeline ---------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        try:
            route, params = self._router.match(request.method, request.path)
        except ServiceNowError as error:
            self._count(f"{request.method} (no route)")
            return error.response()
        self._count(route.key)
        delay = self.faults.delay_for(route.key)
        if delay:
            time.sleep(delay)
        rate_headers: dict[str, str] = {}
        try:
            user = self._auth.check(request) if route.authenticated else ""
            if route.authenticated:
                rate_headers, limited = self.faults.rate_check(route.key)
                if limited is not None:
                    raise limited
            injected = self.faults.error_for(route.key)
            if injected is not None:
                raise injected
            with self._env.store.lock:
                response = route.handler(as_user(request, user, params))
        except ServiceNowError as error:
            response = error.response()
        except Exception as exc:  # a bug in the fake must show, not hang the client
            self.internal_errors.append(traceback.format_exc())
            response = ServiceNowError(500, f"fake bug: {exc!r}", None).response()
        response.headers.update(rate_headers)
        return response

    def _batch_item(self, request: Request, user: str) -> Response:
        """One request of a batch (the batch already holds the lock and signed in)."""
        try:
            route, params = self._router.match(request.method, request.path)
        except ServiceNowError as error:
            return error.response()
        key = f"BATCH {route.key}"
        self._count(key)
        try:
            if not route.authenticated or route.key.endswith("/batch"):
                raise ServiceNowError(400, "Requested URI does not represent any resource", None)
            injected = self.faults.error_for(key)
            if injected is not None:
                raise injected
            return route.handler(as_user(request, user, params))
        except ServiceNowError as error:
            return error.response()
