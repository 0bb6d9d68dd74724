"""The mapping spec and its files: validation, error messages, lookup, dump and hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from conveyor.errors import MappingError
from conveyor.formats.base import SourceOptions
from conveyor.mapping.loader import (
    available_mappings,
    dump_mapping,
    load_mapping,
    parse_mapping,
    spec_hash,
)
from conveyor.mapping.spec import DedupeSpec, FieldSpec, MappingSpec, TargetSpec
from conveyor.mapping.transforms import MapTransform
from conveyor.mapping.types import FieldType

# The documented example (briefs/spec.md), made loadable: its `checks` block lists every
# check on one string field, and full_name's expr names two fields it does not declare.
DOCUMENTED = """\
name: contacts                 # optional; default: the file's stem
source:
  format: csv
  encoding: utf-8
  delimiter: ","
  header_row: 1
target:
  table: contacts
  key: [email]
  mode: upsert
dedupe:
  strategy: last
  trim: true
  ignore_case: false
fields:
  email:
    from: "E-mail Address"
    type: string
    transforms: [strip, lower]
    default: null
    required: true
    checks:
      regex: "^.+@.+$"
      email: true
      allowed: [a@b.co, c@d.org]
      max_length: 200
  amount:
    from: Amount
    type: decimal(12,2)
    decimal_separator: ","
    thousands_separator: "."
    checks:
      min: 0
      max: 100
  active:
    type: boolean
    true_values: [yes, y, "true", "1"]
    false_values: [no, n, "false", "0"]
  signed_up:
    type: date
    format: "%d/%m/%Y"
  updated_at:
    type: datetime
    format: "%Y-%m-%d %H:%M:%S"
    timezone: Europe/Berlin
  first_name: {}
  last_name:
    transforms:
      - {replace: {pattern: "\\\\s+", with: " "}}
      - {map: {values: {"-": null}, default: "x"}}
  full_name:
    type: string
    expr: "concat_ws(' ', first_name, last_name)"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str, origin: str = "m.yaml") -> str:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, origin)
    return str(caught.value)


# ------------------------------------------------------------------------------ loading


def test_documented_example_loads(tmp_path: Path) -> None:
    spec = load_mapping(write(tmp_path, "contacts.yaml", DOCUMENTED))
    assert spec.name == "contacts"
    assert spec.source == SourceOptions(format="csv", encoding="utf-8", delimiter=",")
    assert spec.target == TargetSpec(table="contacts", key=["email"], mode="upsert")
    assert spec.dedupe == DedupeSpec()
    assert list(spec.fields) == [
        "email",
        "amount",
        "active",
        "signed_up",
        "updated_at",
        "first_name",
        "last_name",
        "full_name",
    ]
    assert spec.fields["amount"].type == FieldType("decimal", 12, 2)
    assert spec.fields["active"].true_values == ["yes", "y", "true", "1"]  # YAML 1.2: text
    assert spec.fields["active"].false_values == ["no", "n", "false", "0"]
    assert spec.fields["email"].from_ == "E-mail Address"
    assert spec.source_column("email") == "E-mail Address"
    assert spec.source_column("first_name") == "first_name"
    assert spec.source_column("full_name") is None
    assert isinstance(spec.fields["last_name"].transforms[1], MapTransform)
    assert spec.effective_mode == "upsert"


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.yml", "target: {table: orders}\nfields: {id: }\n")
    assert load_mapping(path).name == "orders"
    named = write(tmp_path, "x.yaml", "name: other\ntarget: {table: t}\nfields: {id: }\n")
    assert load_mapping(named).name == "other"


