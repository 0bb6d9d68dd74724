"""Write the JSON Schema of mapping files (for editors and CI).

``python -m conveyor.mapping.schema_export`` rewrites mappings/schema/mapping.schema.json;
``--check`` only reports whether the committed file is current (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from conveyor.mapping.spec import MappingSpec

__all__ = ["REGENERATE_COMMAND", "SCHEMA_PATH", "main", "schema_text", "write_schema"]

REGENERATE_COMMAND = "python -m conveyor.mapping.schema_export"


def _repo_root() -> Path:
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


SCHEMA_PATH = _repo_root() / "mappings" / "schema" / "mapping.schema.json"


def schema_text() -> str:
    """The schema as committed: pretty, keys sorted, trailing newline."""
    schema = MappingSpec.model_json_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE_COMMAND, description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=SCHEMA_PATH)
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args(argv)
    path: Path = args.path
    if args.check:
        current = path.is_file() and path.read_text(encoding="utf-8") == schema_text()
        if not current:
            print(f"{path} is out of date; run: {REGENERATE_COMMAND}", file=sys.stderr)
        return 0 if current else 1
    print(f"wrote {write_schema(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
