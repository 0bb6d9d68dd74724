"""Text transforms: each one, their order, where they apply, and their validation."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from conveyor.errors import MappingError
from conveyor.mapping.compiler import compile_mapping
from conveyor.mapping.loader import parse_mapping
from conveyor.mapping.spec import MappingSpec
from conveyor.mapping.transforms import (
    MapArgs,
    MapTransform,
    ReplaceArgs,
    ReplaceTransform,
    apply_transforms,
)


def transformed(transforms: list[Any], values: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    spec = MappingSpec.model_validate(
        {"target": {"table": "t"}, "fields": {"v": {"transforms": transforms}}}
    )
    out = compile_mapping(spec).apply(frame)
    assert out.rejects.height == 0
    return out.good["v"].to_list()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("strip", "  a b \t\n", "a b"),
        ("strip", "\u00a0x\u2003", "x"),
        ("lower", "ÄBC Déf", "äbc déf"),
        ("upper", "straße", "STRASSE"),
        ("title", "hello WORLD  foo-bar", "Hello World  Foo-Bar"),
        ("collapse_spaces", " a \t\n b  c ", " a b c "),
    ],
)
def test_simple_transforms(name: str, value: str, expected: str) -> None:
    assert transformed([name], [value, None]) == [expected, None]


def test_replace_with_groups_and_dollar() -> None:
    rule = {"replace": {"pattern": r"(\d{3})-(\d{4})", "with": "$1 $2 ($$)"}}
    assert transformed([rule], ["call 555-1234", "none"]) == ["call 555 1234 ($)", "none"]


def test_replace_removes_by_default() -> None:
    assert transformed([{"replace": {"pattern": "[^0-9]"}}], ["+49 (30) 123"]) == ["4930123"]


def test_map_keeps_unmapped_without_default() -> None:
    rule = {"map": {"values": {"A": "active", "I": "inactive", "N/A": None}}}
    assert transformed([rule], ["A", "I", "X", "N/A", None, ""]) == [
        "active",
        "inactive",
        "X",
        None,
        None,
        None,
    ]


def test_map_default_replaces_unmapped_but_not_null() -> None:
    rule = {"map": {"values": {"A": "active"}, "default": "other"}}
    assert transformed([rule], ["A", "B", None]) == ["active", "other", None]


def test_csvkit_style_blanks_through_map() -> None:
    """blanks.csv's NA, N/A, NONE, NULL and '.' all become empty with one map."""
    blanks = {k: None for k in ["NA", "N/A", "NONE", "NULL", "."]}
    assert (
        transformed([{"map": {"values": blanks}}], ["", "NA", "N/A", "NONE", "NULL", "."])
        == [None] * 6
    )


def test_transforms_run_in_order() -> None:
    mapping = {"map": {"values": {"yes": "Y"}}}
    assert transformed(["strip", "lower", mapping], [" YES "]) == ["Y"]
    assert transformed([mapping, "strip", "lower"], [" YES "]) == ["yes"]


def test_yaml_numbers_and_booleans_in_map_are_text() -> None:
    spec = parse_mapping(
        "target: {table: t}\n"
        "fields:\n"
        "  v:\n"
        "    transforms:\n"
        "      - map: {values: {1: one, 'true': 'yes', off: 0}, default: 2}\n",
        "m.yaml",
    )
    rule = spec.fields["v"].transforms[0]
    assert isinstance(rule, MapTransform)
    assert rule.map.values == {"1": "one", "true": "yes", "off": "0"}
    assert rule.map.default == "2"


def test_transform_empty_result_takes_default_or_fails_required() -> None:
    frame = pl.DataFrame({"v": ["-", "x"], "w": ["-", "y"]})
    spec = MappingSpec.model_validate(
        {
            "target": {"table": "t"},
            "fields": {
                "v": {"transforms": [{"replace": {"pattern": "^-$"}}], "default": "none"},
                "w": {"transforms": [{"map": {"values": {"-": ""}}}], "required": True},
            },
        }
    )
    out = compile_mapping(spec).apply(frame)
    assert out.good.select("v", "w").rows() == [("x", "y")]
    assert out.rejects["_error"].to_list() == ["w (w): required but empty"]


def test_transforms_apply_to_typed_values_only_for_string_fields() -> None:
    """A typed value bound for a string field is transformed as text; bound for a typed field
    it is cast directly and text transforms are skipped."""
    frame = pl.DataFrame({"n": [3.0, 4.5]})
    spec = MappingSpec.model_validate(
        {
            "target": {"table": "t"},
            "fields": {
                "label": {"from": "n", "transforms": [{"map": {"values": {"3": "three"}}}]},
                "number": {"from": "n", "type": "float", "transforms": ["upper"]},
            },
        }
    )
    out = compile_mapping(spec).apply(frame)
    assert out.good.select("label", "number").rows() == [("three", 3.0), ("4.5", 4.5)]


def test_apply_transforms_directly() -> None:
    steps: list[str | ReplaceTransform | MapTransform] = [
        "strip",
        ReplaceTransform(replace=ReplaceArgs(pattern="o+", with_="0")),
        MapTransform(map=MapArgs(values={"f0": "foo"})),
    ]
    frame = pl.DataFrame({"t": [" fooo ", " bar "]})
    assert frame.select(apply_transforms(pl.col("t"), steps))["t"].to_list() == ["foo", "bar"]


HELP = (
    "use one of strip, lower, upper, title, collapse_spaces, {replace: {pattern: REGEX, with: "
    "TEXT}}, {map: {values: {FROM: TO}, default: TEXT}}"
)


@pytest.mark.parametrize(
    ("yaml_rule", "message"),
    [
        ("[trim]", f"m.yaml:4: fields.v.transforms[0]: 'trim' is not a transform; {HELP}"),
        (
            "[strip, {lower: true}]",
            f'm.yaml:4: fields.v.transforms[1]: {{"lower": true}} is not a transform; {HELP}',
        ),
        (
            "[{replace: {pattern: '(a'}}]",
            "m.yaml:4: fields.v.transforms[0].replace.pattern: '(a' is not a valid regular "
            "expression: unclosed group",
        ),
        (
            "[{replace: {pattern: '(?<=a)b'}}]",
            "m.yaml:4: fields.v.transforms[0].replace.pattern: '(?<=a)b' is not a valid "
            "regular expression: look-around, including look-ahead and look-behind, is not "
            "supported",
        ),
        (
            "[{replace: {with: x}}]",
            "m.yaml:4: fields.v.transforms[0].replace.pattern: is required",
        ),
        (
            "[{map: {values: {a: b}, else: c}}]",
            "m.yaml:4: fields.v.transforms[0].map.else: 'else' is not a known key; allowed "
            "keys: values, default",
        ),
    ],
)
def test_transform_errors(yaml_rule: str, message: str) -> None:
    text = f"target: {{table: t}}\nfields:\n  v:\n    transforms: {yaml_rule}\n"
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, "m.yaml")
    assert str(caught.value) == message


def test_a_single_transform_may_be_written_without_a_list() -> None:
    spec = parse_mapping("target: {table: t}\nfields:\n  v: {transforms: strip}\n", "m.yaml")
    assert spec.fields["v"].transforms == ["strip"]
