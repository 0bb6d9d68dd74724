"""The mapping of an upload: a name from the server's mappings folder, or YAML from the page.

A client never gives a path: a name must be one of the files in ``mappings_dir``, and YAML
text is validated by the same loader as mapping files, so its errors read the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import ConveyorError, MappingError
from conveyor.mapping import MappingSpec, dump_mapping
from conveyor.mapping.infer import snake_case
from conveyor.mapping.loader import (
    available_mappings,
    load_mapping,
    parse_mapping,
    resolve_mapping,
)
from conveyor.mapping.suggest import suggest_mapping
from conveyor.web.uploads import StoredUpload

__all__ = ["ChosenMapping", "choose_mapping", "list_mappings", "suggest_yaml", "table_name"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
YAML_ORIGIN = "mapping_yaml"


@dataclass(frozen=True)
class ChosenMapping:
    """A validated mapping; ``path`` is set for a named one (the file in ``mappings_dir``)."""

    spec: MappingSpec
    path: Path | None
    label: str


def list_mappings(mappings_dir: Path) -> list[str]:
    return available_mappings([mappings_dir])


def table_name(filename: str) -> str:
    """The table a suggested mapping targets: the client's file name in snake_case."""
    return snake_case(Path(filename).stem.split(".")[0]) or "imported"


def suggest_yaml(upload: StoredUpload) -> tuple[str | None, str | None]:
    """The suggested mapping of ``upload`` as YAML, or why none could be made."""
    table = table_name(upload.filename)
    try:
        spec = suggest_mapping(upload.path, table=table)
    except ConveyorError as exc:
        return None, str(exc).replace(str(upload.path), upload.filename)
    return dump_mapping(spec.model_copy(update={"name": table})), None


def choose_mapping(
    mappings_dir: Path, name: str | None, yaml_text: str | None, upload: StoredUpload
) -> ChosenMapping:
    """The mapping a request asks for; without one, the upload's suggested mapping."""
    if name is not None and yaml_text is not None:
        raise MappingError("give either mapping (a name) or mapping_yaml (the text), not both")
    if name is not None:
        return _named(mappings_dir, name)
    if yaml_text is None:
        if upload.suggested_yaml is None:
            raise MappingError(
                f"no mapping given and none could be suggested for {upload.filename}: "
                f"{upload.suggestion_error}"
            )
        yaml_text = upload.suggested_yaml
    spec = parse_mapping(yaml_text, YAML_ORIGIN, default_name=table_name(upload.filename))
    return ChosenMapping(spec, None, spec.name or YAML_ORIGIN)


def _named(mappings_dir: Path, name: str) -> ChosenMapping:
    known = list_mappings(mappings_dir)
    if not _NAME.match(name) or name not in known:
        listed = ", ".join(known) or "none"
        raise MappingError(
            f"unknown mapping {name!r}: give the name of a mapping in the server's mappings "
            f"folder (available: {listed}), or the mapping's text as mapping_yaml"
        )
    path = resolve_mapping(name, [mappings_dir]).resolve()
    return ChosenMapping(load_mapping(path), path, name)
