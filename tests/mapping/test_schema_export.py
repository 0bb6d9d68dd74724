"""The committed JSON Schema of mapping files matches the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conveyor.mapping.loader import parse_yaml
from conveyor.mapping.schema_export import (
    REGENERATE_COMMAND,
    SCHEMA_PATH,
    main,
    schema_text,
    write_schema,
)
from conveyor.mapping.spec import MappingSpec

REPO_SCHEMA = Path(__file__).resolve().parents[2] / "mappings" / "schema" / "mapping.schema.json"


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH == REPO_SCHEMA
    committed = REPO_SCHEMA.read_text(encoding="utf-8") if REPO_SCHEMA.is_file() else ""
    assert committed == schema_text(), (
        f"{REPO_SCHEMA} is out of date with MappingSpec; regenerate it with: {REGENERATE_COMMAND}"
    )


def test_schema_text_is_the_model_schema_pretty_and_sorted() -> None:
    text = schema_text()
    assert text.endswith("}\n")
    assert json.loads(text) == MappingSpec.model_json_schema()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    field = json.loads(text)["$defs"]["FieldSpec"]
    assert field["additionalProperties"] is False
    assert field["properties"]["type"]["default"] == "string"
    assert "from" in field["properties"]


def test_main_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schema" / "mapping.schema.json"
    assert main(["--check", str(target)]) == 1
    assert capsys.readouterr().err == (
        f"{target} is out of date; run: python -m conveyor.mapping.schema_export\n"
    )
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_text()
    assert main(["--check", str(target)]) == 0
    assert write_schema(tmp_path / "again.json").read_text(encoding="utf-8") == schema_text()


def test_schema_accepts_a_mapping_and_refuses_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(schema_text())
    document: Any = parse_yaml(
        "target: {table: t, key: id}\n"
        "fields:\n"
        "  id: {type: integer}\n"
        "  name:\n"
        "  amount: {type: 'decimal(12,2)', transforms: strip, checks: {min: 0}}\n"
        "  tags: {type: json, transforms: [{map: {values: {a: b}}}]}\n"
    )
    jsonschema.validate(document, schema)
    document["fields"]["id"]["tpye"] = "integer"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    del document["fields"]["id"]["tpye"]
    document["fields"]["id"]["type"] = "money"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_committed_sync_job_schema_is_current() -> None:
    from conveyor.mapping.schema_export import SYNC_SCHEMA_PATH
    from conveyor.sync.spec import SyncJobSpec

    committed = SYNC_SCHEMA_PATH.read_text(encoding="utf-8") if SYNC_SCHEMA_PATH.is_file() else ""
    assert committed == schema_text(SyncJobSpec), (
        f"{SYNC_SCHEMA_PATH} is out of date with SyncJobSpec; regenerate: {REGENERATE_COMMAND}"
    )
    assert main(["--check"]) == 0
