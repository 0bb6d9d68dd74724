"""What the fake instance's request handlers share: the data model, the records and the ways to
write, query and render them, the faults, and who is calling from where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from conveyor.testing.fakes.servicenow.faults import Faults
from conveyor.testing.fakes.servicenow.fields import FieldReader
from conveyor.testing.fakes.servicenow.query import QueryCompiler
from conveyor.testing.fakes.servicenow.render import Renderer
from conveyor.testing.fakes.servicenow.routing import Request, ServiceNowError
from conveyor.testing.fakes.servicenow.schema import Schema, TableDef
from conveyor.testing.fakes.servicenow.store import Store
from conveyor.testing.fakes.servicenow.writes import Writer

__all__ = ["FORWARDED_PROTO", "USER_PARAM", "Env", "as_user"]

#: The request parameter the fake sets to the signed-in user's name before a handler runs.
USER_PARAM = "__user__"
#: Set by :class:`~.client.LoopbackAdapter`: the client called ``https://`` (links follow).
FORWARDED_PROTO = "x-forwarded-proto"


def as_user(request: Request, user: str, params: dict[str, str]) -> Request:
    return replace(request, params={**params, USER_PARAM: user})


@dataclass
class Env:
    schema: Schema
    store: Store
    writer: Writer
    reader: FieldReader
    renderer: Renderer
    compiler: QueryCompiler
    faults: Faults
    default_url: Callable[[], str]

    def table(self, name: str) -> TableDef:
        """A table the instance has, or ServiceNow's 400 ``Invalid table <name>``."""
        found = self.schema.get(name)
        if found is None:
            raise ServiceNowError(400, f"Invalid table {name}", None)
        return found

    def user(self, request: Request) -> str:
        return request.params.get(USER_PARAM, "")

    def base_url(self, request: Request) -> str:
        """The instance URL as the caller addressed it (links in answers point there)."""
        host = request.header("host")
        if not host:
            return self.default_url()
        scheme = (request.header(FORWARDED_PROTO) or "http").lower()
        return f"{scheme}://{host}"
