"""The demo: import every sample file in examples/ into SQLite through the Prefect flow.

Run it with `make demo`. Prefect runs in its ephemeral mode (no server to set up); the target
is $CONVEYOR_DATABASE_URL or sqlite:///conveyor.db in the working folder. Running it twice
shows the second import leaving every row unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from conveyor.formats import read_source
from conveyor.mapping import load_mapping
from flows.import_file import import_file_flow

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = [
    ("contacts.csv", "contacts"),
    ("orders.xlsx", "orders"),
    ("products.json", "products"),
    ("suppliers.xml", "suppliers"),
]


def main() -> int:
    console = Console(width=max(Console().width, 130))
    output = Path("demo-output")
    output.mkdir(exist_ok=True)
    table = Table(
        "file",
        "table",
        "status",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "duplicates",
        "rejected",
        "rejects file",
        title="Conveyor demo",
    )
    failed = False
    reports: list[tuple[dict[str, Any], str]] = []
    for file_name, mapping in SAMPLES:
        source = ROOT / "examples" / file_name
        rejects = output / f"{source.stem}.rejects{source.suffix}"
        report = import_file_flow(
            path=str(source),
            mapping=str(ROOT / "mappings" / f"{mapping}.yaml"),
            rejects_path=str(rejects),
        )
        reports.append((report, mapping))
        c = report["counts"]
        failed |= report["status"] != "succeeded"
        table.add_row(
            file_name,
            report["table"],
            report["status"],
            str(c["rows_read"]),
            str(c["inserted"]),
            str(c["updated"]),
            str(c["unchanged"]),
            str(c["duplicates"]),
            str(c["rejected"]),
            report["rejects_path"] or "-",
        )
    console.print(table)
    console.print(f"Target: {reports[-1][0]['target']}")
    for report, mapping in reports:
        _print_rejects(console, report, mapping)
    return 1 if failed else 0


def _print_rejects(console: Console, report: dict[str, Any], mapping: str) -> None:
    """Show why rows were rejected, read back from the rejects file with the same mapping."""
    if not report["rejects_path"]:
        return
    spec = load_mapping(ROOT / "mappings" / f"{mapping}.yaml")
    console.print(f"[bold]{report['rejects_path']}[/] (fix and import again with {mapping}):")
    for batch in read_source(Path(report["rejects_path"]), spec.source).batches:
        for row in batch.data.select("_row", "_error").iter_rows():
            console.print(f"  row {row[0]}: {row[1]}", highlight=False)


if __name__ == "__main__":
    sys.exit(main())
