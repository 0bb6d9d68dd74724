"""The mapping spec: pydantic models of a mapping YAML file.

Every model forbids unknown keys, so a typo is an error. Problems found across fields are
raised as ``SpecProblems`` (a ValueError) carrying each problem's path, so the loader can name
the exact key (``fields.amount.checks.min``) and its line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from conveyor.formats.base import SourceOptions
from conveyor.load.base import Existing, WriteMode
from conveyor.mapping.checks import Checks, check_problems
from conveyor.mapping.transforms import Transform
from conveyor.mapping.types import (
    DEFAULT_FALSE,
    DEFAULT_TRUE,
    TYPE_PATTERN,
    FieldType,
    ParseOptions,
    format_problem,
    is_supported_dtype,
    parse_value,
    timezone_problem,
)
from conveyor.schema import FieldKind

__all__ = [
    "DedupeSpec",
    "FieldSpec",
    "FieldTypeField",
    "MappingSpec",
    "Path",
    "SpecProblems",
    "TargetSpec",
    "render_path",
]

Path = tuple[str | int, ...]
_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
_MAX_NAME = 63  # PostgreSQL cuts longer identifiers
_NUMERIC = ("integer", "decimal", "float")
_STRICT = ConfigDict(extra="forbid")


def render_path(path: Path) -> str:
    """``("fields", "amount", "checks", "allowed", 0)`` -> ``fields.amount.checks.allowed[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME_RE.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


class SpecProblems(ValueError):
    """Problems found by a model validator, each with its path below the model."""

    def __init__(self, problems: list[tuple[Path, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{render_path(p)}: {m}" if p else m for p, m in problems))


FieldTypeField = Annotated[
    FieldType,
    PlainValidator(FieldType.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TYPE_PATTERN,
            "description": "string, integer, decimal(p,s) (1 <= p <= 38, 0 <= s <= p), float, "
            "boolean, date, datetime or json.",
        }
    ),
]


def _one_or_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _schema_or_one_string(schema: JsonDict) -> None:
    """JSON Schema of a list that also takes one bare string (``key: email``)."""
    listed = {k: v for k, v in schema.items() if k not in ("title", "description", "default")}
    for key in listed:
        del schema[key]
    schema["anyOf"] = [listed, {"type": "string"}]


def _schema_rules_or_null(schema: JsonDict) -> None:
    """JSON Schema of ``fields``: a rule may be empty (``first_name:``)."""
    schema["additionalProperties"] = {"anyOf": [schema["additionalProperties"], {"type": "null"}]}


def _join_or(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _word(value: object) -> object:
    """YAML reads bare true/1 as bool/int: take the text the user wrote."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _column_name(value: object) -> object:
    """A bare number in YAML (a column named 2024) is a name."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _identifier_problem(name: str, what: str) -> str | None:
    if not _NAME_RE.fullmatch(name):
        return f"{name!r} is not a valid {what} name; use letters, digits and underscores"
    if name.startswith("__"):
        return f"{name!r} is not a valid {what} name; names starting with '__' are reserved"
    if len(name) > _MAX_NAME:
        return f"{name!r} is too long for a {what} name (at most {_MAX_NAME} characters)"
    return None


class TargetSpec(BaseModel):
    """Where mapped rows go."""

    model_config = _STRICT

    table: str = Field(description="Target table name (letters, digits, underscores).")
    key: list[str] = Field(
        default_factory=list,
        description="Target field(s) identifying a record; needed for upsert and update_only.",
        json_schema_extra=_schema_or_one_string,
    )
    mode: WriteMode | None = Field(
        None,
        description="insert, upsert, update_only, delete (by key) or replace (the table's rows "
        "replaced at once); default: upsert with a key, else insert.",
    )
    existing: Existing = Field(
        "update",
        description="Rows whose key is already in the table: update (incoming values win), "
        "merge (incoming non-empty values win), skip (left as stored) or error (rejected).",
    )
    add_columns: bool = Field(
        False, description="Add mapped fields the existing table lacks as new nullable columns."
    )

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        problem = _identifier_problem(value, "table")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value: object) -> object:
        value = _one_or_list(_column_name(value))
        return [_column_name(v) for v in value] if isinstance(value, list) else value


def _existing_problem(mode: WriteMode, target: TargetSpec) -> str | None:
    """``existing`` only means something where stored rows can be met and kept."""
    if "existing" not in target.model_fields_set or target.existing == "update":
        return None
    if mode in ("insert", "delete"):
        return f"existing: {target.existing} does not apply to mode {mode}; remove it"
    if mode == "update_only" and target.existing in ("skip", "error"):
        return (
            f"existing: {target.existing} with mode update_only would write nothing; "
            "use update or merge"
        )
    if mode == "replace" and target.existing in ("skip", "error"):
        return f"existing: {target.existing} does not apply to mode replace; use update or merge"
    if not target.key:
        return f"existing: {target.existing} needs target.key"
    return None


class DedupeSpec(BaseModel):
    """How records repeating a key within one file are settled."""

    model_config = _STRICT

    strategy: Literal["first", "last", "error", "merge"] = Field(
        "last",
        description="first or last keeps that record; error rejects every duplicate; merge "
        "fills empty fields of the last record from the earlier ones.",
    )
    trim: bool = Field(True, description="Compare keys with surrounding spaces removed.")
    ignore_case: bool | list[str] = Field(
        False, description="true (every string key field) or the key fields compared case-folded."
    )


class FieldSpec(BaseModel):
    """How one target field is read, cleaned, typed and checked."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)

    from_: str | None = Field(
        None,
        alias="from",
        min_length=1,
        description="Source column, or a dotted path into nested JSON/XML (a.b.c); "
        "default: the field name.",
    )
    type: FieldTypeField = Field(
        FieldType("string"), description="Target type.", json_schema_extra={"default": "string"}
    )
    decimal_separator: str = Field(".", description="Numbers: the decimal separator.")
    thousands_separator: str | None = Field(
        None, description="Numbers: the thousands separator (default: none)."
    )
    true_values: list[str] | None = Field(
        None, description="Boolean words for true (case-insensitive); default: true t yes y 1."
    )
    false_values: list[str] | None = Field(
        None, description="Boolean words for false (case-insensitive); default: false f no n 0."
    )
    format: str | None = Field(None, description="Date/datetime: strftime format.")
    formats: list[str] | None = Field(
        None, min_length=1, description="Date/datetime: strftime formats tried in order."
    )
    timezone: str | None = Field(
        None, description="Datetime: IANA zone of values without an offset (default UTC)."
    )
    transforms: list[Transform] = Field(
        default_factory=list,
        description="Text transforms, applied in order.",
        json_schema_extra=_schema_or_one_string,
    )
    default: Any = Field(None, description="Value used when the source value is empty.")
    required: bool = Field(False, description="An empty value rejects the row.")
    checks: Checks = Field(default_factory=Checks, description="Rules the value must meet.")
    expr: str | None = Field(
        None, description="Polars SQL expression over other target fields (instead of from)."
    )

    @field_validator("transforms", mode="before")
    @classmethod
    def _transforms_list(cls, value: object) -> object:
        return _one_or_list(value)

    @field_validator("from_", mode="before")
    @classmethod
    def _column_as_text(cls, value: object) -> object:
        return _column_name(value)

    @field_validator("true_values", "false_values", mode="before")
    @classmethod
    def _words_as_text(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        return [_word(v) for v in value]

    @field_validator("default", mode="before")
    @classmethod
    def _default_kind(cls, value: object) -> object:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        if value is None or isinstance(value, str | int | float | bool | list | dict):
            return value
        raise ValueError(f"{value!r} cannot be a default")

    @property
    def kind(self) -> FieldKind:
        return self.type.kind

    def parse_options(self) -> ParseOptions:
        formats = self.formats or ([self.format] if self.format else [])
        return ParseOptions(
            decimal_separator=self.decimal_separator,
            thousands_separator=self.thousands_separator,
            true_values=tuple(v.lower() for v in self.true_values or DEFAULT_TRUE),
            false_values=tuple(v.lower() for v in self.false_values or DEFAULT_FALSE),
            formats=tuple(formats),
            timezone=self.timezone or "UTC",
        )

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        problems = [
            *self._applicability(),
            *self._separator_problems(),
            *self._boolean_problems(),
            *self._time_problems(),
        ]
        if not problems:
            opts = self.parse_options()
            problems += [
                (("checks", *p), m) for p, m in check_problems(self.checks, self.type, opts)
            ]
            if self.default is not None:
                try:
                    parse_value(self.default, self.type, opts)
                except ValueError as exc:
                    problems.append((("default",), f"does not fit {self.type}: {exc}"))
        if problems:
            raise SpecProblems(problems)
        return self

    def _applicability(self) -> list[tuple[Path, str]]:
        given = self.model_fields_set
        rules = {
            "decimal_separator": _NUMERIC,
            "thousands_separator": _NUMERIC,
            "true_values": ("boolean",),
            "false_values": ("boolean",),
            "format": ("date", "datetime"),
            "formats": ("date", "datetime"),
            "timezone": ("datetime",),
        }
        problems: list[tuple[Path, str]] = [
            ((key,), f"applies only to {_join_or(kinds)} fields, not {self.type.kind}")
            for key, kinds in rules.items()
            if key in given and getattr(self, key) is not None and self.type.kind not in kinds
        ]
        if self.expr is not None and self.from_ is not None:
            problems.append(
                (("expr",), "expr and from are exclusive: an expr field reads no source column")
            )
        return problems

    def _separator_problems(self) -> list[tuple[Path, str]]:
        problems: list[tuple[Path, str]] = []
        for key in ("decimal_separator", "thousands_separator"):
            sep = getattr(self, key)
            if sep is not None and (len(sep) != 1 or sep.isdigit() or sep in "+-eE"):
                problems.append(
                    (
                        (key,),
                        f"{sep!r} is not a separator; use one character such as "
                        "'.', ',', ' ' or \"'\"",
                    )
                )
        if (
            self.thousands_separator is not None
            and self.thousands_separator == self.decimal_separator
        ):
            problems.append((("thousands_separator",), "must differ from decimal_separator"))
        return problems

    def _boolean_problems(self) -> list[tuple[Path, str]]:
        problems: list[tuple[Path, str]] = []
        for key in ("true_values", "false_values"):
            words = getattr(self, key)
            if words is not None and (not words or any(not w.strip() for w in words)):
                problems.append(((key,), "needs at least one word, none of them empty"))
        opts = self.parse_options()
        both = sorted(set(opts.true_values) & set(opts.false_values))
        if both and not problems:
            problems.append((("false_values",), f"{', '.join(both)} cannot be both true and false"))
        return problems

    def _time_problems(self) -> list[tuple[Path, str]]:
        problems: list[tuple[Path, str]] = []
        if self.format is not None and self.formats is not None:
            problems.append((("formats",), "give either format or formats, not both"))
        if self.type.kind in ("date", "datetime"):
            candidates: list[tuple[Path, str]] = [(("format",), self.format)] if self.format else []
            candidates += [(("formats", i), f) for i, f in enumerate(self.formats or [])]
            for path, fmt in candidates:
                problem = format_problem(fmt, self.type.kind)
                if problem:
                    problems.append((path, problem))
        if self.timezone is not None and self.type.kind == "datetime":
            problem = timezone_problem(self.timezone)
            if problem:
                problems.append((("timezone",), problem))
        return problems


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class MappingSpec(BaseModel):
    """A mapping file: how one source's records become rows of one target table."""

    model_config = _STRICT

    name: str | None = Field(
        None, min_length=1, description="Mapping name; default: the file's stem."
    )
    source: SourceOptions = Field(
        default_factory=SourceOptions, description="How to read the source file."
    )
    target: TargetSpec = Field(description="The target table, key and write mode.")
    dedupe: DedupeSpec = Field(
        default_factory=DedupeSpec, description="Duplicate keys within the file (needs a key)."
    )
    fields: dict[str, FieldSpec] = Field(
        min_length=1,
        description="Target field name -> rule; the order is the column order.",
        json_schema_extra=_schema_rules_or_null,
    )

    @field_validator("fields", mode="before")
    @classmethod
    def _empty_rules(cls, value: object) -> object:
        if isinstance(value, dict):
            return {_column_name(k): {} if v is None else v for k, v in value.items()}
        return value

    @property
    def effective_mode(self) -> WriteMode:
        if self.target.mode is not None:
            return self.target.mode
        return "upsert" if self.target.key else "insert"

    def source_column(self, field: str) -> str | None:
        """The source column a field reads (None for an expr field)."""
        rule = self.fields[field]
        if rule.expr is not None:
            return None
        return rule.from_ if rule.from_ is not None else field

    @model_validator(mode="after")
    def _consistent(self) -> MappingSpec:
        problems = [*self._name_problems(), *self._key_problems(), *self._dedupe_problems()]
        if not problems:
            problems += self._expr_problems()
        if problems:
            raise SpecProblems(problems)
        return self

    def _name_problems(self) -> list[tuple[Path, str]]:
        problems: list[tuple[Path, str]] = []
        seen: dict[str, str] = {}
        for name in self.fields:
            problem = _identifier_problem(name, "field")
            if problem:
                problems.append((("fields", name), problem))
            other = seen.setdefault(name.lower(), name)
            if other != name:
                problems.append(
                    (
                        ("fields", name),
                        f"{name!r} differs from {other!r} only by case; "
                        "databases treat them as one column",
                    )
                )
        return problems

    def _key_problems(self) -> list[tuple[Path, str]]:
        problems: list[tuple[Path, str]] = []
        names = list(self.fields)
        for i, key in enumerate(self.target.key):
            if key not in self.fields:
                problems.append(
                    (
                        ("target", "key", i),
                        f"{key!r} is not a field; fields: {', '.join(names)}"
                        + _did_you_mean(key, names),
                    )
                )
            elif self.target.key.index(key) != i:
                problems.append((("target", "key", i), f"{key!r} is listed twice"))
        if self.target.mode in ("upsert", "update_only", "delete") and not self.target.key:
            problems.append(
                (
                    ("target", "mode"),
                    f"{self.target.mode} needs target.key (the field(s) that identify a record)",
                )
            )
        problem = _existing_problem(self.effective_mode, self.target)
        if problem:
            problems.append((("target", "existing"), problem))
        return problems

    def _dedupe_problems(self) -> list[tuple[Path, str]]:
        if "dedupe" in self.model_fields_set and not self.target.key:
            return [
                (("dedupe",), "dedupe works by the target key; set target.key or remove dedupe")
            ]
        ignore = self.dedupe.ignore_case
        if not isinstance(ignore, list):
            return []
        problems: list[tuple[Path, str]] = []
        for i, name in enumerate(ignore):
            if name not in self.target.key:
                problems.append(
                    (
                        ("dedupe", "ignore_case", i),
                        f"{name!r} is not a key field; key: {', '.join(self.target.key)}",
                    )
                )
            elif self.fields[name].type.kind != "string":
                problems.append(
                    (
                        ("dedupe", "ignore_case", i),
                        f"{name!r} is not a string field; only text keys can ignore case",
                    )
                )
        return problems

    def _expr_problems(self) -> list[tuple[Path, str]]:
        problems: list[tuple[Path, str]] = []
        names = list(self.fields)
        for position, (name, rule) in enumerate(self.fields.items()):
            if rule.expr is None:
                continue
            visible = [
                n for i, n in enumerate(names) if self.fields[n].expr is None or i < position
            ]
            problem = _expr_problem(rule.expr, name, visible, names, self.fields)
            if problem:
                problems.append((("fields", name, "expr"), problem))
        return problems


def _expr_problem(
    expr: str, name: str, visible: list[str], names: list[str], fields: dict[str, FieldSpec]
) -> str | None:
    try:
        parsed = pl.sql_expr(expr)
    except pl.exceptions.PolarsError as exc:
        return f"{expr!r} is not a valid SQL expression: {str(exc).splitlines()[0]}"
    roots = list(dict.fromkeys(parsed.meta.root_names()))
    for ref in roots:
        if ref == name:
            return f"refers to its own field {ref!r}"
        if ref in names and ref not in visible:
            return f"refers to {ref!r}, an expr field declared later; declare it before {name!r}"
        if ref not in names:
            return (
                f"refers to {ref!r}, which is not a field (an expr reads target fields, not "
                f"source columns); fields: {', '.join(visible)}" + _did_you_mean(ref, visible)
            )
    dummy = pl.DataFrame(
        {n: pl.Series(n, [None] * 3, dtype=fields[n].type.dtype()) for n in visible}
    )
    try:
        out = dummy.lazy().select(parsed.alias("out")).collect()
    except pl.exceptions.PolarsError as exc:
        return f"{expr!r} cannot be evaluated: {str(exc).splitlines()[0]}"
    if roots and out.height != dummy.height:
        return f"{expr!r} must give one value per row (aggregates such as sum() are not allowed)"
    if not is_supported_dtype(out.schema["out"]):
        return (
            f"{expr!r} gives {out.schema['out']} values; an expr must give one plain value per row"
        )
    return None
