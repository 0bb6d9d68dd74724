"""``POST $batch``: OData v2 batch requests in ``multipart/mixed``, answered as SAP Gateway does.

The wire format is the one of Olingo's recorded requests and responses
(``../shared/peer-suites/olingo-odata2/test-resources/batch*``) and of pyodata's encoder: parts
separated by ``--boundary`` lines (CRLF; trailing spaces after a delimiter are tolerated), each
part ``Content-Type: application/http`` with a request line, headers, a blank line and a body,
or a changeset: a nested ``multipart/mixed`` of modifying requests. Request URLs are relative
to the service root (absolute URLs and paths also work); inside a changeset ``$1/...`` refers to
the entity created by the request with ``Content-ID: 1``.

The answer is always 202 (a malformed batch as a whole is 400) with one part per request part,
in order, each carrying its own status line, headers and body. A changeset runs as one unit: the
first failing request rolls back the changeset's earlier ones and the whole changeset is answered
by that request's error, as a single ``application/http`` part (pyodata raises on exactly that).
Modifying requests outside a changeset and reads inside one are refused with 400 parts, as SAP
Gateway does. Error details in a changeset name the failing request's ``ContentID``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs

from conveyor.testing.fakes.salesforce.routing import Request, Response
from conveyor.testing.fakes.sap.errors import ODataError, bad_request
from conveyor.testing.fakes.sap.routing import SERVICE_PATH, batch_path
from conveyor.testing.fakes.sap.store import Store

__all__ = ["BatchApi", "Dispatch", "MimePart", "boundary_of", "split_multipart"]

#: Runs one request of a batch (``content_id`` names it in error details): its answer.
Dispatch = Callable[[Request, str | None], Response]
#: Renders a refusal of one request as the request asked (JSON or XML).
Refuse = Callable[[ODataError, Request, str | None], Response]
_READS = {"GET", "HEAD"}


@dataclass(frozen=True)
class MimePart:
    headers: dict[str, str]  # lower-case names
    content: str


def boundary_of(content_type: str | None) -> str:
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or "", re.IGNORECASE)
    if match is None or not (content_type or "").lower().startswith("multipart/mixed"):
        raise bad_request("The batch request needs Content-Type multipart/mixed with a boundary")
    return match.group(1) or match.group(2)


def split_multipart(text: str, boundary: str) -> list[MimePart]:
    """The body parts of a multipart entity (preamble and epilogue dropped)."""
    delimiter = "--" + boundary
    parts: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n").rstrip(" \t")
        if bare in (delimiter, delimiter + "--"):
            if current is not None:
                parts.append(_drop_last_newline("".join(current)))
            if bare.endswith("--") and bare == delimiter + "--":
                return [_mime_part(p) for p in parts]
            current = []
        elif current is not None:
            current.append(line)
    raise bad_request(f"The multipart body has no closing delimiter '--{boundary}--'")


def _drop_last_newline(text: str) -> str:
    """The line break before a delimiter belongs to the delimiter."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _mime_part(text: str) -> MimePart:
    headers, content = _headers_and_rest(text)
    return MimePart(headers, content)


def _headers_and_rest(text: str) -> tuple[dict[str, str], str]:
    lines = text.splitlines(keepends=True)
    headers: dict[str, str] = {}
    for index, line in enumerate(lines):
        bare = line.rstrip("\r\n")
        if bare.strip() == "":
            return headers, "".join(lines[index + 1 :])
        name, sep, value = bare.partition(":")
        if not sep:
            raise bad_request(f"Malformed header line in the batch request: '{bare}'")
        headers[name.strip().lower()] = value.strip()
    return headers, ""


def _inner_request(part: MimePart, host: str | None) -> tuple[Request, str | None]:
    """The HTTP request a part carries (addressed to the batch's ``host``), and its
    Content-ID."""
    if not part.headers.get("content-type", "").lower().startswith("application/http"):
        raise bad_request("A batch part must be application/http or a multipart/mixed changeset")
    first, _, rest = part.content.lstrip("\r\n").partition("\n")
    words = first.strip().split()
    if len(words) != 3 or not words[2].upper().startswith("HTTP/"):
        raise bad_request(f"Malformed request line in the batch request: '{first.strip()}'")
    headers, body = _headers_and_rest(rest)
    if host and "host" not in headers:
        headers["host"] = host
    path, query = batch_path(words[1])
    request = Request(
        method=words[0].upper(),
        path=path,
        query=parse_qs(query, keep_blank_values=True),
        headers=headers,
        body=body.rstrip("\r\n").encode("utf-8"),
    )
    return request, part.headers.get("content-id") or headers.get("content-id")