def test_bare_names_are_looked_up_in_the_search_dirs(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write(second, "orders.yml", "target: {table: orders}\nfields: {id: }\n")
    write(first, "contacts.yaml", "target: {table: contacts}\nfields: {id: }\n")
    assert load_mapping("orders", [first, second]).target.table == "orders"
    assert load_mapping("contacts", [first, second]).target.table == "contacts"
    assert available_mappings([first, second]) == ["contacts", "orders"]


def test_unknown_name_lists_the_available_mappings(tmp_path: Path) -> None:
    write(tmp_path, "contacts.yaml", "target: {table: c}\nfields: {id: }\n")
    write(tmp_path, "orders.yaml", "target: {table: o}\nfields: {id: }\n")
    with pytest.raises(MappingError) as caught:
        load_mapping("contact", [tmp_path])
    assert str(caught.value) == (
        f"no mapping named 'contact' in {tmp_path} (did you mean 'contacts'?); "
        "available: contacts, orders"
    )
    with pytest.raises(MappingError) as caught:
        load_mapping("zzz", [tmp_path / "none"])
    assert str(caught.value) == f"no mapping named 'zzz' in {tmp_path / 'none'}; available: none"


def test_missing_file_and_bad_bytes(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: no such mapping file"
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(MappingError) as caught:
        load_mapping(bad)
    assert str(caught.value) == f"{bad}: not UTF-8 text (byte 9)"


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbftarget: {table: t}\nfields: {id: }\n")
    assert load_mapping(path).target.table == "t"


# ------------------------------------------------------------------------- YAML errors


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "target:\n  table: t\n fields: x\n")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert str(caught.value) == (
        f"{path}:3:2: YAML syntax error: expected <block end>, but found '<block mapping "
        "start>' (while parsing a block mapping)"
    )


def test_duplicate_keys_are_errors() -> None:
    text = "target: {table: t}\nfields:\n  a: {}\n  b: {}\n  a: {type: integer}\n"
    assert error_of(text) == "m.yaml:5:3: key 'a' appears twice, first on line 3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "m.yaml: the file is empty; a mapping needs at least target and fields"),
        (
            "- a\n",
            'm.yaml:1: a mapping file holds keys (name, source, target, dedupe, fields), not ["a"]',
        ),
        ("fields: {a: }\n", "m.yaml:1: target: is required"),
        ("target: {table: t}\n", "m.yaml:1: fields: is required"),
        ("target: {table: t}\nfields: {}\n", "m.yaml:2: fields: must not be empty"),
    ],
)
def test_document_shape_errors(text: str, message: str) -> None:
    assert error_of(text) == message


TYPE_HELP = (
    "use one of string, integer, decimal(p,s) with p <= 38, float, boolean, date, datetime, json"
)
FIELD_KEYS = (
    "from, type, decimal_separator, thousands_separator, true_values, false_values, format, "
    "formats, timezone, transforms, default, required, checks, expr"
)


def test_every_problem_is_one_line_naming_file_line_and_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "contacts.yaml",
        """\
target:
  table: contacts
  mode: merge
dedupe: {strategy: newest}
source: {delimeter: ";"}
fields:
  email:
    tpye: string
  amount:
    type: decimal(40,2)
  flag:
    type: boolean
    checks:
      min: 1
  ok:
    required: maybe
""",
    )
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert str(caught.value).splitlines() == [
        f"{path}:5: source.delimeter: 'delimeter' is not a known key (did you mean "
        "'delimiter'?); allowed keys: format, encoding, delimiter, quote_char, sheet, "
        "header_row, record_path, namespaces, flatten_depth, batch_size",
        f"{path}:3: target.mode: 'merge' is not allowed; use one of insert, upsert, "
        "update_only, delete or replace",
        f"{path}:4: dedupe.strategy: 'newest' is not allowed; use one of first, last, error or "
        "merge",
        f"{path}:8: fields.email.tpye: 'tpye' is not a known key (did you mean 'type'?); "
        f"allowed keys: {FIELD_KEYS}",
        f"{path}:10: fields.amount.type: 'decimal(40,2)' is not a type; {TYPE_HELP}",
        f"{path}:14: fields.flag.checks.min: min does not apply to a boolean field; it takes: "
        "allowed",
        f"{path}:16: fields.ok.required: expected true or false, got 'maybe'",
    ]


def test_cross_field_problems() -> None:
    text = """\
target: {table: t, key: [id, emial, id], mode: update_only}
dedupe: {ignore_case: [id]}
fields:
  id: {type: integer}
  email: {}
  Email: {}
  bad-name: {}
  __hidden: {}
  x%s: {}
""" % ("y" * 70)
    assert error_of(text).splitlines() == [
        "m.yaml:6: fields.Email: 'Email' differs from 'email' only by case; databases treat "
        "them as one column",
        "m.yaml:7: fields['bad-name']: 'bad-name' is not a valid field name; use letters, "
        "digits and underscores",
        "m.yaml:8: fields.__hidden: '__hidden' is not a valid field name; names starting with "
        "'__' are reserved",
        f"m.yaml:9: fields.x{'y' * 70}: 'x{'y' * 70}' is too long for a field name (at most 63 "
        "characters)",
        "m.yaml:1: target.key[1]: 'emial' is not a field; fields: id, email, Email, bad-name, "
        f"__hidden, x{'y' * 70}; did you mean 'email'?",
        "m.yaml:1: target.key[2]: 'id' is listed twice",
        "m.yaml:2: dedupe.ignore_case[0]: 'id' is not a string field; only text keys can "
        "ignore case",
    ]


