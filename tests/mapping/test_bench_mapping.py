"""The benchmark's mapping (bench/contacts.yaml) on generated contacts, against a reference.

The compiled mapping takes shortcuts for speed (materialised stages, reasons built only for
flagged rows, cheaper regular expressions): this checks its whole output, values, dtypes,
order and reject reasons, on 2,000 rows of the benchmark's own generator, against a reference
written here in plain Python from the mapping's rules. Hand-made rows after them reach every
reason the mapping can give, with the expected texts written out.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conveyor.mapping import compile_mapping, load_mapping
from conveyor.mapping.checks import EMAIL_PATTERN
from tests.helpers import ROOT

sys.path.append(str(ROOT / "bench"))
import generate_contacts

ROWS = 2_000
GOOD_SCHEMA = pl.Schema(
    {
        "email": pl.String(),
        "contact_id": pl.Int64(),
        "first_name": pl.String(),
        "last_name": pl.String(),
        "phone": pl.String(),
        "company": pl.String(),
        "street": pl.String(),
        "city": pl.String(),
        "country": pl.String(),
        "signed_up": pl.Date(),
        "lifetime_value": pl.Decimal(12, 2),
        "modified_at": pl.Datetime("us", "UTC"),
        "__row": pl.Int64(),
        "__sheet": pl.String(),
        "__seq": pl.Int64(),
    }
)
# One generated row, valid; the hand-made rows below change some of its columns.
BASE = [
    "7",
    "Ann",
    "Lee",
    "ann@example.com",
    "+44 20 1234567",
    "Acme Ltd",
    "1 High Street",
    "Leeds",
    "GB",
    "31/01/2024",
    "1,234.50",
    "2024-01-31 10:00:00",
]
LONG = "a" * 250 + "@example.com"
# (changes to BASE by column, the expected reason or None when the row is good)
HAND_MADE: list[tuple[dict[str, str], str | None]] = [
    ({"Contact ID": "7.00", "Lifetime Value": "1,234.560"}, None),
    ({"Company": " Acme \t  Ltd\n", "E-mail Address": " ANN@Example.COM\t"}, None),
    ({"Contact ID": "12x"}, "contact_id (Contact ID): '12x' is not an integer"),
    ({"Contact ID": " "}, "contact_id (Contact ID): required but empty"),
    ({"E-mail Address": "  "}, "email (E-mail Address): required but empty"),
    (
        {"E-mail Address": "ann@localhost"},
        "email (E-mail Address): 'ann@localhost' is not an email address",
    ),
    (
        {"E-mail Address": LONG},
        f"email (E-mail Address): '{'a' * 100}…' is longer than 254 characters",
    ),
    ({"Phone": "0049 30"}, r"phone (Phone): '0049 30' does not match ^\+[0-9 ]+$"),
    ({"Country": "gbr"}, "country (Country): 'GBR' does not match ^[A-Z]{2}$"),
    (
        {"Signup Date": "31/02/2024"},
        "signed_up (Signup Date): '31/02/2024' is not a date in format %d/%m/%Y",
    ),
    (
        {"Lifetime Value": "1,234.567"},
        "lifetime_value (Lifetime Value): '1,234.567' has more than 2 decimals for decimal(12,2)",
    ),
    (
        {"Lifetime Value": "12,34"},
        "lifetime_value (Lifetime Value): '12,34' is not a decimal(12,2)",
    ),
    (
        {"Lifetime Value": "99,999,999,999.00"},
        "lifetime_value (Lifetime Value): '99,999,999,999.00' is out of range for decimal(12,2)",
    ),
    (
        {"Lifetime Value": "-5.00"},
        "lifetime_value (Lifetime Value): '-5.00' is less than the minimum 0",
    ),
    (
        {"Last Modified": "2024-13-01 00:00:00"},
        "modified_at (Last Modified): '2024-13-01 00:00:00' is not a datetime in format "
        "%Y-%m-%d %H:%M:%S",
    ),
    (
        {"Contact ID": "x", "E-mail Address": "bad", "Signup Date": ""},
        "email (E-mail Address): 'bad' is not an email address; "
        "contact_id (Contact ID): 'x' is not an integer",
    ),
]


def _text(raw: str) -> str | None:
    return raw.strip() or None


def _reference(raw: list[str]) -> tuple[tuple[Any, ...] | None, str | None]:
    """(the mapped values, or None and the email's reason) of a generated row: only its
    e-mail can be wrong (the generator makes every other column valid)."""
    values = dict(zip(generate_contacts.COLUMNS, raw, strict=True))
    email = values["E-mail Address"].strip().lower()
    if not re.fullmatch(EMAIL_PATTERN, email):
        return None, f"email (E-mail Address): {email!r} is not an email address"
    assert len(email) <= 254
    assert re.fullmatch(r"\+[0-9 ]+", values["Phone"].strip())
    company = _text(re.sub(r"\s+", " ", values["Company"].strip()))
    mapped = (
        email,
        int(values["Contact ID"]),
        _text(values["First Name"]),
        _text(values["Last Name"]),
        _text(values["Phone"]),
        company,
        _text(values["Street"]),
        _text(values["City"]),
        values["Country"].strip().upper(),
        datetime.strptime(values["Signup Date"], "%d/%m/%Y").date(),
        Decimal(values["Lifetime Value"].replace(",", "")),
        datetime.strptime(values["Last Modified"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC),
    )
    return mapped, None


def _frame(rows: list[list[str]]) -> pl.DataFrame:
    columns = {c: [r[i] for r in rows] for i, c in enumerate(generate_contacts.COLUMNS)}
    frame = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    return frame.with_columns(
        pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias("__row"),
        pl.lit(None, pl.String).alias("__sheet"),
        pl.int_range(frame.height, dtype=pl.Int64).alias("__seq"),
    )


def _hand_made() -> list[list[str]]:
    rows = []
    for changes, _ in HAND_MADE:
        row = list(BASE)
        for column, value in changes.items():
            row[generate_contacts.COLUMNS.index(column)] = value
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def mapped() -> tuple[list[list[str]], pl.DataFrame, pl.DataFrame]:
    rows = [*generate_contacts.contact_rows(ROWS, seed=7), *_hand_made()]
    frame = _frame(rows)
    out = compile_mapping(load_mapping(ROOT / "bench" / "contacts.yaml")).apply(frame)
    return rows, out.good, out.rejects


def test_generated_rows_match_the_reference(
    mapped: tuple[list[list[str]], pl.DataFrame, pl.DataFrame],
) -> None:
    rows, good, rejects = mapped
    expected_good, expected_rejects = [], []
    for index, raw in enumerate(rows[:ROWS]):
        values, reason = _reference(raw)
        if values is None:
            expected_rejects.append((*raw, index + 2, None, index, reason))
        else:
            expected_good.append((*values, index + 2, None, index))
    assert len(expected_rejects) > 3  # the generator's invalid e-mails are among them
    generated = pl.col("__row") < ROWS + 2
    assert_frame_equal(
        good.filter(generated), pl.DataFrame(expected_good, GOOD_SCHEMA, orient="row")
    )
    assert rejects.schema == pl.Schema(
        {
            **dict.fromkeys(generate_contacts.COLUMNS, pl.String()),
            **dict(list(GOOD_SCHEMA.items())[-3:]),
            "_error": pl.String(),
        }
    )
    assert rejects.filter(generated).rows() == expected_rejects


def test_hand_made_rows_give_every_reason(
    mapped: tuple[list[list[str]], pl.DataFrame, pl.DataFrame],
) -> None:
    rows, good, rejects = mapped
    first = ROWS + 2
    reasons = dict(zip(rejects["__row"], rejects["_error"], strict=True))
    assert [reasons.get(first + i) for i in range(len(HAND_MADE))] == [r for _, r in HAND_MADE]
    assert rejects.filter(pl.col("__row") >= first).drop("_error").rows() == [
        (*row, first + i, None, ROWS + i)
        for i, row in enumerate(rows[ROWS:])
        if HAND_MADE[i][1] is not None
    ]
    kept = good.filter(pl.col("__row") >= first).drop("__row", "__sheet", "__seq").rows()
    base = (
        "ann@example.com",
        7,
        "Ann",
        "Lee",
        "+44 20 1234567",
        "Acme Ltd",
        "1 High Street",
        "Leeds",
        "GB",
        date(2024, 1, 31),
        Decimal("1234.50"),
        datetime(2024, 1, 31, 10, tzinfo=UTC),
    )
    assert kept == [(*base[:10], Decimal("1234.56"), base[11]), base]
