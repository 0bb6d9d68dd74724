"""``FakeSap``: a stateful SAP S/4HANA ``API_BUSINESS_PARTNER`` (OData v2, SAP Gateway) on
127.0.0.1 that tests start, seed, inspect and break, and that pyodata and plain ``requests`` talk
to unmodified.

Calls are counted in total and per route (method and path template, e.g.
``"GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner"``), so tests can hold a
connector to an API budget. Requests inside a ``$batch`` are counted per route as
``"BATCH MERGE .../A_BusinessPartner({key})"`` and are not in :attr:`FakeSap.calls` (the batch
is one HTTP call).

``FakeSap(deletable=True)`` stands for a service whose set may be deleted (a custom CDS/YY1
service): ``$metadata`` and the service document say ``sap:deletable="true"`` and ``DELETE`` on
an entity removes it (204), keyed ``"DELETE .../A_BusinessPartner({key})"`` like the other
routes. By default the set is ``sap:deletable="false"``, as in SAP's API_BUSINESS_PARTNER, and
``DELETE`` answers 405.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.salesforce.clock import system_clock
from conveyor.testing.fakes.salesforce.server import HttpServer
from conveyor.testing.fakes.sap.api import Call, ServiceApi
from conveyor.testing.fakes.sap.auth import Authenticator, Credentials, SignIn, is_modifying
from conveyor.testing.fakes.sap.batch import BatchApi
from conveyor.testing.fakes.sap.errors import ODataError, error_response, not_found
from conveyor.testing.fakes.sap.faults import Faults
from conveyor.testing.fakes.sap.routing import (
    SERVICE_PATH,
    TOKEN_PATH,
    Request,
    Response,
    Target,
    allowed_methods,
    method_not_allowed,
    resolve,
    route_key,
    service_relative,
    wants_json,
)
from conveyor.testing.fakes.sap.schema import PARTNER
from conveyor.testing.fakes.sap.store import Store, etag_of
from conveyor.testing.fakes.sap.values import Clock, local_now
from conveyor.testing.fakes.sap.writes import Writer, public
from conveyor.testing.fakes.served import ClientCredentialsAccess, ServedFake

__all__ = ["FakeSap"]

_TUNNELLED = {"MERGE", "PATCH", "PUT", "DELETE"}
T = TypeVar("T")


class FakeSap(ClientCredentialsAccess, ServedFake):
    """A fake SAP system serving API_BUSINESS_PARTNER over HTTP; use it as a context manager.

    ``clock`` stamps changes (a :class:`~conveyor.testing.fakes.salesforce.clock.ManualClock`
    makes them predictable); ``time_zone`` is the system's local zone, in which SAP stamps and
    which it writes as if it were UTC; ``page_size`` is the server-side page (``__next``) size;
    ``stamp_on_create`` also stamps ``LastChangeDate``/``LastChangeTime`` when a partner is
    created (by default they stay empty until the first change); ``deletable`` marks the
    entity set ``sap:deletable="true"`` and serves ``DELETE`` (204; ``If-Match`` checked as for
    MERGE, 404 for an unknown key, CSRF token needed), where by default it is
    ``sap:deletable="false"`` and ``DELETE`` answers 405.
    """

    def __init__(
        self,
        port: int = 0,
        clock: Clock | None = None,
        page_size: int = 100,
        *,
        time_zone: str = "Europe/Berlin",
        stamp_on_create: bool = False,
        credentials: Credentials | None = None,
        deletable: bool = False,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.credentials: Credentials = credentials or Credentials()
        self.page_size = page_size
        self.stamp_on_create = stamp_on_create
        self.internal_errors: list[str] = []
        self.entity = replace(PARTNER, deletable=deletable)
        self.zone = ZoneInfo(time_zone)
        self._init_counters()
        self._store = Store(clock or system_clock)
        self.faults = Faults()
        self._auth = Authenticator(self.credentials, lambda: self._store.clock())
        self._writer = Writer(
            self.entity,
            self._store,
            self._now,
            self.faults.rejection_for,
            lambda: self.stamp_on_create,
        )
        self._api = ServiceApi(
            self.entity, self._store, self._writer, self.faults, lambda: self.page_size, self._now
        )
        self._batch = BatchApi(self._store, self._dispatch_inner, self._refuse_inner)
        self._server = HttpServer(self._handle, port)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def service_url(self) -> str:
        """The service root pyodata is given: ``{url}/sap/opu/odata/sap/API_BUSINESS_PARTNER``."""
        return self.url + SERVICE_PATH

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint (client credentials)."""
        return self.url + TOKEN_PATH

    # -- credentials and settings -------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self._store.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._store.clock = clock

    def expire_csrf(self) -> None:
        """End every session: the next modifying request with an old token or cookie answers
        403 ``CSRF token validation failed`` with ``x-csrf-token: Required``."""
        with self._store.lock:
            self._auth.expire_csrf()

    def expire_tokens(self) -> None:
        """Every OAuth access token issued so far answers 401 from now on."""
        with self._store.lock:
            self._auth.expire_tokens()

    # -- partners -----------------------------------------------------------------------------

    def insert(self, values: Mapping[str, Any]) -> str:
        """Create a partner as the API would (same checks, stamps and number range; no CSRF,
        faults or planned refusals); returns its key. Values are JSON forms or Python values
        (``date``, ``time``, ``Decimal``). A refused write is a ValueError."""
        with self._store.lock:
            created = self._checked(
                lambda: self._writer.create(values, self.username, planned_refusals=False)
            )
            return str(created[self.entity.key])

    def update(self, key: str, values: Mapping[str, Any]) -> None:
        """Change a partner as a MERGE would (stamps move only if a value changes); an unknown
        key is a KeyError, a refused write a ValueError."""
        with self._store.lock:
            self._checked(
                lambda: self._writer.update(key, values, self.username, planned_refusals=False)
            )

    def delete(self, key: str) -> None:
        """Delete a partner as a remote user would (whether or not the API serves ``DELETE``;
        no CSRF, faults or planned refusals); an unknown key is a KeyError."""
        with self._store.lock:
            self._checked(lambda: self._writer.delete(key, planned_refusals=False))

    def partner(self, key: str) -> dict[str, Any] | None:
        """A partner's values as Python objects (``str``, ``bool``, ``Decimal``, ``int``,
        ``date`` for date-only fields, ``time``; None for an empty date), or None."""
        with self._store.lock:
            values = self._store.get(key)
            return public(self.entity, values) if values is not None else None

    def partners(self) -> list[dict[str, Any]]:
        """Every partner, in key order, as :meth:`partner` shows it."""
        with self._store.lock:
            return [public(self.entity, values) for values in self._store.rows()]

    def etag(self, key: str) -> str:
        """The partner's current ETag (as its ``ETag`` header and ``__metadata.etag`` show it)."""
        with self._store.lock:
            values = self._store.get(key)
            if values is None:
                raise KeyError(f"no business partner {key!r} in the fake system")
            return etag_of(values)

    @staticmethod
    def _checked(action: Callable[[], T]) -> T:
        try:
            return action()
        except ODataError as error:
            if error.status == 404:
                raise KeyError(f"SAP found no such business partner: {error.message}") from None
            raise ValueError(f"SAP refused the write: {error.message}") from None

    # -- counters -----------------------------------------------------------------------------

    # -- request pipeline ---------------------------------------------------------------------

    def _now(self) -> datetime:
        return local_now(self._store.clock, self.zone)

    def _handle(self, request: Request) -> Response:
        method = request.method
        tunnelled = (request.header("x-http-method") or "").upper()
        if method == "POST" and tunnelled in _TUNNELLED:
            method = tunnelled
        signed: SignIn | None = None
        try:
            if request.path == TOKEN_PATH:
                return self._token(request, method)
            relative = service_relative(request.path)
            if relative is None:
                self._count(f"{method} (no route)")
                raise not_found(request.path)
            target = resolve(relative, self.entity)
            key = route_key(method, target.template)
            self._count(key)
            if method not in allowed_methods(target, self.entity):
                raise method_not_allowed(method)
            self.faults.run_before(key)
            with self._store.lock:
                signed = self._auth.sign_in(request)
                injected = self.faults.error_for(key)
                if injected is not None:
                    raise injected
                if is_modifying(method):
                    self._auth.check_csrf(request, signed)
                response = self._serve(request, method, target, signed.user)
                if method in ("GET", "HEAD") and _fetches_csrf(request):
                    response.headers["x-csrf-token"] = self._auth.fetch_csrf(signed)
        except ODataError as error:
            response = error_response(error, wants_json(request), self._now())
        except Exception as exc:  # a bug in the fake must show, not hang the client
            self.internal_errors.append(traceback.format_exc())
            response = error_response(
                ODataError(500, "/IWBEP/CM_MGW_RT/500", f"fake bug: {exc!r}"),
                wants_json(request),
                self._now(),
            )
        if signed is not None:
            response.headers.update(self._auth.set_cookie(signed))
        return response

    def _token(self, request: Request, method: str) -> Response:
        """``/oauth/token``: no sign-in, no CSRF; counted like every route."""
        self._count(route_key(method, TOKEN_PATH))
        if method != "POST":
            raise method_not_allowed(method)
        with self._store.lock:
            return self._auth.token_endpoint(request)

    def _serve(self, request: Request, method: str, target: Target, user: str) -> Response:
        if target.template == "/$batch":
            return self._batch.handle(request)
        call = Call(method, request, target, user, self._service_url(request), wants_json(request))
        return self._api.handle(call)

    def _service_url(self, request: Request) -> str:
        """The service root as the caller addressed it (links in answers point there)."""
        host = request.header("host")
        return f"http://{host}{SERVICE_PATH}" if host else self.service_url

    def _dispatch_inner(self, request: Request, content_id: str | None) -> Response:
        """One request of a ``$batch`` (the batch already holds the lock and signed in)."""
        try:
            relative = service_relative(request.path)
            if relative is None:
                raise not_found(request.path)
            target = resolve(relative, self.entity)
            key = f"BATCH {route_key(request.method, target.template)}"
            self._count(key)
            if target.template == "/$batch" or request.method not in allowed_methods(
                target, self.entity
            ):
                raise method_not_allowed(request.method)
            injected = self.faults.error_for(key)
            if injected is not None:
                raise injected
            call = Call(
                request.method,
                request,
                target,
                self.username,
                self._service_url(request),
                wants_json(request),
            )
            return self._api.handle(call)
        except ODataError as error:
            return self._refuse_inner(error, request, content_id)

    def _refuse_inner(
        self, error: ODataError, request: Request, content_id: str | None
    ) -> Response:
        return error_response(error, wants_json(request), self._now(), content_id)


def _fetches_csrf(request: Request) -> bool:
    return (request.header("x-csrf-token") or "").lower() == "fetch"
