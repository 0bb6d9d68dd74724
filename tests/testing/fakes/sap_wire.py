"""What the SAP fake's tests share to speak OData on the wire: ``$batch`` bodies built and their
answers taken apart (the format of ``../shared/peer-suites/olingo-odata2``), and OData error
objects with their shape checked."""

from __future__ import annotations

import email
import json
from email.message import Message
from typing import Any

import requests

from conveyor.testing.fakes.sap import FakeSap

__all__ = [
    "answer_parts",
    "changeset",
    "http_answer",
    "odata_error",
    "post_batch",
    "request_part",
    "subparts",
]


def request_part(
    line: str,
    body: dict[str, Any] | None = None,
    content_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """One ``application/http`` part: ``line`` ("MERGE A_BusinessPartner('1')"), headers, body."""
    part = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        part.append(f"Content-ID: {content_id}")
    part += ["", f"{line} HTTP/1.1", "Accept: application/json"]
    part += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        part.append("Content-Type: application/json")
    part += ["", json.dumps(body) if body is not None else ""]
    return "\r\n".join(part)


def changeset(boundary: str, *requests_: str) -> str:
    inner = "".join(f"--{boundary}\r\n{r}\r\n" for r in requests_)
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}--{boundary}--\r\n"


def post_batch(http: requests.Session, fake: FakeSap, *parts: str) -> requests.Response:
    body = "".join(f"--batch_t\r\n{p}\r\n" for p in parts) + "--batch_t--\r\n"
    return http.post(
        fake.service_url + "/$batch",
        data=body.encode(),
        headers={"Content-Type": "multipart/mixed; boundary=batch_t"},
    )


def answer_parts(answer: requests.Response) -> list[Message]:
    """The parts of a ``$batch`` answer (always 202)."""
    assert answer.status_code == 202, answer.text
    raw = f"Content-Type: {answer.headers['Content-Type']}\r\n\r\n".encode() + answer.content
    return subparts(email.message_from_bytes(raw))


def subparts(message: Message) -> list[Message]:
    payload = message.get_payload()
    assert message.is_multipart() and isinstance(payload, list)
    return [part for part in payload if isinstance(part, Message)]


def http_answer(part: Message) -> tuple[int, dict[str, str], str]:
    """An embedded HTTP answer: its status, headers and body."""
    assert part.get_content_type() == "application/http"
    text = part.get_payload()
    assert isinstance(text, str)
    head, _, body = text.partition("\r\n\r\n")
    status_line, *header_lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body.rstrip("\r\n")


def odata_error(answer: requests.Response) -> dict[str, Any]:
    """SAP's OData error object, its shape checked."""
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"code", "message", "innererror"}
    assert set(error["message"]) == {"lang", "value"}
    for entry in error["innererror"]["errordetails"]:
        assert {"code", "message", "severity", "target"} <= set(entry)
    return error
