"""``$batch``: many changes in one call, in changesets that SAP applies all or nothing.

The request is ``multipart/mixed``: one part per changeset, itself ``multipart/mixed`` with one
``application/http`` part per change (``Content-ID`` numbered). The answer is always 202; each
changeset's own answer is inside: its parts' statuses when it was applied, or one error part
when it failed and was rolled back. A failed changeset's changes are therefore sent once more,
each alone, so only the refused one is refused. The wire format follows the Olingo OData 2
recordings (``../shared/peer-suites/olingo-odata2``); parsing uses the standard library's MIME
parser (multipart) and reads each embedded HTTP answer by hand (a status line, headers, a body).
"""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from requests import Response

from connectors.sap.errors import odata_reason
from conveyor.errors import RecordError, StaleRecordError, TransientError

__all__ = ["Change", "Done", "send_batch"]


@dataclass(frozen=True)
class Change:
    method: str  # POST or MERGE
    path: str  # A_BusinessPartner, A_BusinessPartner('1000001')
    body: Mapping[str, Any]
    etag: str | None  # If-Match for a MERGE ("*": any version)
    target: str | None = None  # the entity's key (a MERGE)


@dataclass(frozen=True)
class Done:
    """A change SAP applied: the entity it answered (a create; {} for an update) and the
    entity's new ETag."""

    entity: dict[str, Any]
    etag: str | None


Outcome = Done | RecordError


class Api(Protocol):
    def _modify(self, method: str, path: str, **kwargs: Any) -> Response: ...


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    etag: str | None = None


def send_batch(api: Api, changes: Sequence[Change], size: int) -> list[Outcome]:
    """One outcome per change: what SAP did (:class:`Done`), or why it refused."""
    if not changes:
        return []
    sets = [list(range(i, min(i + size, len(changes)))) for i in range(0, len(changes), size)]
    outcomes: dict[int, Outcome] = {}
    retry: list[int] = []
    for indexes, answers in zip(sets, _send(api, changes, sets), strict=True):
        if len(answers) == len(indexes):
            outcomes.update((i, _outcome(a)) for i, a in zip(indexes, answers, strict=True))
        elif len(indexes) == 1:
            outcomes[indexes[0]] = _outcome(answers[0])
        else:
            retry.extend(indexes)  # rolled back as a whole: find the refused one
    if retry:
        alone = [[i] for i in retry]
        for (index,), answers in zip(alone, _send(api, changes, alone), strict=True):
            outcomes[index] = _outcome(answers[0])
    return [outcomes[i] for i in range(len(changes))]


def _send(api: Api, changes: Sequence[Change], sets: list[list[int]]) -> list[list[_Answer]]:
    boundary = f"batch_{uuid.uuid4().hex}"
    body = _request_body(boundary, [[changes[i] for i in s] for s in sets])
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    answer = api._modify("POST", "$batch", data=body.encode(), headers=headers)
    parts = _parse(answer)
    if len(parts) != len(sets):
        raise TransientError(f"SAP answered {len(parts)} changeset(s) to a $batch of {len(sets)}")
    return parts


def _request_body(boundary: str, sets: list[list[Change]]) -> str:
    lines: list[str] = []
    for changeset in sets:
        inner = f"changeset_{uuid.uuid4().hex}"
        lines += [f"--{boundary}", f"Content-Type: multipart/mixed; boundary={inner}", ""]
        for number, change in enumerate(changeset, start=1):
            lines += [
                f"--{inner}",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                f"Content-ID: {number}",
                "",
                f"{change.method} {change.path} HTTP/1.1",
                "Content-Type: application/json",
                "Accept: application/json",
                *([f"If-Match: {change.etag}"] if change.etag else []),
                "",
                json.dumps(change.body, separators=(",", ":")),
            ]
        lines += [f"--{inner}--"]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines)


def _parse(answer: Response) -> list[list[_Answer]]:
    """Each changeset's answers (one error answer for a changeset that failed)."""
    head = f"Content-Type: {answer.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = email.message_from_bytes(head + answer.content, policy=email.policy.HTTP)
    out: list[list[_Answer]] = []
    for part in message.iter_parts():
        if part.get_content_type() == "multipart/mixed":
            out.append([_http(p) for p in part.iter_parts()])
        else:
            out.append([_http(part)])
    return out


def _http(part: Any) -> _Answer:
    raw = part.get_payload(decode=True) or b""
    text = raw.decode("utf-8", errors="replace")
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    pieces = (lines[0] if lines else "").split(" ")
    status = int(pieces[1]) if len(pieces) > 1 and pieces[1].isdigit() else 0
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    etag = next((v.strip() for k, v in headers.items() if k.strip().lower() == "etag"), None)
    return _Answer(status, body.strip(), etag)


def _outcome(answer: _Answer) -> Outcome:
    if answer.status in (200, 201, 204):
        data = json.loads(answer.body) if answer.body else {}
        entity = data.get("d", data) if isinstance(data, dict) else {}
        entity = dict(entity) if isinstance(entity, dict) else {}
        etag = answer.etag or (entity.get("__metadata") or {}).get("etag")
        return Done(entity, etag)
    if answer.status == 412:
        return StaleRecordError(
            "the entity changed in SAP since it was read (HTTP 412: its ETag no longer "
            f"matches): {odata_reason(answer.body)}"
        )
    return RecordError(
        f"SAP refused the change (HTTP {answer.status}): {odata_reason(answer.body)}"
    )
