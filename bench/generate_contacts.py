"""A seeded generator of a realistic contacts CSV, as a CRM would export it.

    python bench/generate_contacts.py --rows 200000 --seed 42 --out contacts.csv

Twelve columns with source-style headers. The data is noisy the way real exports are: e-mail
addresses in mixed case with stray spaces (about 0.5% invalid), about 2% of rows re-using an
earlier row's e-mail with other values, company names with commas and streets with line breaks
(both quoted), day-first dates and amounts with thousands separators. The same seed always gives
a byte-identical file. Rows are written as they are made, so memory stays flat for any size.

``--change-every N`` writes the same file except that the Lifetime Value of every N-th row
(rows N, 2N, ...) is higher: the "half the rows changed" variant of a re-import benchmark.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

__all__ = [
    "COLUMNS",
    "DUPLICATE_SHARE",
    "INVALID_EMAIL_SHARE",
    "contact_rows",
    "main",
    "write_contacts",
]

COLUMNS = (
    "Contact ID",
    "First Name",
    "Last Name",
    "E-mail Address",
    "Phone",
    "Company",
    "Street",
    "City",
    "Country",
    "Signup Date",
    "Lifetime Value",
    "Last Modified",
)
INVALID_EMAIL_SHARE = 0.005
DUPLICATE_SHARE = 0.02
#: Earlier e-mails kept for re-use: a fixed-size sample, so memory does not grow with the file.
EMAIL_POOL_SIZE = 10_000
#: Added to a changed row's Lifetime Value, in cents.
CHANGE_CENTS = 12_345
FIRST_CONTACT_ID = 100_001

FIRST_NAMES = (
    "Anna", "Ben", "Chloé", "David", "Elena", "Finn", "Grace", "Hugo", "Ines", "Jürgen",
    "Katie", "Liam", "María", "Noah", "Olivia", "Pekka", "Quinn", "Rosa", "Sven", "Tomás",
    "Uma", "Viktor", "Wendy", "Xavier", "Yusuf", "Zoë", "Aisha", "Björn", "Carmen", "Dmitri",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Müller", "García", "Rossi", "Dubois", "de Vries", "Virtanen", "O'Brien",
    "Nowak", "Andersson", "Fernández", "Schmidt", "Taylor", "Brown", "Janssen", "Korhonen",
    "Moreau", "Bianchi", "Kelly", "Gruber", "Lindqvist", "Martin", "Wilson", "Novak", "Weber",
)  # fmt: skip
COMPANY_WORDS = (
    "Acme", "Northwind", "Blue Harbour", "Alpine", "Lakeside", "Crown", "Meridian", "Granite",
    "Silverline", "Oakwood", "Nordic", "Summit", "Harbor Point", "Redwood", "Kestrel",
)  # fmt: skip
COMPANY_SUFFIXES = ("Ltd", "GmbH", "BV", "Oy", "Inc.", "S.L.", "AB", "SRL", "AG", "LLC")
STREET_NAMES = (
    "High", "Station", "Church", "Main", "Mill", "Park", "Market", "Garden", "King", "Bridge",
)  # fmt: skip
STREET_TYPES = ("Street", "Road", "Lane", "Avenue", "Way")
SECOND_LINES = ("Flat 2", "Unit 14", "Building B", "c/o Reception", "Floor 3")
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "corp.example.co.uk")
#: ISO country code -> (dialling code, cities).
COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "GB": ("44", ("London", "Leeds", "Bristol")),
    "US": ("1", ("Boston", "Denver", "Austin")),
    "DE": ("49", ("Berlin", "Köln", "München")),
    "FR": ("33", ("Paris", "Lyon", "Nantes")),
    "NL": ("31", ("Amsterdam", "Utrecht", "Den Haag")),
    "AT": ("43", ("Wien", "Graz", "Linz")),
    "FI": ("358", ("Helsinki", "Tampere", "Oulu")),
    "ES": ("34", ("Madrid", "Sevilla", "Valencia")),
    "IT": ("39", ("Milano", "Roma", "Torino")),
    "SE": ("46", ("Stockholm", "Malmö", "Uppsala")),
    "IE": ("353", ("Dublin", "Cork", "Galway")),
    "CH": ("41", ("Zürich", "Genève", "Basel")),
}
COUNTRY_CODES = tuple(COUNTRIES)
FIRST_SIGNUP = date(2015, 1, 1)
SIGNUP_DAYS = 3_650
LAST_MODIFIED_END = datetime(2025, 12, 31, 23, 59, 59)


def contact_rows(rows: int, seed: int, *, change_every: int = 0) -> Iterator[list[str]]:
    """Yield ``rows`` data rows (no header) for ``seed``; see the module docstring."""
    rng = random.Random(seed)
    pool: list[str] = []
    for index in range(rows):
        row = _row(rng, index, pool)
        if change_every and (index + 1) % change_every == 0:
            row[10] = _money(_cents(row[10]) + CHANGE_CENTS)
        yield row


def write_contacts(out: Path, rows: int, seed: int, *, change_every: int = 0) -> Path:
    """Write the CSV (header + ``rows`` rows) to ``out`` atomically and return ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(contact_rows(rows, seed, change_every=change_every))
    os.replace(partial, out)  # a run cut short never leaves a file that looks complete
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=_non_negative, required=True, help="data rows to write")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument(
        "--change-every",
        type=_non_negative,
        default=0,
        metavar="N",
        help="raise the Lifetime Value of every N-th row (default 0: none)",
    )
    args = parser.parse_args(argv)
    write_contacts(args.out, args.rows, args.seed, change_every=args.change_every)
    return 0


