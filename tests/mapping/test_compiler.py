"""The compiled mapping: schema, source columns, column checks, and apply (good + rejects)."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conveyor.mapping.checks
import conveyor.mapping.compiler
import conveyor.mapping.transforms
import conveyor.mapping.types
from conveyor.errors import MappingError
from conveyor.mapping.compiler import CompiledMapping, compile_mapping
from conveyor.mapping.spec import MappingSpec
from conveyor.schema import Column, TableSchema


def compiled(fields: dict[str, Any], **target: Any) -> CompiledMapping:
    spec = MappingSpec.model_validate(
        {"name": "people", "target": {"table": "people", **target}, "fields": fields}
    )
    return compile_mapping(spec)


def with_rows(data: dict[str, list[Any]], **schema: Any) -> pl.DataFrame:
    frame = pl.DataFrame(data, schema_overrides=schema)
    return frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias("__row"))


CONTACTS: dict[str, Any] = {
    "email": {
        "from": "E-mail",
        "transforms": ["strip", "lower"],
        "checks": {"email": True, "max_length": 100},
    },
    "amount": {"from": "Amount", "type": "decimal(12,2)", "decimal_separator": ","},
    "active": {"type": "boolean", "default": False},
    "signed_up": {"from": "Signup", "type": "date", "format": "%d/%m/%Y"},
    "city": {"from": "address.city"},
    "tags": {"type": "json"},
}


# ------------------------------------------------------------------------------- schema


def test_schema_follows_the_fields() -> None:
    mapping = compiled(CONTACTS, key=["email"])
    assert mapping.schema == TableSchema(
        name="people",
        columns=(
            Column("email", "string", max_length=100, nullable=False),
            Column("amount", "decimal", precision=12, scale=2),
            Column("active", "boolean"),
            Column("signed_up", "date"),
            Column("city", "string"),
            Column("tags", "json"),
        ),
        key=("email",),
    )


def test_source_columns_once_each_in_field_order_without_exprs() -> None:
    mapping = compiled(
        {
            "a": {"from": "X"},
            "b": {"from": "address.city"},
            "c": {"from": "X", "transforms": ["upper"]},
            "d": {},
            "e": {"expr": "concat(a, d)"},
        }
    )
    assert mapping.source_columns() == ["X", "address.city", "d"]


# ------------------------------------------------------------------------ check_columns


def test_check_columns_csv_lists_missing_and_suggests() -> None:
    mapping = compiled(CONTACTS)
    available = ["e-mail", "Amount", "Active", "Signup", "addr.city", "__row"]
    with pytest.raises(MappingError) as caught:
        mapping.check_columns(available, "csv", source="data/people.csv")
    assert str(caught.value) == (
        "data/people.csv: column 'E-mail' (for field email) of mapping 'people' is not in the "
        "file; did you mean 'e-mail'?\n"
        "data/people.csv: column 'active' (for field active) of mapping 'people' is not in the "
        "file; did you mean 'Active'?\n"
        "data/people.csv: column 'address.city' (for field city) of mapping 'people' is not in "
        "the file; did you mean 'addr.city'?\n"
        "data/people.csv: column 'tags' (for field tags) of mapping 'people' is not in the file\n"
        "data/people.csv: the file's columns: 'e-mail', 'Amount', 'Active', 'Signup', "
        "'addr.city'"
    )


def test_check_columns_names_every_field_of_a_column() -> None:
    mapping = compiled({"a": {"from": "X"}, "b": {"from": "X"}})
    with pytest.raises(MappingError) as caught:
        mapping.check_columns(["Y"], "xlsx")
    assert str(caught.value) == (
        "column 'X' (for fields a, b) of mapping 'people' is not in the file\n"
        "the file's columns: 'Y'"
    )


def test_check_columns_passes_and_ignores_json_xml() -> None:
    mapping = compiled(CONTACTS)
    mapping.check_columns(["E-mail", "Amount", "active", "Signup", "address.city", "tags"], "csv")
    mapping.check_columns([], "json")
    mapping.check_columns(["other"], "xml")


# -------------------------------------------------------------------------------- apply


def test_apply_splits_good_and_rejects_with_every_reason() -> None:
    frame = with_rows(
        {
            "E-mail": [" Ann@Example.COM ", "bad", None, "bo@x.org"],
            "Amount": ["12,50", "12,x", "1", ""],
            "active": ["yes", "maybe", "", None],
            "Signup": ["31/01/2024", "31/02/2024", "01/01/1900", None],
            "address.city": ["Berlin", None, "Oslo", ""],
            "tags": ['["a"]', "[", None, "{}"],
            "unused": ["u1", "u2", "u3", "u4"],
        }
    )
    out = compiled(CONTACTS, key=["email"]).apply(frame)
    assert out.good.schema == pl.Schema(
        {
            "email": pl.String(),
            "amount": pl.Decimal(12, 2),
            "active": pl.Boolean(),
            "signed_up": pl.Date(),
            "city": pl.String(),
            "tags": pl.String(),
            "__row": pl.Int64(),
            "__sheet": pl.String(),
            "__seq": pl.Int64(),
        }
    )
    assert out.good.rows() == [
        (
            "ann@example.com",
            Decimal("12.50"),
            True,
            date(2024, 1, 31),
            "Berlin",
            '["a"]',
            2,
            None,
            None,
        ),
        ("bo@x.org", None, False, None, None, "{}", 5, None, None),
    ]
    assert out.rejects.columns == [*frame.columns[:-1], "__row", "__sheet", "__seq", "_error"]
    assert out.rejects.drop("_error", "__sheet", "__seq").rows() == [
        ("bad", "12,x", "maybe", "31/02/2024", None, "[", "u2", 3),
        (None, "1", "", "01/01/1900", "Oslo", None, "u3", 4),
    ]
    assert out.rejects["_error"].to_list() == [
        "email (E-mail): 'bad' is not an email address; "
        "amount (Amount): '12,x' is not a decimal(12,2); "
        "active (active): 'maybe' is not a boolean (true, t, yes, y, 1 / false, f, no, n, 0); "
        "signed_up (Signup): '31/02/2024' is not a date in format %d/%m/%Y; "
        "tags (tags): '[' is not valid JSON",
        "email (E-mail): required but empty",
    ]


def test_internal_columns_are_carried_and_typed() -> None:
    frame = pl.DataFrame(
        {
            "v": ["1", "x"],
            "__row": pl.Series([7, 8], dtype=pl.Int32),
            "__sheet": ["S1", "S2"],
            "__seq": [100, 101],
        }
    )
    out = compiled({"v": {"type": "integer"}}).apply(frame)
    assert out.good.rows() == [(1, 7, "S1", 100)]
    assert out.rejects.schema == pl.Schema(
        {
            "v": pl.String(),
            "__row": pl.Int64(),
            "__sheet": pl.String(),
            "__seq": pl.Int64(),
            "_error": pl.String(),
        }
    )
    assert out.rejects.rows() == [("x", 8, "S2", 101, "v (v): 'x' is not an integer")]


def test_rejects_keep_original_dtypes_and_replace_an_old_error_column() -> None:
    frame = with_rows({"n": [1.5, 2.0], "when": [date(2024, 1, 1)] * 2, "_error": ["old", "old"]})
    out = compiled({"n": {"type": "integer"}, "when": {"type": "date"}}).apply(frame)
    assert out.rejects.schema["n"] == pl.Float64()
    assert out.rejects.schema["when"] == pl.Date()
    assert out.rejects.columns == ["n", "when", "__row", "__sheet", "__seq", "_error"]
    assert out.rejects["_error"].to_list() == ["n (n): '1.5' is not an integer"]


def test_key_fields_are_required() -> None:
    out = compiled({"id": {"type": "integer"}, "v": {}}, key=["id"]).apply(
        with_rows({"id": ["1", "", None], "v": ["a", "b", "c"]})
    )
    assert out.good["id"].to_list() == [1]
    assert out.rejects["_error"].to_list() == ["id (id): required but empty"] * 2


def test_required_is_satisfied_by_a_default() -> None:
    out = compiled({"v": {"type": "integer", "required": True, "default": 0}}).apply(
        with_rows({"v": ["", "5"]})
    )
    assert out.good["v"].to_list() == [0, 5]


def test_absent_columns_read_as_null() -> None:
    """json/xml records may lack a key altogether; the column is then null."""
    out = compiled({"a": {}, "b": {"from": "x.y", "type": "integer"}}).apply(
        with_rows({"a": ["1"]})
    )
    assert out.good.rows() == [("1", None, 2, None, None)]


def test_dotted_from_reads_the_flattened_column() -> None:
    out = compiled({"city": {"from": "address.city", "transforms": ["upper"]}}).apply(
        with_rows({"address.city": ["oslo"], "address": ["ignored"]})
    )
    assert out.good["city"].to_list() == ["OSLO"]


def test_target_names_may_reuse_other_source_column_names() -> None:
    out = compiled({"a": {"from": "b"}, "b": {"from": "a", "type": "integer"}}).apply(
        with_rows({"a": ["1"], "b": ["x"]})
    )
    assert out.good.select("a", "b").rows() == [("x", 1)]


def test_typed_source_columns_xlsx_style() -> None:
    frame = with_rows(
        {
            "id": [1.0, 2.0, 3.5],
            "name": ["Ann", "Bo", "Cy"],
            "joined": [datetime(2024, 1, 31, 9, 30), datetime(2024, 2, 1), None],
            "vip": [True, None, False],
            "score": [1, 2, 3],
        }
    )
    fields = {
        "id": {"type": "integer"},
        "name": {},
        "joined": {"type": "date"},
        "joined_at": {"from": "joined", "type": "datetime", "timezone": "Europe/Oslo"},
        "vip": {"type": "boolean"},
        "score": {"type": "decimal(5,1)"},
    }
    out = compiled(fields).apply(frame)
    assert out.good.drop("__row", "__sheet", "__seq").rows() == [
        (
            1,
            "Ann",
            date(2024, 1, 31),
            datetime(2024, 1, 31, 8, 30, tzinfo=UTC),
            True,
            Decimal("1.0"),
        ),
        (2, "Bo", date(2024, 2, 1), datetime(2024, 1, 31, 23, tzinfo=UTC), None, Decimal("2.0")),
    ]
    assert out.rejects["_error"].to_list() == ["id (id): '3.5' is not an integer"]


def test_nested_source_values_are_a_mapping_error() -> None:
    frame = pl.DataFrame({"v": [[1, 2]], "__row": [2]})
    with pytest.raises(MappingError) as caught:
        compiled({"v": {}}).apply(frame)
    assert str(caught.value) == (
        "mapping 'people': column 'v' holds List(Int64) values; field 'v' needs plain values "
        "(flatten nested data in the source)"
    )


def test_empty_batch() -> None:
    out = compiled(CONTACTS).apply(pl.DataFrame({"E-mail": pl.Series([], dtype=pl.String)}))
    assert out.good.height == 0
    assert out.rejects.height == 0
    assert out.good.columns[:6] == list(CONTACTS)
    assert out.rejects.columns == ["E-mail", "__row", "__sheet", "__seq", "_error"]


# --------------------------------------------------------------------------------- expr


def test_expr_fields_compute_over_target_fields() -> None:
    fields = {
        "first": {"from": "First", "transforms": ["strip"]},
        "last": {"from": "Last"},
        "price": {"type": "decimal(10,2)"},
        "qty": {"type": "integer"},
        "full_name": {"expr": "concat_ws(' ', first, last)", "required": True},
        "total": {"type": "decimal(12,2)", "expr": "price * qty"},
        "big": {"type": "boolean", "expr": "total > 100"},
        "label": {"expr": "CASE WHEN big THEN upper(full_name) ELSE full_name END"},
        "qty_text": {"type": "integer", "expr": "CAST(qty AS VARCHAR) || '0'"},
    }
    frame = with_rows(
        {
            "First": [" Ann ", None],
            "Last": ["Lee", None],
            "price": ["60.50", "1"],
            "qty": ["2", "3"],
        }
    )
    out = compiled(fields).apply(frame)
    assert out.good.select(*list(fields)[4:]).rows() == [
        ("Ann Lee", Decimal("121.00"), True, "ANN LEE", 20),
    ]
    assert out.good.schema["total"] == pl.Decimal(12, 2)
    assert out.rejects["_error"].to_list() == ["full_name (expr): required but empty"]


def test_expr_result_is_cast_and_checked_like_a_source_value() -> None:
    fields = {
        "a": {},
        "n": {"type": "integer", "expr": "a", "checks": {"max": 10}},
    }
    out = compiled(fields).apply(with_rows({"a": ["5", "x", "11"]}))
    assert out.good["n"].to_list() == [5]
    assert out.rejects["_error"].to_list() == [
        "n (expr): 'x' is not an integer",
        "n (expr): '11' is greater than the maximum 10",
    ]


def test_no_python_runs_per_row() -> None:
    for module in (
        conveyor.mapping.compiler,
        conveyor.mapping.types,
        conveyor.mapping.checks,
        conveyor.mapping.transforms,
    ):
        source = inspect.getsource(module)
        assert "map_elements" not in source
        assert "map_batches" not in source


# ------------------------------------------------------------------------------ counts


TYPES = ["string", "integer", "decimal(6,2)", "float", "boolean", "date", "datetime", "json"]


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=12),
            st.sampled_from(["1", "1.5", "-0", "yes", "2024-02-29", "2024-01-01T10:00:00Z", "{}"]),
        ),
        max_size=30,
    ),
    kind=st.sampled_from(TYPES),
    required=st.booleans(),
)
def test_good_plus_rejects_is_every_row(
    values: list[str | None], kind: str, required: bool
) -> None:
    fields = {
        "v": {"from": "V", "type": kind, "required": required, "transforms": ["strip"]},
        "s": {"from": "V", "checks": {"max_length": 5}},
        "e": {"expr": "s"},
    }
    frame = with_rows({"V": values}, V=pl.String)
    out = compiled(fields).apply(frame)
    assert out.good.height + out.rejects.height == frame.height
    rows = sorted(out.good["__row"].to_list() + out.rejects["__row"].to_list())
    assert rows == frame["__row"].to_list()
    assert out.rejects["_error"].null_count() == 0
    assert all(reason for reason in out.rejects["_error"])
    assert (
        out.rejects["V"].to_list()
        == frame.filter(pl.col("__row").is_in(out.rejects["__row"].to_list()))["V"].to_list()
    )
    assert out.good.schema["v"] == compiled(fields).schema.column("v").polars_dtype()
