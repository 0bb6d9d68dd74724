"""Mapping files: find, read (YAML) and write them; errors name the file, the key and its line.

YAML is read with the YAML 1.2 core schema rather than PyYAML's 1.1 default: only
true/false are booleans (``yes``, ``no``, ``on``, ``off`` stay text: boolean words, country
codes), ``010`` is ten, and dates stay text (the mapping reads them itself). A key given twice
is an error instead of silently keeping the last one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from conveyor.errors import MappingError
from conveyor.mapping.spec import MappingSpec, SpecProblems, render_path
from conveyor.mapping.spec import Path as KeyPath
from conveyor.mapping.transforms import TRANSFORM_HELP, MapTransform, ReplaceTransform

__all__ = [
    "available_mappings",
    "dump_mapping",
    "load_mapping",
    "parse_mapping",
    "parse_model",
    "parse_yaml",
    "resolve_mapping",
    "spec_hash",
]

_SUFFIXES = (".yaml", ".yml")

# ------------------------------------------------------------------------------ YAML 1.2

_DROPPED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:value",
}


class _DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars and duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: PyYAML reports it itself
            if key in seen:
                first = seen[key]
                same = "" if first.value == key_node.value else f" (as {first.value!r}; quote them)"
                raise _DuplicateKeyError(
                    problem=f"key {key_node.value!r} appears twice{same}, first on line "
                    f"{first.start_mark.line + 1}",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0x"):
        return int(text[2:], 16)
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 10)  # YAML 1.2: a leading zero is not octal


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _Dumper(yaml.SafeDumper):
    pass


def _resolves_to_text(text: str) -> bool:
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Quote text that our loader would read as a number or boolean (e.g. "1e3", "0o17").
    style = None if _resolves_to_text(text) else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.SequenceNode:
    flat = all(_is_scalar(i) for i in items)  # [strip, lower] rather than one item per line
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.MappingNode:
    flat = all(_is_scalar(v) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flat)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)
_RESOLVER = _Loader("")


def _read_yaml(text: str, origin: str) -> tuple[yaml.Node | None, object]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _DuplicateKeyError as exc:
        raise MappingError(f"{origin}:{_mark(exc)}: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        detail = f" ({exc.context})" if exc.context else ""
        raise MappingError(
            f"{origin}:{_mark(exc)}: YAML syntax error: {exc.problem}{detail}"
        ) from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{origin}: YAML syntax error: {exc}") from None
    finally:
        loader.dispose()
    return node, data


def _mark(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "?"


# ------------------------------------------------------------------------------- errors


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


_TAGS: dict[str, type[BaseModel]] = {"~replace": ReplaceTransform, "~map": MapTransform}


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _step(tp: Any, part: str | int) -> Any:
    """The type one loc part below ``tp``, or None."""
    tp = _unwrap(tp)
    if isinstance(part, str) and part in _TAGS:
        return _TAGS[part]
    if _is_model(tp):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = get_origin(tp)
    if origin in (Union, UnionType):
        for member in get_args(tp):
            found = _step(member, part)
            if found is not None:
                return found
        return None
    if origin is list and isinstance(part, int):
        return get_args(tp)[0]
    if origin is dict and part != "[key]":
        return get_args(tp)[1]
    return None


def _walk(loc: tuple[str | int, ...], top: type[BaseModel] = MappingSpec) -> tuple[KeyPath, Any]:
    """The loc as the user wrote it (without pydantic's union-member labels such as 'str' and
    our transform tags), and the last model on the way (whose keys an unknown key lacks)."""
    tp: Any = top
    model: Any = top
    path: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and part.startswith("~") and part not in _TAGS:
            continue
        below = _step(tp, part) if tp is not None else None
        unwrapped = _unwrap(tp)
        if below is None and get_origin(unwrapped) in (Union, UnionType):
            continue  # a union member label such as 'str' or 'list[str]'
        if part in _TAGS:
            tp = below
            continue
        if part != "[key]":
            path.append(part)
        tp = below
        if tp is not None and _is_model(_unwrap(tp)):
            model = _unwrap(tp)
    return tuple(path), model


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


_TYPE_WORDS = {
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}


def _messages(
    error: ErrorDetails, top: type[BaseModel] = MappingSpec
) -> Iterator[tuple[KeyPath, str]]:
    path, _ = _walk(tuple(error["loc"]), top)
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        exc = ctx.get("error")
        if isinstance(exc, SpecProblems):
            for sub, message in exc.problems:
                yield path + sub, message
            return
        yield path, str(exc) if exc is not None else error["msg"]
    elif kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        parent = _walk(tuple(error["loc"])[:-1], top)[1]
        allowed = _allowed_keys(parent)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield path, f"{key!r} is not a known key{hint}; allowed keys: {', '.join(allowed)}"
    elif kind == "missing":
        yield path, "is required"
    elif kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        yield path, f"{_show(value)} is not allowed; use one of {expected}"
    elif kind == "transform":
        yield path, f"{_show(value)} is not a transform; {TRANSFORM_HELP}"
    elif kind in _TYPE_WORDS:
        yield path, f"expected {_TYPE_WORDS[kind]}, got {_show(value)}"
    elif kind == "greater_than_equal":
        yield path, f"must be at least {ctx.get('ge')}, got {_show(value)}"
    elif kind == "too_short":
        yield path, "must not be empty"
    else:
        yield path, f"{error['msg']}, got {_show(value)}"


def _line(root: yaml.Node | None, path: KeyPath) -> int | None:
    """Line (1-based) of the deepest node of ``path`` found in the YAML tree."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(
                ((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None
            )
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


_EXPECTED = re.compile(r"expected (.*), got (.*)", re.DOTALL)


def _merge_expected(messages: list[str]) -> list[str]:
    """'expected text, got [1]' + 'expected a whole number, got [1]' (one per union member)
    -> 'expected text or a whole number, got [1]'."""
    matches = [_EXPECTED.fullmatch(m) for m in messages]
    if len(messages) < 2 or any(m is None for m in matches):
        return messages
    got = {m.group(2) for m in matches if m is not None}
    if len(got) != 1:
        return messages
    wanted = " or ".join(m.group(1) for m in matches if m is not None)
    return [f"expected {wanted}, got {got.pop()}"]


def format_validation_error(
    exc: ValidationError,
    origin: str,
    root: yaml.Node | None = None,
    top: type[BaseModel] = MappingSpec,
) -> str:
    """One line per problem: ``file:line: path: what is wrong and what is allowed``."""
    grouped: dict[KeyPath, list[str]] = {}
    for error in exc.errors(include_url=False):
        for path, message in _messages(error, top):
            messages = grouped.setdefault(path, [])
            if message not in messages:
                messages.append(message)
    lines = []
    for path, messages in grouped.items():
        line = _line(root, path)
        where = f"{origin}:{line}" if line is not None else origin
        text = "; ".join(_merge_expected(messages))
        lines.append(f"{where}: {render_path(path)}: {text}" if path else f"{where}: {text}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ public


def parse_yaml(text: str, origin: str = "<mapping>") -> object:
    """The data of a YAML document read as mapping files are (YAML 1.2 core scalars, duplicate
    keys refused); MappingError on a syntax error."""
    return _read_yaml(text, origin)[1]


def parse_mapping(
    text: str, origin: str = "<mapping>", default_name: str | None = None
) -> MappingSpec:
    """A spec from YAML text; ``origin`` names it in errors; ``default_name`` fills a missing
    name."""
    root, data = _read_yaml(text, origin)
    if data is None:
        raise MappingError(
            f"{origin}: the file is empty; a mapping needs at least target and fields"
        )
    if not isinstance(data, dict):
        raise MappingError(
            f"{origin}:1: a mapping file holds keys (name, source, target, dedupe, fields), "
            f"not {_show(data)}"
        )
    if default_name is not None and data.get("name") is None:
        data["name"] = default_name
    try:
        return MappingSpec.model_validate(data)
    except ValidationError as exc:
        raise MappingError(format_validation_error(exc, origin, root)) from None


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], text: str, origin: str, defaults: dict[str, Any]) -> M:
    """Any of our YAML specs (a sync job, say) read and checked as mapping files are: errors
    name the file, the line and the key; ``defaults`` fill keys the file leaves out."""
    root, data = _read_yaml(text, origin)
    if not isinstance(data, dict):
        keys = ", ".join(model.model_fields)
        raise MappingError(f"{origin}:1: the file should hold the keys {keys}, not {_show(data)}")
    for key, value in defaults.items():
        if data.get(key) is None:
            data[key] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MappingError(format_validation_error(exc, origin, root, model)) from None