@pytest.mark.parametrize(
    ("target", "dedupe", "message"),
    [
        (
            "{table: t, mode: upsert}",
            "",
            "m.yaml:1: target.mode: upsert needs target.key (the field(s) that identify a record)",
        ),
        (
            "{table: t}",
            "dedupe: {strategy: first}\n",
            "m.yaml:2: dedupe: dedupe works by the target key; set target.key or remove dedupe",
        ),
        (
            "{table: t, key: [a]}",
            "dedupe: {ignore_case: [b]}\n",
            "m.yaml:2: dedupe.ignore_case[0]: 'b' is not a key field; key: a",
        ),
        (
            "{table: 'my table'}",
            "",
            "m.yaml:1: target.table: 'my table' is not a valid table "
            "name; use letters, digits and underscores",
        ),
    ],
)
def test_target_and_dedupe_rules(target: str, dedupe: str, message: str) -> None:
    text = f"target: {target}\n{dedupe}fields: {{a: {{}}, b: {{}}}}\n"
    assert error_of(text) == message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "{type: integer, format: '%Y'}",
            "fields.v.format: applies only to date or datetime fields, not integer",
        ),
        (
            "{type: date, timezone: UTC}",
            "fields.v.timezone: applies only to datetime fields, not date",
        ),
        (
            "{type: string, decimal_separator: ','}",
            "fields.v.decimal_separator: applies only to integer, decimal or float fields, "
            "not string",
        ),
        (
            "{type: float, decimal_separator: ',', thousands_separator: ','}",
            "fields.v.thousands_separator: must differ from decimal_separator",
        ),
        (
            "{type: float, decimal_separator: ',,'}",
            "fields.v.decimal_separator: ',,' is not a separator; use one character such as "
            "'.', ',', ' ' or \"'\"",
        ),
        (
            "{type: boolean, true_values: [ja, y], false_values: [nein, Y]}",
            "fields.v.false_values: y cannot be both true and false",
        ),
        (
            "{type: boolean, true_values: []}",
            "fields.v.true_values: needs at least one word, none of them empty",
        ),
        (
            "{type: datetime, timezone: Mars/Olympus}",
            "fields.v.timezone: 'Mars/Olympus' is not a time zone; use an IANA name such as "
            "Europe/Berlin or UTC",
        ),
        (
            "{type: date, format: '%d/%m/%Y', formats: ['%Y-%m-%d']}",
            "fields.v.formats: give either format or formats, not both",
        ),
        (
            "{type: date, formats: ['%Y-%m-%d', '%m/%Y']}",
            "fields.v.formats[1]: '%m/%Y' does not give a full date: it needs the year, month "
            "and day",
        ),
        (
            "{type: integer, default: 1.5}",
            "fields.v.default: does not fit integer: '1.5' is not an integer",
        ),
        (
            "{type: date, default: 31.02.2024}",
            "fields.v.default: does not fit date: '31.02.2024' is not an ISO 8601 date",
        ),
        (
            "{default: ''}",
            "fields.v.default: does not fit string: '' is empty, which means no value",
        ),
        (
            "{from: x, expr: a}",
            "fields.v.expr: expr and from are exclusive: an expr field reads no source column",
        ),
        ("{type: money}", f"fields.v.type: 'money' is not a type; {TYPE_HELP}"),
    ],
)
def test_field_rules(rule: str, message: str) -> None:
    text = f"target: {{table: t}}\nfields:\n  a: {{type: integer}}\n  v: {rule}\n"
    assert error_of(text) == f"m.yaml:4: {message}"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("after + 1", "refers to 'after', an expr field declared later; declare it before 'v'"),
        ("v + 1", "refers to its own field 'v'"),
        (
            "amout * 2",
            "refers to 'amout', which is not a field (an expr reads target fields, not source "
            "columns); fields: amount, later; did you mean 'amount'?",
        ),
        (
            "sum(amount)",
            "'sum(amount)' must give one value per row (aggregates such as sum() are not allowed)",
        ),
        (
            "nosuch(amount)",
            "'nosuch(amount)' is not a valid SQL expression: unsupported function 'nosuch'",
        ),
        (
            "amount +",
            "'amount +' is not a valid SQL expression: unable to parse 'amount +' as Expr",
        ),
    ],
)
def test_expr_rules(expr: str, message: str) -> None:
    text = (
        "target: {table: t}\nfields:\n  amount: {type: integer}\n"
        f"  v:\n    expr: '{expr}'\n  later: {{type: integer}}\n  after: {{expr: amount}}\n"
    )
    assert error_of(text) == f"m.yaml:5: fields.v.expr: {message}"


def test_expr_may_use_earlier_exprs_and_constants() -> None:
    text = (
        "target: {table: t}\nfields:\n  a: {type: integer}\n  b: {type: integer, expr: a + 1}\n"
        "  c: {type: integer, expr: b * 2}\n  d: {expr: \"'fixed'\"}\n"
    )
    assert list(parse_mapping(text).fields) == ["a", "b", "c", "d"]


