"""In-file dedupe: exact results per strategy and the count invariant on random frames."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.mapping.dedupe import DedupeCounts, DedupeResult, DedupeStrategy, dedupe

STRATEGIES: tuple[DedupeStrategy, ...] = ("first", "last", "error", "merge")
REJECTS_SCHEMA = pl.Schema({"__row": pl.Int64, "__sheet": pl.String, "_error": pl.String})


def frame(data: dict[str, list[Any]], schema: dict[str, pl.DataType] | None = None) -> pl.LazyFrame:
    """Mapped rows in arrival order: ``__row`` = position + 2 (after a header), ``__seq``."""
    n = len(next(iter(data.values())))
    internal: dict[str, list[Any]] = {
        "__row": [i + 2 for i in range(n)],
        "__sheet": [None] * n,
        "__seq": list(range(n)),
    }
    full = {**internal, **data}  # data may override the internal columns
    overrides = {"__row": pl.Int64(), "__sheet": pl.String(), "__seq": pl.Int64()}
    return pl.LazyFrame(full, schema_overrides={**overrides, **(schema or {})})


def kept_rows(result: DedupeResult, *columns: str) -> list[tuple[Any, ...]]:
    return result.kept.select(columns).collect(engine="streaming").rows()


def rejects(result: DedupeResult) -> list[tuple[Any, ...]]:
    return result.rejected.collect(engine="streaming").rows()


# --- first / last -----------------------------------------------------------------------------


def test_first_keeps_the_earliest_row_of_each_key() -> None:
    lf = frame({"email": ["a@x", "b@x", "a@x", "c@x", "b@x"], "n": [1, 2, 3, 4, 5]})
    result = dedupe(lf, ["email"], "first")
    assert kept_rows(result, "email", "n", "__row") == [
        ("a@x", 1, 2),
        ("b@x", 2, 3),
        ("c@x", 4, 5),
    ]
    assert rejects(result) == []
    assert result.counts() == DedupeCounts(kept=3, dropped=2, rejected=0)


def test_last_keeps_the_latest_row_of_each_key_in_arrival_order() -> None:
    lf = frame({"email": ["a@x", "b@x", "a@x", "c@x", "b@x"], "n": [1, 2, 3, 4, 5]})
    result = dedupe(lf, ["email"], "last")
    assert kept_rows(result, "email", "n", "__seq") == [
        ("a@x", 3, 2),
        ("c@x", 4, 3),
        ("b@x", 5, 4),
    ]
    assert result.counts() == DedupeCounts(kept=3, dropped=2, rejected=0)


def test_kept_rows_keep_the_input_order_which_is_seq_order() -> None:
    lf = frame({"k": ["z", "y", "x", "x"], "__seq": [0, 10, 20, 30]})
    assert kept_rows(dedupe(lf, ["k"], "first"), "k", "__seq") == [("z", 0), ("y", 10), ("x", 20)]
    assert kept_rows(dedupe(lf, ["k"], "last"), "k", "__seq") == [("z", 0), ("y", 10), ("x", 30)]


def test_composite_key_compares_every_field() -> None:
    lf = frame({"a": ["x", "x", "x", "y"], "b": [1, 2, 1, 1], "v": ["p", "q", "r", "s"]})
    result = dedupe(lf, ["a", "b"], "last")
    assert kept_rows(result, "a", "b", "v") == [("x", 2, "q"), ("x", 1, "r"), ("y", 1, "s")]
    assert result.counts() == DedupeCounts(kept=3, dropped=1, rejected=0)


# --- normalisation ----------------------------------------------------------------------------


def test_trim_is_on_by_default_and_the_kept_row_keeps_its_spaces() -> None:
    lf = frame({"k": [" a", "a ", "\ta\t", "b"]})
    assert kept_rows(dedupe(lf, ["k"], "first"), "k") == [(" a",), ("b",)]
    assert kept_rows(dedupe(lf, ["k"], "last"), "k") == [("\ta\t",), ("b",)]


def test_trim_false_compares_values_as_they_are() -> None:
    lf = frame({"k": [" a", "a ", "a", "a"]})
    result = dedupe(lf, ["k"], "first", trim=False)
    assert kept_rows(result, "k") == [(" a",), ("a ",), ("a",)]
    assert result.counts() == DedupeCounts(kept=3, dropped=1, rejected=0)


def test_case_is_significant_by_default() -> None:
    lf = frame({"k": ["Ab", "ab", "AB"]})
    assert dedupe(lf, ["k"], "first").counts() == DedupeCounts(kept=3, dropped=0, rejected=0)


def test_ignore_case_true_folds_every_string_key_field() -> None:
    lf = frame({"a": ["X", "x", "x"], "b": ["Q", "q", "r"], "n": [1, 1, 1]})
    result = dedupe(lf, ["a", "b", "n"], "first", ignore_case=True)
    assert kept_rows(result, "a", "b") == [("X", "Q"), ("x", "r")]


def test_ignore_case_list_folds_only_the_listed_fields() -> None:
    lf = frame({"code": ["AB", "ab", "AB", "ab"], "email": ["A@x", "a@X", "a@x ", "a@x"]})
    result = dedupe(lf, ["code", "email"], "first", ignore_case=["email"])
    assert kept_rows(result, "code", "email", "__row") == [("AB", "A@x", 2), ("ab", "a@X", 3)]
    assert result.counts() == DedupeCounts(kept=2, dropped=2, rejected=0)


def test_accented_capitals_fold_too() -> None:
    lf = frame({"k": ["ÉLAN", "élan", "Élan"]})
    result = dedupe(lf, ["k"], "last", ignore_case=["k"])
    assert kept_rows(result, "k") == [("Élan",)]


def test_non_string_keys_are_compared_as_they_are() -> None:
    lf = frame(
        {
            "d": [date(2024, 1, 2), date(2024, 1, 2), date(2024, 1, 3)],
            "amount": [Decimal("1.50"), Decimal("1.5"), Decimal("1.50")],
        },
        {"amount": pl.Decimal(10, 2)},
    )
    result = dedupe(lf, ["d", "amount"], "first", ignore_case=True)
    assert kept_rows(result, "d", "__row") == [(date(2024, 1, 2), 2), (date(2024, 1, 3), 4)]


# --- error ------------------------------------------------------------------------------------


def test_error_rejects_every_row_of_a_duplicated_key() -> None:
    lf = frame({"email": ["a@x.org", "b@x.org", "c@x.org", "a@x.org", "c@x.org"]})
    result = dedupe(lf, ["email"], "error")
    assert kept_rows(result, "email") == [("b@x.org",)]
    assert rejects(result) == [
        (2, None, "duplicate key email='a@x.org': rows 2, 5 share it"),
        (4, None, "duplicate key email='c@x.org': rows 4, 6 share it"),
        (5, None, "duplicate key email='a@x.org': rows 2, 5 share it"),
        (6, None, "duplicate key email='c@x.org': rows 4, 6 share it"),
    ]
    assert result.counts() == DedupeCounts(kept=1, dropped=0, rejected=4)


def test_error_message_names_sheets_and_the_first_spelling_of_the_key() -> None:
    lf = frame(
        {
            "email": [" A@x.org", "b@x.org", "a@x.org"],
            "__sheet": ["Sheet1", "Sheet1", "Other"],
            "__row": [2, 3, 7],
        }
    )
    result = dedupe(lf, ["email"], "error", ignore_case=True)
    message = "duplicate key email=' A@x.org': rows Sheet1!2, Other!7 share it"
    assert rejects(result) == [(2, "Sheet1", message), (7, "Other", message)]


def test_error_message_renders_a_composite_key() -> None:
    lf = frame({"k1": ["a", "a"], "k2": [3, 3], "on": [date(2024, 5, 1), date(2024, 5, 1)]})
    result = dedupe(lf, ["k1", "k2", "on"], "error")
    message = "duplicate key k1='a', k2=3, on='2024-05-01': rows 2, 3 share it"
    assert rejects(result) == [(2, None, message), (3, None, message)]


def test_error_message_lists_ten_rows_then_counts_the_rest() -> None:
    lf = frame({"k": ["same"] * 13 + ["other"]})
    result = dedupe(lf, ["k"], "error")
    message = "duplicate key k='same': rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 3 more share it"
    rows = rejects(result)
    assert len(rows) == 13
    assert {r[2] for r in rows} == {message}
    assert result.counts() == DedupeCounts(kept=1, dropped=0, rejected=13)


def test_error_lists_rows_in_arrival_order() -> None:
    lf = frame({"k": ["a", "a", "a"], "__row": [9, 4, 6], "__seq": [2, 0, 1]})
    message = "duplicate key k='a': rows 4, 6, 9 share it"
    assert rejects(dedupe(lf, ["k"], "error")) == [
        (4, None, message),
        (6, None, message),
        (9, None, message),
    ]


# --- merge ------------------------------------------------------------------------------------


def test_merge_fills_earlier_values_with_later_non_empty_ones_field_by_field() -> None:
    lf = frame(
        {
            "email": ["a@x", "b@x", "A@x ", "a@x"],
            "name": ["Ann", "Bob", None, "Anne"],
            "phone": [None, "1", "555", None],
            "city": ["Oslo", None, None, None],
            "__sheet": ["S1", "S1", "S2", "S2"],
        }
    )
    result = dedupe(lf, ["email"], "merge", ignore_case=True)
    columns = ("email", "name", "phone", "city", "__row", "__sheet", "__seq")
    assert kept_rows(result, *columns) == [
        ("a@x", "Anne", "555", "Oslo", 2, "S1", 0),
        ("b@x", "Bob", "1", None, 3, "S1", 1),
    ]
    assert rejects(result) == []
    assert result.counts() == DedupeCounts(kept=2, dropped=2, rejected=0)


def test_merge_keeps_dtypes_of_decimal_date_datetime_and_boolean_columns() -> None:
    schema = {
        "amount": pl.Decimal(12, 2),
        "since": pl.Date(),
        "seen": pl.Datetime("us", "UTC"),
        "active": pl.Boolean(),
        "score": pl.Float64(),
    }
    lf = frame(
        {
            "id": [7, 7, 7],
            "amount": [Decimal("10.50"), None, Decimal("3.25")],
            "since": [date(2020, 1, 1), date(2021, 6, 30), None],
            "seen": [None, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None],
            "active": [True, False, None],
            "score": [1.5, None, None],
        },
        schema,
    )
    result = dedupe(lf, ["id"], "merge")
    out = result.kept.collect(engine="streaming")
    assert out.schema == lf.collect_schema()
    assert out.rows() == [
        (
            2,
            None,
            0,
            7,
            Decimal("3.25"),
            date(2021, 6, 30),
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            False,
            1.5,
        )
    ]


def test_merge_takes_the_key_values_of_the_earliest_row() -> None:
    lf = frame({"k": ["b", "A", "a"], "v": [1, 2, 3], "__seq": [5, 9, 1]})
    result = dedupe(lf, ["k"], "merge", ignore_case=True)
    assert kept_rows(result, "k", "v", "__seq") == [("a", 2, 1), ("b", 1, 5)]


def test_merge_of_an_all_null_field_stays_null() -> None:
    lf = frame({"k": ["a", "a"], "v": [None, None]}, {"v": pl.Int64()})
    assert kept_rows(dedupe(lf, ["k"], "merge"), "k", "v") == [("a", None)]


# --- shapes and arguments ---------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_kept_has_the_input_schema_and_rejected_the_rejects_schema(
    strategy: DedupeStrategy,
) -> None:
    lf = frame(
        {"k": ["a", "a", "b"], "n": [1, None, 2], "d": [date(2024, 1, 1), None, None]},
        {"n": pl.Int64()},
    )
    result = dedupe(lf, ["k"], strategy)
    assert result.kept.collect(engine="streaming").schema == lf.collect_schema()
    assert result.rejected.collect(engine="streaming").schema == REJECTS_SCHEMA


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_input_counts_nothing(strategy: DedupeStrategy) -> None:
    lf = frame({"k": []}, {"k": pl.String()})
    result = dedupe(lf, ["k"], strategy)
    assert result.counts() == DedupeCounts(kept=0, dropped=0, rejected=0)
    assert result.kept.collect(engine="streaming").height == 0
    assert result.rejected.collect(engine="streaming").height == 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_works_on_a_scanned_ipc_file_and_sinks(strategy: DedupeStrategy, tmp_path: Path) -> None:
    spilled = tmp_path / "mapped.ipc"
    frame({"k": ["a", "b", "a", "c", "c", "c"], "v": [1, 2, 3, 4, 5, 6]}).collect().write_ipc(
        spilled
    )
    result = dedupe(pl.scan_ipc(spilled), ["k"], strategy)
    result.kept.sink_ipc(tmp_path / "kept.ipc")
    result.rejected.sink_ipc(tmp_path / "rejected.ipc")
    kept = pl.read_ipc(tmp_path / "kept.ipc")
    rejected = pl.read_ipc(tmp_path / "rejected.ipc")
    counts = result.counts()
    assert (counts.kept, counts.rejected) == (kept.height, rejected.height)
    assert counts.total == 6
    assert kept["__seq"].is_sorted()


def test_column_names_like_the_temporary_ones_survive() -> None:
    lf = frame({"__dedupe_0": ["x", "x"], "__dedupe_1": [1, 2], "n": [None, 5]})
    result = dedupe(lf, ["__dedupe_0"], "merge")
    assert kept_rows(result, "__dedupe_0", "__dedupe_1", "n") == [("x", 2, 5)]


@pytest.mark.parametrize(
    ("key", "strategy", "ignore_case", "message"),
    [
        (
            ["k"],
            "newest",
            False,
            "unknown dedupe strategy 'newest': use first, last, error or merge",
        ),
        ([], "last", False, "dedupe needs at least one key field"),
        (["k", "k"], "last", False, "dedupe key lists a field twice: ['k', 'k']"),
        (
            ["missing"],
            "last",
            False,
            "dedupe: columns ['missing'] are not in the frame (['__row', '__sheet', '__seq', 'k'])",
        ),
        (
            ["k"],
            "last",
            ["other"],
            "dedupe ignore_case lists ['other'], which are not key fields ['k']",
        ),
    ],
)
def test_bad_arguments_say_what_is_wrong(
    key: list[str], strategy: Any, ignore_case: Any, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        dedupe(frame({"k": ["a"]}), key, strategy, ignore_case=ignore_case)
    assert str(caught.value) == message


# --- the invariant, against a plain-Python model ----------------------------------------------

ROW = st.fixed_dictionaries(
    {
        "k1": st.sampled_from(["a", "A", " a", "a\t", "b", "B ", "é", "É"]),
        "k2": st.integers(0, 2),
        "v": st.none() | st.integers(-5, 5),
        "s": st.none() | st.sampled_from(["x", "y"]),
        "__sheet": st.none() | st.sampled_from(["S1", "S2"]),
    }
)


@st.composite
def mapped_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = draw(st.lists(ROW, max_size=25))
    seqs = draw(st.permutations(range(len(rows))))
    return [{**r, "__row": 100 + s, "__seq": s} for r, s in zip(rows, seqs, strict=True)]


def model(
    rows: list[dict[str, Any]], key: list[str], strategy: str, trim: bool, folded: set[str]
) -> tuple[list[dict[str, Any]], list[int], int]:
    """(kept rows, rejected __row values, dropped) computed row by row in plain Python."""

    def norm(row: dict[str, Any]) -> tuple[Any, ...]:
        out: list[Any] = []
        for k in key:
            value = row[k]
            if isinstance(value, str):
                value = value.strip() if trim else value
                value = value.lower() if k in folded else value
            out.append(value)
        return tuple(out)

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["__seq"]):
        groups.setdefault(norm(row), []).append(row)
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for group in groups.values():
        if strategy == "first":
            kept.append(group[0])
        elif strategy == "last":
            kept.append(group[-1])
        elif strategy == "error":
            (kept if len(group) == 1 else rejected).extend(group)
        else:
            merged = dict(group[0])
            for later in group[1:]:
                for col in {"k1", "k2", "v", "s"} - set(key):
                    if later[col] is not None:
                        merged[col] = later[col]
            kept.append(merged)
    kept.sort(key=lambda r: r["__seq"])
    rejected.sort(key=lambda r: r["__seq"])
    return kept, [r["__row"] for r in rejected], len(rows) - len(kept) - len(rejected)


@settings(max_examples=60, deadline=None)
@given(
    rows=mapped_rows(),
    key=st.sampled_from([["k1"], ["k2"], ["k1", "k2"], ["k2", "k1"]]),
    strategy=st.sampled_from(STRATEGIES),
    trim=st.booleans(),
    ignore_case=st.sampled_from([False, True, ["k1"]]),
)
def test_matches_the_model_and_every_row_is_counted(
    rows: list[dict[str, Any]],
    key: list[str],
    strategy: DedupeStrategy,
    trim: bool,
    ignore_case: bool | list[str],
) -> None:
    columns = ["__row", "__sheet", "__seq", "k1", "k2", "v", "s"]
    schema = {
        "__row": pl.Int64,
        "__sheet": pl.String,
        "__seq": pl.Int64,
        "k1": pl.String,
        "k2": pl.Int64,
        "v": pl.Int64,
        "s": pl.String,
    }
    rows = sorted(rows, key=lambda r: r["__seq"])  # the pipeline spills rows in __seq order
    lf = pl.LazyFrame(rows, schema=schema)
    folded = {"k1"} if ignore_case is True or ignore_case == ["k1"] else set()
    if ignore_case == ["k1"] and "k1" not in key:
        ignore_case = False
    want_kept, want_rejected, want_dropped = model(rows, key, strategy, trim, folded)

    result = dedupe(lf, key, strategy, trim=trim, ignore_case=ignore_case)
    kept = result.kept.collect(engine="streaming")
    rejected = result.rejected.collect(engine="streaming")
    counts = result.counts()

    assert kept.rows() == [tuple(r[c] for c in columns) for r in want_kept]
    assert rejected["__row"].to_list() == want_rejected
    assert counts == DedupeCounts(len(want_kept), want_dropped, len(want_rejected))
    assert counts.kept + counts.dropped + counts.rejected == len(rows)