# -- one row ----------------------------------------------------------------------------------


def _row(rng: random.Random, index: int, pool: list[str]) -> list[str]:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    country = rng.choice(COUNTRY_CODES)
    dialling, cities = COUNTRIES[country]
    signed_up = FIRST_SIGNUP + timedelta(days=rng.randrange(SIGNUP_DAYS))
    return [
        str(FIRST_CONTACT_ID + index),
        first,
        last,
        _noisy(rng, _email(rng, index, first, last, pool)),
        f"+{dialling} {rng.randint(10, 999)} {rng.randint(100_000, 9_999_999)}",
        _company(rng, last),
        _street(rng),
        rng.choice(cities),
        country,
        f"{signed_up.day:02d}/{signed_up.month:02d}/{signed_up.year}",  # %d/%m/%Y, faster
        _money(rng.randrange(0, 5_000_000)),
        _timestamp(_modified(rng, signed_up)),
    ]


def _email(rng: random.Random, index: int, first: str, last: str, pool: list[str]) -> str:
    """A new unique address, an earlier one (a duplicate key), or an invalid one."""
    draw = rng.random()
    if draw < INVALID_EMAIL_SHARE:
        local = f"{_ascii(first)}.{_ascii(last)}"
        return rng.choice(
            (
                f"{local}.{index}.at.{rng.choice(EMAIL_DOMAINS)}",  # no @
                f"{local}.{index}@",  # no domain
                f"{_ascii(first)} {_ascii(last)}@{rng.choice(EMAIL_DOMAINS)}",  # a space
                f"{local}.{index}@localhost",  # no dot in the domain
            )
        )
    if draw < INVALID_EMAIL_SHARE + DUPLICATE_SHARE and pool:
        return rng.choice(pool)
    address = f"{_ascii(first)}.{_ascii(last)}.{index}@{rng.choice(EMAIL_DOMAINS)}"
    if len(pool) < EMAIL_POOL_SIZE:
        pool.append(address)
    else:
        pool[rng.randrange(EMAIL_POOL_SIZE)] = address
    return address


def _noisy(rng: random.Random, address: str) -> str:
    """Mixed case and stray spaces, as typed into a CRM by hand."""
    case = rng.random()
    if case < 0.1:
        address = address.upper()
    elif case < 0.3:
        address = address[:1].upper() + address[1:]
    if rng.random() < 0.1:
        address = rng.choice((" ", "  ", "")) + address + rng.choice((" ", "\t", ""))
    return address


def _company(rng: random.Random, last: str) -> str:
    kind = rng.random()
    if kind < 0.05:
        return ""
    if kind < 0.20:  # a comma: the writer quotes it
        return f"{last}, {rng.choice(LAST_NAMES)} & Partners"
    if kind < 0.22:  # quotes inside: the writer doubles them
        return f'"{rng.choice(COMPANY_WORDS)}" {rng.choice(COMPANY_SUFFIXES)}'
    return f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"


def _street(rng: random.Random) -> str:
    street = f"{rng.randint(1, 250)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_TYPES)}"
    if rng.random() < 0.03:  # a second address line: the writer quotes the line break
        street += "\n" + rng.choice(SECOND_LINES)
    return street


def _modified(rng: random.Random, signed_up: date) -> datetime:
    start = datetime(signed_up.year, signed_up.month, signed_up.day)
    seconds = int((LAST_MODIFIED_END - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(seconds))


def _timestamp(moment: datetime) -> str:
    # %Y-%m-%d %H:%M:%S by hand: strftime was a tenth of the generator's time.
    return (
        f"{moment.year}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def _money(cents: int) -> str:
    # Integer cents, formatted by hand: exact, where float division could round.
    whole, fraction = divmod(cents, 100)
    return f"{whole:,}.{fraction:02d}"


def _cents(text: str) -> int:
    return int(text.replace(",", "").replace(".", ""))


def _ascii(name: str) -> str:
    """The name as an e-mail local part: accents dropped, letters only, lower case."""
    known = _ASCII_NAMES.get(name)
    if known is not None:
        return known
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in decomposed if c.isalpha()).lower()


_ASCII_NAMES: dict[str, str] = {}
_ASCII_NAMES.update((name, _ascii(name)) for name in (*FIRST_NAMES, *LAST_NAMES))


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
