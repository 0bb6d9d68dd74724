"""The Table API: ``/api/now/[v1|v2/]table/{table}[/{sys_id}]``.

- ``GET`` list: ``sysparm_query`` (see :mod:`.query`; without it, other ``name=value``
  parameters naming columns filter), ``sysparm_fields``, ``sysparm_limit`` (default 10000),
  ``sysparm_offset``, ``sysparm_display_value``, ``sysparm_exclude_reference_link``,
  ``sysparm_no_count`` (drops ``X-Total-Count``) and ``sysparm_suppress_pagination_header``
  (drops ``Link``). ``X-Total-Count`` is the number of matching records; ``Link`` has
  ``first``, ``prev`` (``offset - limit``, negative on the first page, as a recorded ServiceNow
  answer shows), ``next`` (absent on the last page) and ``last``. An empty result is 200 with
  ``[]`` (``/v1/`` answers 404, as documented).
- ``GET`` one: 404 ``No Record found`` for an unknown sys_id.
- ``POST`` inserts one record (201, ``Location`` header); a JSON array inserts its first element
  only, as ServiceNow does. ``PATCH`` and ``PUT`` update (200); ``DELETE`` answers 204.
  ``X-no-response-body: true`` leaves the body out; ``sysparm_input_display_value=true`` reads
  date-times in the user's zone and choice labels.
- Unknown tables answer 400 ``Invalid table``; system tables refuse writes with the ACL 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from conveyor.testing.fakes.servicenow.env import USER_PARAM, Env
from conveyor.testing.fakes.servicenow.render import RenderOptions, display_mode
from conveyor.testing.fakes.servicenow.routing import (
    Request,
    Response,
    Router,
    ServiceNowError,
    arg,
    bool_arg,
    int_arg,
    json_body,
    json_response,
)
from conveyor.testing.fakes.servicenow.store import Row

__all__ = ["DEFAULT_LIMIT", "TableApi"]

DEFAULT_LIMIT = 10000
_BASE = "/api/now[/{api_version}]/table/{table}"


class TableApi:
    """The Table API resources (callers hold the store's lock)."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def register(self, router: Router) -> None:
        router.add("GET", _BASE, self.list)
        router.add("POST", _BASE, self.create)
        router.add("GET", _BASE + "/{sys_id}", self.get)
        router.add("PATCH", _BASE + "/{sys_id}", self.update)
        router.add("PUT", _BASE + "/{sys_id}", self.update)
        router.add("DELETE", _BASE + "/{sys_id}", self.delete)

    # -- reads --------------------------------------------------------------------------------

    def list(self, request: Request) -> Response:
        env = self.env
        table = env.table(request.params["table"]).name
        query = env.compiler.compile(table, self._query_text(request, table))
        rows = query.select(row for _, row in env.store.rows(table))
        offset = max(0, int_arg(request, "sysparm_offset", 0))
        limit = int_arg(request, "sysparm_limit", DEFAULT_LIMIT)
        limit = limit if limit > 0 else DEFAULT_LIMIT
        if not rows and request.params.get("api_version") == "v1":
            raise ServiceNowError(
                404,
                "No Record found",
                "Records matching query not found. Check query parameter or offset parameter",
            )
        options = self.options(request)
        page = [env.renderer.record(table, row, options) for row in rows[offset : offset + limit]]
        headers: dict[str, str] = {}
        if not bool_arg(request, "sysparm_no_count"):
            headers["X-Total-Count"] = str(len(rows))
        if not bool_arg(request, "sysparm_suppress_pagination_header"):
            headers["Link"] = self._links(request, len(rows), offset, limit)
        return json_response(200, {"result": page}, headers)

    def get(self, request: Request) -> Response:
        table = self.env.table(request.params["table"]).name
        _, row = self.env.writer.require(table, request.params["sys_id"])
        return self._answer(request, 200, table, row)

    # -- writes -------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        table = self.env.table(request.params["table"]).name
        row = self.env.writer.insert(
            table,
            _one_record(json_body(request)),
            request.params[USER_PARAM],
            display_input=bool_arg(request, "sysparm_input_display_value"),
        )
        location = f"{self.env.base_url(request)}/api/now/table/{table}/{row['sys_id']}"
        return self._answer(request, 201, table, row, {"Location": location})

    def update(self, request: Request) -> Response:
        table = self.env.table(request.params["table"]).name
        _, row = self.env.writer.update(
            table,
            request.params["sys_id"],
            _one_record(json_body(request)),
            request.params[USER_PARAM],
            display_input=bool_arg(request, "sysparm_input_display_value"),
        )
        return self._answer(request, 200, table, row)

    def delete(self, request: Request) -> Response:
        table = self.env.table(request.params["table"]).name
        self.env.writer.delete(table, request.params["sys_id"], request.params[USER_PARAM])
        return Response(204)

    # -- helpers ------------------------------------------------------------------------------

    def options(self, request: Request) -> RenderOptions:
        fields_arg = arg(request, "sysparm_fields")
        fields = [f.strip() for f in fields_arg.split(",") if f.strip()] if fields_arg else None
        return RenderOptions(
            mode=display_mode(arg(request, "sysparm_display_value")),
            exclude_links=bool_arg(request, "sysparm_exclude_reference_link"),
            fields=fields,
            base_url=self.env.base_url(request),
        )

    def _answer(
        self,
        request: Request,
        status: int,
        table: str,
        row: Row,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if (request.header("X-no-response-body") or "").lower() == "true":
            return Response(status, b"", dict(headers or {}))
        result = self.env.renderer.record(table, row, self.options(request))
        return json_response(status, {"result": result}, headers)

    def _query_text(self, request: Request, table: str) -> str:
        """``sysparm_query``, or the ``name=value`` filter parameters ANDed."""
        given = arg(request, "sysparm_query")
        if given is not None:
            return given
        columns = self.env.schema.columns(table)
        pairs = [
            f"{name}={values[0]}"
            for name, values in request.query.items()
            if not name.startswith("sysparm_") and name in columns and values
        ]
        return "^".join(pairs)

    def _links(self, request: Request, total: int, offset: int, limit: int) -> str:
        base = f"{self.env.base_url(request)}{request.path}"
        params = [(k, v) for k, vs in request.query.items() if k != "sysparm_offset" for v in vs]
        last = ((total - 1) // limit) * limit if total else 0
        marks = [("first", 0), ("prev", offset - limit)]
        if offset + limit < total:
            marks.append(("next", offset + limit))
        marks.append(("last", last))
        return ",".join(
            f'<{base}?{urlencode([*params, ("sysparm_offset", str(at))])}>;rel="{rel}"'
            for rel, at in marks
        )


def _one_record(body: Any) -> dict[str, Any]:
    """POST/PUT/PATCH take one record; of an array ServiceNow works on the first only."""
    if isinstance(body, list):
        body = body[0] if body else {}
    if not isinstance(body, dict):
        raise ServiceNowError(
            400, "Exception while reading request", "The payload is not a JSON object."
        )
    return body
