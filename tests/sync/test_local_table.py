"""The local side of a sync job on both dialects: values of every type are written and read
back in their canonical form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conveyor.load.urls import create_engine, parse_url
from conveyor.sync.local import LocalTable
from conveyor.sync.spec import SyncJobSpec

JOB = SyncJobSpec.model_validate(
    {
        "name": "kinds",
        "local": {"table": "kinds", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "reference",
            "connection": "x",
            "entity": "e",
            "external_id_field": "Ext",
        },
        "fields": {
            "labels": {"remote": "Labels", "type": "json"},
            "amount": {"remote": "Amount", "type": "decimal"},
            "flag": {"remote": "Flag", "type": "boolean"},
        },
    }
)


def test_json_decimal_and_boolean_values_round_trip(db_url: str) -> None:
    engine = create_engine(parse_url(db_url))
    table = LocalTable(engine, JOB)
    table.ensure()
    now = dt.datetime.now(dt.UTC)
    written: dict[str, dict[str, Any]] = {
        "1": {"labels": ["a", "b"], "amount": "12.50", "flag": True},
        "2": {"labels": {"nested": [1, None]}, "amount": "0", "flag": False},
        "3": {"labels": None, "amount": None, "flag": None},
    }
    with engine.begin() as conn:
        table.upsert(conn, written, now)
    rows = table.fetch(["1", "2", "3"])
    assert rows["1"].values == {"labels": ["a", "b"], "amount": "12.5", "flag": True}
    assert rows["2"].values == {"labels": {"nested": [1, None]}, "amount": "0", "flag": False}
    assert rows["3"].values == {"labels": None, "amount": None, "flag": None}
    engine.dispose()