class BatchApi:
    """Executes a batch: ``dispatch`` runs each request, ``refuse`` renders a refusal."""

    def __init__(self, store: Store, dispatch: Dispatch, refuse: Refuse) -> None:
        self.store = store
        self.dispatch = dispatch
        self.refuse = refuse

    def handle(self, request: Request) -> Response:
        boundary = boundary_of(request.header("content-type"))
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_request("The batch request body is not UTF-8") from None
        answer_boundary = f"batch_{uuid.uuid4()}"
        host = request.header("host")
        chunks: list[str] = []
        for part in split_multipart(text, boundary):
            content_type = part.headers.get("content-type", "").lower()
            if content_type.startswith("multipart/mixed"):
                chunks.append(self._changeset(part, host))
            else:
                chunks.append(self._single(part, host))
        body = "".join(f"--{answer_boundary}\r\n{chunk}\r\n" for chunk in chunks)
        body += f"--{answer_boundary}--\r\n"
        return Response(
            202,
            body.encode("utf-8"),
            {
                "Content-Type": f"multipart/mixed; boundary={answer_boundary}",
                "dataserviceversion": "2.0",
            },
        )

    def _single(self, part: MimePart, host: str | None) -> str:
        inner, content_id = _inner_request(part, host)
        if inner.method not in _READS:
            refusal = bad_request("Modifying requests must be sent in a changeset")
            return _http_part(self.refuse(refusal, inner, content_id), content_id)
        return _http_part(self.dispatch(inner, content_id), content_id)

    def _changeset(self, part: MimePart, host: str | None) -> str:
        boundary = boundary_of(part.headers.get("content-type"))
        snapshot = self.store.snapshot()
        created: dict[str, str] = {}  # Content-ID -> path of the entity it created
        answers: list[str] = []
        for item in split_multipart(part.content, boundary):
            inner, content_id = _inner_request(item, host)
            response = self._in_changeset(inner, content_id, created)
            if response.status >= 400:
                self.store.restore(snapshot)
                return _http_part(response, content_id)
            location = response.headers.get("Location")
            if content_id and location:
                created[content_id] = location[location.index(SERVICE_PATH) :]
            answers.append(_http_part(response, content_id))
        inner_boundary = f"changeset_{uuid.uuid4()}"
        body = "".join(f"--{inner_boundary}\r\n{answer}\r\n" for answer in answers)
        return (
            f"Content-Type: multipart/mixed; boundary={inner_boundary}\r\n\r\n"
            f"{body}--{inner_boundary}--\r\n"
        )

    def _in_changeset(
        self, inner: Request, content_id: str | None, created: dict[str, str]
    ) -> Response:
        if inner.method in _READS:
            refusal = bad_request("A changeset may not contain read requests")
            return self.refuse(refusal, inner, content_id)
        try:
            inner = _resolve_reference(inner, created)
        except ODataError as refusal:
            return self.refuse(refusal, inner, content_id)
        return self.dispatch(inner, content_id)


def _resolve_reference(request: Request, created: dict[str, str]) -> Request:
    """``$1/...``: the path of the entity the request with Content-ID 1 created."""
    relative = request.path.removeprefix(SERVICE_PATH + "/")
    if not relative.startswith("$") or relative in ("$batch", "$metadata"):
        return request
    reference, _, rest = relative[1:].partition("/")
    if reference not in created:
        raise bad_request(f"Content-ID reference '${reference}' is unknown")
    path = created[reference] + (f"/{rest}" if rest else "")
    return Request(request.method, path, request.query, request.headers, request.body)


def _http_part(response: Response, content_id: str | None) -> str:
    """One ``application/http`` part holding ``response``."""
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "Error"
    lines += ["", f"HTTP/1.1 {response.status} {phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    if response.body:
        lines.append(f"Content-Length: {len(response.body)}")
    return "\r\n".join(lines) + "\r\n\r\n" + response.body.decode("utf-8")
