"""The identity mapping: a file imported without a mapping, or `conveyor mapping suggest`.

Types are inferred over the WHOLE file (one extra streaming pass, flat memory), so a type is
only chosen when every value of the column parses as it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conveyor.errors import ConfigError
from conveyor.formats import SourceOptions, read_source
from conveyor.mapping.infer import TypeInferrer, identity_mapping
from conveyor.mapping.spec import MappingSpec
from conveyor.schema import ROW_COL, SEQ_COL, SHEET_COL

__all__ = ["suggest_mapping"]


def suggest_mapping(
    path: Path,
    *,
    table: str | None = None,
    key: Sequence[str] = (),
    options: SourceOptions | None = None,
) -> MappingSpec:
    """Infer a mapping for ``path``: snake_case names, conservative types."""
    source = read_source(path, options or SourceOptions())
    columns = source.info.columns
    inferrer = TypeInferrer(columns)
    for batch in source.batches:
        inferrer.update(batch.data.drop([ROW_COL, SHEET_COL, SEQ_COL], strict=False))
    resolved = source.info.options.model_dump(
        exclude_defaults=True, exclude={"batch_size"}, mode="json"
    )
    try:
        raw = identity_mapping(
            columns,
            inferrer.result(),
            table=table or _table_name(path),
            key=list(key),
            name=path.stem,
            source=resolved,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return MappingSpec.model_validate(raw)


def _table_name(path: Path) -> str:
    from conveyor.mapping.infer import snake_case

    return snake_case(path.stem.split(".")[0]) or "imported"
