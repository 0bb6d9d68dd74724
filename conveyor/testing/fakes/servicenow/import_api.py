"""The Import Set API: ``/api/now/[v1/]import/{staging_table}``.

- ``POST /import/{staging_table}``: one row, keyed by staging column *names*; the row is
  transformed at once (see :mod:`.transform`) and the answer is **201 whatever the outcome**::

      {"import_set": "ISET0010001", "staging_table": "u_incident_import",
       "result": [{"transform_map", "table", "status", "status_message",
                   "display_name", "display_value", "record_link", "sys_id",  # with a target
                   "error_message"}]}                                          # on error

  ``status`` is ``inserted``, ``updated``, ``ignored``, ``skipped`` or ``error``.
- ``POST /import/{staging_table}/insertMultiple``: ``{"records": [...]}`` keyed by staging
  column *labels* (ServiceNow's default column mapping; :attr:`~.fake.FakeServiceNow.
  insert_multiple_mapping` switches to names, as a ``sys_rest_insert_multiple`` entry does).
  Keys that name no column are dropped. The transform is asynchronous: the answer is only
  ``{"import_set_id", "multi_import_set_id"}`` (201); outcomes are read back from the staging
  rows (``sys_import_set=<id>``: ``sys_import_state``, ``sys_import_state_comment``,
  ``sys_target_sys_id``). The fake transforms before answering unless
  :attr:`~.fake.FakeServiceNow.defer_imports` holds rows ``pending`` until
  :meth:`~.fake.FakeServiceNow.process_imports`.
- ``GET /import/{staging_table}/{sys_id}``: a staging row's transform result, as above.

Values are strings (a nested JSON value is stored in Java's map form, ``{a=1}``, as the
documentation warns). Each call makes its own import set (a decision: ServiceNow reuses an open
set for web-service imports).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conveyor.testing.fakes.servicenow.env import USER_PARAM, Env
from conveyor.testing.fakes.servicenow.routing import (
    Request,
    Response,
    Router,
    ServiceNowError,
    json_body,
    json_response,
    not_found,
)
from conveyor.testing.fakes.servicenow.store import Row
from conveyor.testing.fakes.servicenow.transform import Outcome, Transformer

__all__ = ["ImportApi"]

_BASE = "/api/now[/{api_version}]/import/{staging_table}"


def _flatten(value: Any) -> str:
    """A request value as the staging column stores it (Java's ``toString`` of JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_flatten(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flatten(v) for v in value) + "]"
    return str(value)


class ImportApi:
    """Import Set resources (callers hold the store's lock)."""

    def __init__(
        self,
        env: Env,
        transformer: Transformer,
        mapping: Callable[[], str],
        deferred: Callable[[], bool],
    ) -> None:
        self.env = env
        self.transformer = transformer
        self.mapping = mapping
        self.deferred = deferred

    def register(self, router: Router) -> None:
        router.add("POST", _BASE, self.single)
        router.add("POST", _BASE + "/insertMultiple", self.multiple)
        router.add("GET", _BASE + "/{sys_id}", self.show)

    def single(self, request: Request) -> Response:
        staging = self._staging(request)
        body = json_body(request)
        if not isinstance(body, dict):
            raise ServiceNowError(400, "Exception while reading request", "Expected a JSON object")
        user = request.params[USER_PARAM]
        import_set = self._import_set(staging, "synchronous", "", user)
        row = self._stage(staging, import_set, 0, self._by_name(staging, body), user)
        self._transform(row, user)
        self.env.store.change(import_set, {"state": "processed"}, user)
        return json_response(
            201,
            {
                "import_set": import_set["number"],
                "staging_table": staging,
                "result": [self._entry(request, row)],
            },
        )

    def multiple(self, request: Request) -> Response:
        staging = self._staging(request)
        body = json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ServiceNowError(
                400, "Invalid request body", 'Expected {"records": [ {...}, ... ]}'
            )
        user = request.params[USER_PARAM]
        multi = self.env.store.add("sys_multi_import_set", {"state": "complete"}, user)
        import_set = self._import_set(staging, "asynchronous", multi["sys_id"], user)
        by_label = self.mapping() == "label"
        for number, record in enumerate(records):
            values = self._by_label(staging, record) if by_label else self._by_name(staging, record)
            self._stage(staging, import_set, number, values, user)
        if not self.deferred():
            self.process(user)
        return json_response(
            201, {"import_set_id": import_set["sys_id"], "multi_import_set_id": multi["sys_id"]}
        )

    def show(self, request: Request) -> Response:
        staging = self._staging(request)
        found = self.env.store.find(staging, request.params["sys_id"])
        if found is None:
            raise not_found()
        row = found[1]
        import_set = self.env.store.lookup("sys_import_set", "sys_id", row["sys_import_set"])
        number = import_set["number"] if import_set is not None else ""
        return json_response(
            200,
            {"import_set": number, "staging_table": staging, "result": [self._entry(request, row)]},
        )

    def process(self, user: str) -> int:
        """Transform every pending staging row, oldest first; returns how many."""
        pending = [
            row
            for _, row in self.env.store.rows("sys_import_set_row")
            if row["sys_import_state"] == "pending"
        ]
        for row in pending:
            self._transform(row, user)
        for _, import_set in self.env.store.rows("sys_import_set"):
            if import_set["state"] == "loaded":
                self.env.store.change(import_set, {"state": "processed"}, user)
        return len(pending)

    # -- helpers ------------------------------------------------------------------------------

    def _staging(self, request: Request) -> str:
        name = request.params["staging_table"]
        definition = self.env.schema.get(name)
        if definition is None or not definition.staging:
            raise ServiceNowError(400, f"Invalid table {name}", None)
        return name

    def _import_set(self, staging: str, mode: str, multi: str, user: str) -> Row:
        state = "loading" if mode == "synchronous" else "loaded"
        values = {"table_name": staging, "state": state, "mode": mode, "multi_import_set": multi}
        return self.env.store.add("sys_import_set", values, user)

    def _stage(
        self, staging: str, import_set: Row, number: int, values: dict[str, str], user: str
    ) -> Row:
        system = {
            "sys_import_set": import_set["sys_id"],
            "sys_import_row": str(number),
            "sys_import_state": "pending",
            "sys_target_table": self.transformer.map.target_table,
            "sys_transform_map": self.transformer.map.name,
        }
        return self.env.store.add(staging, {**values, **system}, user)

    def _own_columns(self, staging: str) -> dict[str, str]:
        """Staging column name → label, the ``sys_import_*`` columns left out."""
        return {
            name: column.label
            for name, column in self.env.schema.columns(staging).items()
            if not name.startswith("sys_")
        }

    def _by_name(self, staging: str, record: dict[str, Any]) -> dict[str, str]:
        own = self._own_columns(staging)
        return {k: _flatten(v) for k, v in record.items() if k in own}

    def _by_label(self, staging: str, record: dict[str, Any]) -> dict[str, str]:
        by_label = {label.casefold(): name for name, label in self._own_columns(staging).items()}
        return {
            by_label[k.strip().casefold()]: _flatten(v)
            for k, v in record.items()
            if k.strip().casefold() in by_label
        }

    def _transform(self, row: Row, user: str) -> Outcome:
        outcome = self.transformer.run(row, user)
        self.env.store.change(
            row,
            {
                "sys_import_state": outcome.state,
                "sys_import_state_comment": outcome.comment,
                "sys_target_sys_id": outcome.target_sys_id,
            },
            user,
        )
        return outcome

    def _entry(self, request: Request, row: Row) -> dict[str, str]:
        target_table = row["sys_target_table"]
        entry = {
            "transform_map": row["sys_transform_map"],
            "table": target_table,
            "status": row["sys_import_state"],
            "status_message": row["sys_import_state_comment"],
        }
        target = self.env.store.lookup(target_table, "sys_id", row["sys_target_sys_id"])
        if target is not None:
            entry.update(
                display_name="number",
                display_value=target.get("number", ""),
                record_link=f"{self.env.base_url(request)}/api/now/table/{target_table}/"
                f"{target['sys_id']}",
                sys_id=target["sys_id"],
            )
        if row["sys_import_state"] == "error":
            entry["error_message"] = row["sys_import_state_comment"]
        return entry
