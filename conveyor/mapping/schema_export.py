"""Write the JSON Schemas of mapping files and sync job files (for editors and CI).

``python -m conveyor.mapping.schema_export`` rewrites mappings/schema/mapping.schema.json and
mappings/schema/sync.schema.json; ``--check`` only reports whether the committed files are
current (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from conveyor.mapping.spec import MappingSpec

__all__ = [
    "REGENERATE_COMMAND",
    "SCHEMA_PATH",
    "SYNC_SCHEMA_PATH",
    "main",
    "schema_text",
    "write_schema",
]

REGENERATE_COMMAND = "python -m conveyor.mapping.schema_export"


def _repo_root() -> Path:
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


SCHEMA_PATH = _repo_root() / "mappings" / "schema" / "mapping.schema.json"
SYNC_SCHEMA_PATH = SCHEMA_PATH.with_name("sync.schema.json")


def _models() -> dict[Path, type[BaseModel]]:
    from conveyor.sync.spec import SyncJobSpec

    return {SCHEMA_PATH: MappingSpec, SYNC_SCHEMA_PATH: SyncJobSpec}


def schema_text(model: type[BaseModel] = MappingSpec) -> str:
    """The schema as committed: pretty, keys sorted, trailing newline."""
    schema = model.model_json_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH, model: type[BaseModel] = MappingSpec) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(model), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE_COMMAND, description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, help="write only the mapping schema here")
    parser.add_argument("--check", action="store_true", help="fail if a file is not current")
    args = parser.parse_args(argv)
    targets = {args.path: MappingSpec} if args.path else _models()
    if args.check:
        stale = [
            path
            for path, model in targets.items()
            if not path.is_file() or path.read_text(encoding="utf-8") != schema_text(model)
        ]
        for path in stale:
            print(f"{path} is out of date; run: {REGENERATE_COMMAND}", file=sys.stderr)
        return 1 if stale else 0
    for path, model in targets.items():
        print(f"wrote {write_schema(path, model)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