def test_yaml_12_scalars() -> None:
    text = """\
target: {table: t}
fields:
  country: {checks: {allowed: [no, on, 010, 1e3, 0x1F]}}
  a: {default: 2024-01-31}
  b: {type: integer, default: 010}
"""
    spec = parse_mapping(text)
    assert spec.fields["country"].checks.allowed == ["no", "on", 10, 1000.0, 31]
    assert spec.fields["a"].default == "2024-01-31"
    assert spec.fields["b"].default == 10


def test_lenient_shorthands() -> None:
    spec = parse_mapping("target: {table: t, key: 2024}\nfields:\n  2024: {from: 1999}\n  b:\n")
    assert spec.target.key == ["2024"]
    assert spec.fields["2024"].from_ == "1999"
    assert spec.fields["b"] == FieldSpec()


# ------------------------------------------------------------------------- python side


def test_python_construction_and_readable_validation_errors() -> None:
    spec = MappingSpec(
        target=TargetSpec(table="t", key=["id"]),
        fields={"id": FieldSpec(type=FieldType("integer")), "name": FieldSpec(from_="Name")},
    )
    assert spec.effective_mode == "upsert"
    assert spec.source_column("name") == "Name"
    with pytest.raises(ValidationError) as caught:
        MappingSpec(target=TargetSpec(table="t", key=["nope"]), fields={"id": FieldSpec()})
    assert "target.key[0]: 'nope' is not a field; fields: id" in str(caught.value)


@pytest.mark.parametrize(
    ("target", "mode"),
    [
        ({"table": "t"}, "insert"),
        ({"table": "t", "key": ["a"]}, "upsert"),
        ({"table": "t", "key": ["a"], "mode": "insert"}, "insert"),
        ({"table": "t", "key": ["a"], "mode": "update_only"}, "update_only"),
    ],
)
def test_effective_mode(target: dict[str, object], mode: str) -> None:
    spec = MappingSpec.model_validate({"target": target, "fields": {"a": {}}})
    assert spec.effective_mode == mode


# --------------------------------------------------------------------------- dump, hash


def test_dump_round_trips_the_documented_example() -> None:
    spec = parse_mapping(DOCUMENTED)
    dumped = dump_mapping(spec)
    assert parse_mapping(dumped) == spec
    assert dump_mapping(parse_mapping(dumped)) == dumped


def test_dump_is_clean_and_ordered() -> None:
    spec = parse_mapping(
        """\
fields:
  when: {format: '%d/%m/%Y', type: date, required: false}
  id: {type: integer, transforms: [strip], from: ID}
  amount: {type: 'decimal(12,2)', checks: {max: 10, min: 0}}
  flag: {type: boolean, true_values: ['yes', 'on'], false_values: ['no', 'off']}
  code: {transforms: [{map: {values: {'1e3': '0o17', 'null': 'true'}}}]}
dedupe: {strategy: last, trim: true}
target: {mode: upsert, key: [id], table: orders}
name: orders
source: {format: csv, header_row: 1}
"""
    )
    assert (
        dump_mapping(spec)
        == """\
name: orders
source: {format: csv}
target:
  table: orders
  key: [id]
  mode: upsert
fields:
  when: {type: date, format: '%d/%m/%Y'}
  id:
    from: ID
    type: integer
    transforms: [strip]
  amount:
    type: decimal(12,2)
    checks: {min: 0, max: 10}
  flag:
    type: boolean
    true_values: ['yes', 'on']
    false_values: ['no', 'off']
  code:
    transforms:
    - map:
        values: {'1e3': '0o17', 'null': 'true'}
"""
    )
    assert parse_mapping(dump_mapping(spec)) == spec


def test_spec_hash_is_semantic() -> None:
    base = parse_mapping("target: {table: t}\nfields: {a: {}, b: {type: integer}}\n")
    digest = spec_hash(base)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    same = parse_mapping(
        "target:\n  table: t\n  key: []\nsource: {header_row: 1}\n"
        "fields:\n  a: {type: string, required: false}\n  b:\n    type: integer\n"
    )
    assert spec_hash(same) == digest
    reordered = parse_mapping("target: {table: t}\nfields: {b: {type: integer}, a: {}}\n")
    assert spec_hash(reordered) != digest
    changed = parse_mapping("target: {table: t}\nfields: {a: {}, b: {type: float}}\n")
    assert spec_hash(changed) != digest
    assert spec_hash(parse_mapping(DOCUMENTED)) == spec_hash(
        parse_mapping(dump_mapping(parse_mapping(DOCUMENTED)))
    )
