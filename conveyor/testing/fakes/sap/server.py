"""The shared stdlib HTTP server of the fakes, taught two more methods that OData v2 clients send:
``MERGE`` (OData v2's partial update) and ``HEAD`` (how SAP's own SDKs fetch a CSRF token).

:class:`~conveyor.testing.fakes.salesforce.server.HttpServer` is reused unchanged; only the
request handler class of its server is swapped for a subclass with ``do_MERGE``/``do_HEAD``
before the server thread accepts a connection from a client that knows the port (the port is
known only once :meth:`SapHttpServer.start` returns). A ``HEAD`` answer keeps the ``GET``
answer's headers and drops its body.

Outside this package, adding ``do_MERGE = do_HEAD = _serve`` to the shared handler would make
this module unnecessary.
"""

from __future__ import annotations

from conveyor.testing.fakes.salesforce import server as shared
from conveyor.testing.fakes.salesforce.routing import Request, Response
from conveyor.testing.fakes.salesforce.server import App, HttpServer

__all__ = ["SapHttpServer"]


class _Handler(shared._Handler):
    """The shared handler plus the methods OData v2 needs."""

    do_MERGE = shared._Handler._serve
    do_HEAD = shared._Handler._serve


class SapHttpServer(HttpServer):
    """:class:`HttpServer` that also serves ``MERGE`` and ``HEAD``."""

    def __init__(self, app: App, port: int = 0) -> None:
        super().__init__(_without_body_for_head(app), port)

    def start(self) -> None:
        super().start()
        server = self._server
        if server is not None:
            server.RequestHandlerClass = _Handler


def _without_body_for_head(app: App) -> App:
    def serve(request: Request) -> Response:
        response = app(request)
        if request.method == "HEAD":
            return Response(response.status, b"", dict(response.headers))
        return response

    return serve
