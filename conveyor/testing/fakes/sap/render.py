"""Answers of the entity set: OData v2 verbose JSON, or Atom XML when JSON was not asked for.

JSON follows SAP Gateway (and Olingo's recorded payloads)::

    {"d": {"results": [{"__metadata": {"id", "uri", "type", "etag"}, "BusinessPartner": ...}],
           "__count": "250", "__next": "http://.../A_BusinessPartner?$skiptoken=100"}}

and ``{"d": {...entity...}}`` for one entity. ``__count`` only with ``$inlinecount=allpages``,
``__next`` only when more remain. Atom is the ``feed``/``entry`` form with ``m:properties``,
``m:etag``, ``m:count`` and ``<link rel="next">``; the fake answers it so a client that forgets
``$format=json`` gets what SAP would send it, not a JSON body by accident.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from conveyor.testing.fakes.salesforce.routing import Response
from conveyor.testing.fakes.sap.errors import JSON_TYPE
from conveyor.testing.fakes.sap.schema import EntityType
from conveyor.testing.fakes.sap.store import etag_of
from conveyor.testing.fakes.sap.values import to_atom, to_json

__all__ = [
    "ATOM_ENTRY_TYPE",
    "ATOM_FEED_TYPE",
    "entity_path",
    "json_response",
    "render_atom_entry",
    "render_atom_feed",
    "render_entity",
]

ATOM_FEED_TYPE = "application/atom+xml;type=feed; charset=utf-8"
ATOM_ENTRY_TYPE = "application/atom+xml;type=entry; charset=utf-8"
_ATOM = "http://www.w3.org/2005/Atom"
_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
_SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"


def entity_path(entity: EntityType, key: str) -> str:
    """``A_BusinessPartner('1000001')``: the entity's path below the service root."""
    literal = key.replace("'", "''")
    return f"{entity.set_name}('{quote(literal, safe='')}')"


def json_response(
    status: int, payload: object, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(
        status, body, {"Content-Type": JSON_TYPE, "dataserviceversion": "2.0", **(headers or {})}
    )


def render_entity(
    entity: EntityType, values: Mapping[str, Any], service_url: str, select: Sequence[str] | None
) -> dict[str, Any]:
    """One entity in verbose JSON: ``__metadata`` then the (selected) properties."""
    uri = f"{service_url}/{entity_path(entity, values[entity.key])}"
    result: dict[str, Any] = {
        "__metadata": {
            "id": uri,
            "uri": uri,
            "type": entity.qualified_name,
            "etag": etag_of(dict(values)),
        }
    }
    for prop in entity:
        if select is None or prop.name in select:
            result[prop.name] = to_json(prop, values[prop.name])
    return result


def render_atom_entry(
    entity: EntityType,
    values: Mapping[str, Any],
    service_url: str,
    select: Sequence[str] | None,
    updated: datetime,
    *,
    root: bool = True,
) -> str:
    path = entity_path(entity, values[entity.key])
    properties = "".join(_atom_property(entity, name, values) for name in _names(entity, select))
    namespaces = f' xmlns={quoteattr(_ATOM)} xmlns:m="{_M}" xmlns:d="{_D}"' if root else ""
    base = f" xml:base={quoteattr(service_url + '/')}" if root else ""
    etag = quoteattr(etag_of(dict(values)))
    return (
        f"<entry{base}{namespaces} m:etag={etag}>"
        f"<id>{escape(service_url)}/{escape(path)}</id>"
        f'<title type="text">{escape(entity.set_name)}</title>'
        f"<updated>{updated.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
        f'<category term="{entity.qualified_name}" scheme="{_SCHEME}"/>'
        f'<link href={quoteattr(path)} rel="edit" title="{entity.name}"/>'
        f'<content type="application/xml"><m:properties>{properties}</m:properties></content>'
        "</entry>"
    )


def render_atom_feed(
    entity: EntityType,
    rows: Sequence[Mapping[str, Any]],
    service_url: str,
    select: Sequence[str] | None,
    updated: datetime,
    count: int | None,
    next_url: str | None,
) -> str:
    entries = "".join(
        render_atom_entry(entity, row, service_url, select, updated, root=False) for row in rows
    )
    count_xml = f"<m:count>{count}</m:count>" if count is not None else ""
    next_xml = f'<link href={quoteattr(next_url)} rel="next"/>' if next_url else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xml:base={quoteattr(service_url + "/")} xmlns="{_ATOM}" xmlns:m="{_M}" '
        f'xmlns:d="{_D}">'
        f"<id>{escape(service_url)}/{entity.set_name}</id>"
        f'<title type="text">{entity.set_name}</title>'
        f"<updated>{updated.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
        f"<author><name/></author>"
        f'<link href="{entity.set_name}" rel="self" title="{entity.set_name}"/>'
        f"{count_xml}{entries}{next_xml}</feed>"
    )


def _names(entity: EntityType, select: Sequence[str] | None) -> list[str]:
    return [p.name for p in entity if select is None or p.name in select]


def _atom_property(entity: EntityType, name: str, values: Mapping[str, Any]) -> str:
    prop = entity.get(name)
    assert prop is not None
    text = to_atom(prop, values[name])
    typed = "" if prop.edm == "Edm.String" else f' m:type="{prop.edm}"'
    if text is None:
        return f'<d:{name}{typed} m:null="true"/>'
    return f"<d:{name}{typed}>{escape(text)}</d:{name}>"
