"""Properties: importing any generated file twice gives the same table; counts always add up."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor import import_file
from tests.helpers import rows

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from([",", ";", '"', "\n", "\r", " ", "é", "ß"]),
    max_size=12,
)
ROW = st.tuples(
    st.integers(min_value=1, max_value=15), TEXT, st.one_of(st.none(), st.integers(-5, 5))
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.lists(ROW, min_size=0, max_size=25))
def test_import_twice_same_table_and_balanced(data: list[tuple[int, str, int | None]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "gen.csv"
        with source.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "label", "score"])
            for key, label, score in data:
                writer.writerow([key, label, "" if score is None else score])
        target = f"sqlite:///{Path(folder) / 't.db'}"
        first = import_file(source, target=target, key=["id"])
        assert first.error is None, first.error
        assert first.counts.balanced
        assert first.counts.rows_read == len(data)
        table = rows(target, "gen", "id") if first.counts.inserted else []
        second = import_file(source, target=target, key=["id"], force=True)
        assert second.error is None, second.error
        assert second.counts.balanced
        assert second.counts.inserted == 0
        assert second.counts.updated == 0
        assert second.counts.unchanged == first.counts.inserted
        assert (rows(target, "gen", "id") if first.counts.inserted else []) == table
