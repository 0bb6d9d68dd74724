"""The HTTP side of the fake: a threaded stdlib server on 127.0.0.1 that turns requests into
:class:`~.routing.Request` objects for the fake and writes its responses back.

Stdlib keeps the fake free of server dependencies and lets it start and stop in milliseconds;
HTTP/1.1 keep-alive is supported so clients reuse connections as they would with Salesforce.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from conveyor.testing.fakes.salesforce.routing import Request, Response

__all__ = ["HttpServer"]

App = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._body(),
        )
        response = self.server.app(request)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer: the GET answer's headers, no body
            self.wfile.write(response.body)

    def _body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # MERGE: OData v2's partial update; HEAD: how SAP's SDKs fetch a CSRF token
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read the fake's counters, not its access log."""


class HttpServer:
    """Serves ``app`` on 127.0.0.1 in a background thread."""

    def __init__(self, app: App, port: int = 0) -> None:
        self._app = app
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake Salesforce is not running; call start() first")
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(("127.0.0.1", self._port), self._app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-salesforce-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.connections_lock:
            for connection in list(server.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