def available_mappings(search_dirs: Sequence[Path] = (Path("mappings"),)) -> list[str]:
    """Names of the mapping files in ``search_dirs``."""
    names = {
        p.stem
        for d in map(Path, search_dirs)
        if d.is_dir()
        for p in d.iterdir()
        if p.suffix in _SUFFIXES and p.is_file()
    }
    return sorted(names)


def _is_path(name_or_path: str | Path) -> bool:
    text = str(name_or_path)
    return text.endswith(_SUFFIXES) or "/" in text or "\\" in text


def resolve_mapping(
    name_or_path: str | Path, search_dirs: Sequence[Path] = (Path("mappings"),)
) -> Path:
    """The file of a mapping given as a path (x.yaml, dir/x) or a bare name looked up as
    <dir>/<name>.yaml (or .yml) in ``search_dirs``."""
    if _is_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise MappingError(f"{path}: no such mapping file")
        return path
    name = str(name_or_path)
    search_dirs = [Path(d) for d in search_dirs]
    for folder in search_dirs:
        for suffix in _SUFFIXES:
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    known = available_mappings(search_dirs)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    where = ", ".join(str(d) for d in search_dirs) or "(no folder)"
    listed = ", ".join(known) if known else "none"
    raise MappingError(f"no mapping named {name!r} in {where}{hint}; available: {listed}")


def load_mapping(
    name_or_path: str | Path, search_dirs: Sequence[Path] = (Path("mappings"),)
) -> MappingSpec:
    """Read and validate a mapping file; a missing ``name`` defaults to the file's stem."""
    path = resolve_mapping(name_or_path, search_dirs)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise MappingError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_mapping(text, str(path), default_name=path.stem)


def dump_mapping(spec: MappingSpec) -> str:
    """The spec as mapping YAML: documented key order, defaults left out."""
    data = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=100,
    )


def spec_hash(spec: MappingSpec) -> str:
    """sha256 (hex) of the spec's canonical JSON: every value (defaults included), keys
    sorted, except that the order of the fields counts (it is the column order)."""
    data = spec.model_dump(mode="json", by_alias=True)
    data["fields"] = [[name, rule] for name, rule in data["fields"].items()]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
