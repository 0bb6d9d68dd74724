"""Records as the Table API writes them, for each ``sysparm_display_value``.

- ``false`` (default): stored values, all strings. A non-empty reference is
  ``{"link": ".../api/now/table/<table>/<sys_id>", "value": "<sys_id>"}``, an empty one ``""``.
- ``true``: display values (see :mod:`.fields`); a non-empty reference is
  ``{"display_value": ..., "link": ...}``.
- ``all``: every column is ``{"display_value", "value"}``; a non-empty reference adds ``link``;
  a date-time adds ``display_value_internal`` (the user's zone in the internal format), the shape
  of ServiceNow's own answers (../shared/peer-suites/demisto-servicenow).
- ``sysparm_exclude_reference_link=true`` drops every ``link`` (a reference then renders like
  any other column).
- ``sysparm_fields`` picks and orders columns (dot-walks allowed, unknown names ignored); without
  it every column of the table asked for is written (``GET /table/task`` shows an incident's
  ``task`` columns only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from conveyor.testing.fakes.servicenow.fields import REFERENCE_TYPES, FieldReader
from conveyor.testing.fakes.servicenow.glidetime import display_internal
from conveyor.testing.fakes.servicenow.schema import Column
from conveyor.testing.fakes.servicenow.store import Row

__all__ = ["DisplayMode", "RenderOptions", "Renderer", "display_mode"]

DisplayMode = Literal["false", "true", "all"]


def display_mode(text: str | None) -> DisplayMode:
    """``sysparm_display_value``: ``true``/``all`` (any case), anything else ``false``."""
    lowered = (text or "").strip().lower()
    return "true" if lowered == "true" else "all" if lowered == "all" else "false"


@dataclass(frozen=True)
class RenderOptions:
    mode: DisplayMode = "false"
    exclude_links: bool = False
    fields: Sequence[str] | None = None
    base_url: str = ""


@dataclass
class Renderer:
    reader: FieldReader

    def record(self, table: str, row: Row, options: RenderOptions) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path, column in self.paths(table, options.fields):
            raw = self.reader.raw(table, row, path)
            out[path] = self.value(column, raw, row, options)
        return out

    def paths(self, table: str, fields: Sequence[str] | None) -> list[tuple[str, Column]]:
        if not fields:
            return list(self.reader.schema.columns(table).items())
        found: list[tuple[str, Column]] = []
        for path in fields:
            column = self.reader.column(table, path)
            if column is not None and all(path != p for p, _ in found):
                found.append((path, column))
        return found

    def value(self, column: Column, raw: str, row: Row, options: RenderOptions) -> Any:
        mode = options.mode
        if column.type in REFERENCE_TYPES and raw and not options.exclude_links:
            table = self.reader.reference_table(column, row)
            link = f"{options.base_url}/api/now/table/{table}/{raw}"
            if mode == "false":
                return {"link": link, "value": raw}
            shown = self.reader.display(column, raw, row)
            if mode == "true":
                return {"display_value": shown, "link": link}
            return {"display_value": shown, "link": link, "value": raw}
        if mode == "false":
            return raw
        shown = self.reader.display(column, raw, row)
        if mode == "true":
            return shown
        both = {"display_value": shown, "value": raw}
        if column.type == "glide_date_time":
            both["display_value_internal"] = display_internal(raw, self.reader.zone) if raw else ""
        return both
