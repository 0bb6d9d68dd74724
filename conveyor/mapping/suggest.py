"""The identity mapping: a file imported without a mapping, or `conveyor mapping suggest`.

Types are inferred over the WHOLE file (one extra streaming pass, flat memory), so a type is
only chosen when every value of the column parses as it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from conveyor.errors import ConfigError, MappingError, SourceError
from conveyor.formats import SourceOptions, read_source
from conveyor.mapping.infer import TypeInferrer, identity_mapping, snake_case
from conveyor.mapping.loader import format_validation_error
from conveyor.mapping.spec import MappingSpec
from conveyor.schema import ROW_COL, SEQ_COL, SHEET_COL

__all__ = ["suggest_mapping"]


def suggest_mapping(
    path: Path,
    *,
    table: str | None = None,
    key: Sequence[str] = (),
    options: SourceOptions | None = None,
    progress: Callable[[str, int, int | None, int], None] | None = None,
) -> MappingSpec:
    """Infer a mapping for ``path``: snake_case names, conservative types."""
    source = read_source(path, options or SourceOptions())
    columns = source.info.columns
    if not columns:
        raise SourceError(
            path, "has no columns to import: no header, or records that are not objects"
        )
    inferrer = TypeInferrer(columns)
    rows = 0
    for batch in source.batches:
        inferrer.update(batch.data.drop([ROW_COL, SHEET_COL, SEQ_COL], strict=False))
        rows += batch.data.height
        if progress is not None:
            progress("infer", batch.position, source.info.size, rows)
    types = inferrer.result()
    # Lists (and objects deeper than flatten_depth) arrive as JSON text: type them json.
    json_columns = source.info.extra.get("json_columns", ())
    for column in json_columns if isinstance(json_columns, list | set | tuple) else ():
        if types.get(column) == "string":
            types[column] = "json"
    resolved = source.info.options.model_dump(
        exclude_defaults=True, exclude={"batch_size"}, mode="json"
    )
    try:
        raw = identity_mapping(
            columns,
            types,
            table=table or _table_name(path),
            key=list(key),
            name=path.stem,
            source=resolved,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        return MappingSpec.model_validate(raw)
    except ValidationError as exc:
        message = format_validation_error(exc, f"identity mapping of {path.name}")
        raise MappingError(message) from None


def _table_name(path: Path) -> str:
    return snake_case(path.stem.split(".")[0]) or "imported"
