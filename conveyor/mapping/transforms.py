"""Text transforms of a field (strip, lower, replace, map...) and their Polars expressions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

__all__ = [
    "TRANSFORM_HELP",
    "MapArgs",
    "MapTransform",
    "ReplaceArgs",
    "ReplaceTransform",
    "Transform",
    "TransformName",
    "apply_transforms",
    "regex_problem",
]

TransformName = Literal["strip", "lower", "upper", "title", "collapse_spaces"]
_NAMES: tuple[str, ...] = ("strip", "lower", "upper", "title", "collapse_spaces")
TRANSFORM_HELP = (
    "use one of strip, lower, upper, title, collapse_spaces, "
    "{replace: {pattern: REGEX, with: TEXT}}, {map: {values: {FROM: TO}, default: TEXT}}"
)


def regex_problem(pattern: str) -> str | None:
    """Why Polars (Rust regex syntax: no look-around, no backreferences) refuses ``pattern``."""
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines()]
        reason = next((ln[len("error: ") :] for ln in lines if ln.startswith("error: ")), "")
        return f"{pattern!r} is not a valid regular expression" + (f": {reason}" if reason else "")
    return None


def _as_text(value: object) -> str | None:
    """YAML gives numbers and booleans for bare 1, true...: compare them as their text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected text, got {value!r}")


class ReplaceArgs(BaseModel):
    """Replace every match of a regular expression."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    pattern: str = Field(description="Regular expression (Rust regex syntax, as Polars uses).")
    with_: str = Field(
        "",
        alias="with",
        description="Replacement text; $1 or ${name} insert a group, $$ a dollar sign.",
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        problem = regex_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("with_", mode="before")
    @classmethod
    def _with_as_text(cls, value: object) -> object:
        return "" if value is None else _as_text(value)


class ReplaceTransform(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replace: ReplaceArgs = Field(description="Regular-expression replacement.")


class MapArgs(BaseModel):
    """Replace whole values through a table."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, str | None] = Field(
        description="FROM: TO pairs, compared exactly; TO may be null (empty)."
    )
    default: str | None = Field(
        None, description="Value for anything not in `values`; unset keeps it unchanged."
    )

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        return {_as_text(k): _as_text(v) for k, v in value.items()}

    @field_validator("default", mode="before")
    @classmethod
    def _default_as_text(cls, value: object) -> object:
        return _as_text(value)


class MapTransform(BaseModel):
    model_config = ConfigDict(extra="forbid")

    map: MapArgs = Field(description="Value mapping.")


def _transform_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "~name" if value in _NAMES else None
    if isinstance(value, ReplaceTransform):
        return "~replace"
    if isinstance(value, MapTransform):
        return "~map"
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return {"replace": "~replace", "map": "~map"}.get(key)
    return None


Transform = Annotated[
    Annotated[TransformName, Tag("~name")]
    | Annotated[ReplaceTransform, Tag("~replace")]
    | Annotated[MapTransform, Tag("~map")],
    Discriminator(
        _transform_tag,
        custom_error_type="transform",
        custom_error_message=f"not a transform; {TRANSFORM_HELP}",
    ),
]


_SIMPLE: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "strip": lambda e: e.str.strip_chars(),
    "lower": lambda e: e.str.to_lowercase(),
    "upper": lambda e: e.str.to_uppercase(),
    "title": lambda e: e.str.to_titlecase(),
    # Same result as replacing every run of whitespace (\s+) by one space, about three times
    # faster: a run that already is one space is left alone instead of copied.
    "collapse_spaces": lambda e: e.str.replace_all(r"\s{2,}|[^\S ]", " "),
}


def _apply_one(text: pl.Expr, transform: str | ReplaceTransform | MapTransform) -> pl.Expr:
    if isinstance(transform, ReplaceTransform):
        return text.str.replace_all(transform.replace.pattern, transform.replace.with_)
    if isinstance(transform, MapTransform):
        return _apply_map(text, transform.map)
    return _SIMPLE[transform](text)


def _apply_map(text: pl.Expr, args: MapArgs) -> pl.Expr:
    old = pl.Series(list(args.values), dtype=pl.String)
    new = pl.Series(list(args.values.values()), dtype=pl.String)
    if args.default is None:
        return text.replace(old, new)
    mapped = text.replace_strict(old, new, default=pl.lit(args.default), return_dtype=pl.String)
    return pl.when(text.is_null()).then(pl.lit(None, pl.String)).otherwise(mapped)


def apply_transforms(
    text: pl.Expr, transforms: Sequence[str | ReplaceTransform | MapTransform]
) -> pl.Expr:
    """Apply ``transforms`` in order to a String expression (nulls stay null)."""
    for transform in transforms:
        text = _apply_one(text, transform)
    return text
