"""CPU seconds Conveyor's own process spends per stage of an import, before any row is written.

    python bench/stage_cpu.py --rows 1000000 --seed 42

Runs the stages of a dry-run import of the generated contacts file through bench/contacts.yaml
(read and map, deduplicate), then encodes the kept rows as the CSV the PostgreSQL target sends,
and prints, per stage, wall seconds and CPU seconds (user + system of this process, all threads).
The CPU seconds are work no schedule can hide: on a machine of N cores, an import can finish no
sooner than (these CPU seconds + the database server's CPU seconds) / N, which bounds the ratios
of bench/write_path.py from above whatever is overlapped.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_speed

from conveyor.importer import ImportJob, ImportRequest
from conveyor.load.postgres import copy_csv
from conveyor.spill import slices

__all__ = ["main"]

HERE = Path(__file__).resolve().parent


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def timed(label: str, work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.monotonic(), _cpu()
    work()
    wall, cpu = time.monotonic() - wall, _cpu() - cpu
    print(f"{label:<28} wall {wall:6.2f} s   cpu {cpu:6.2f} s", flush=True)
    return wall, cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "conveyor-bench"
    )
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = import_speed._ensure_file(args.workdir, args.rows, args.seed, change_every=0)
    with tempfile.TemporaryDirectory() as folder:
        request = ImportRequest(
            path=path,
            mapping=HERE / "contacts.yaml",
            target=f"sqlite:///{Path(folder) / 'dry.db'}",
            dry_run=True,
        )
        job = ImportJob(request)
        job.resolve()
        totals = [timed("read and map", job.read_and_map), timed("deduplicate", job.deduplicate)]
        assert job.compiled is not None
        columns = job.compiled.schema.column_names

        def encode() -> None:
            for frame in slices(job._spill.files, 200_000):
                copy_csv(frame.select(columns))

        totals.append(timed("encode as COPY CSV", encode))
        job.finish()
    wall, cpu = (sum(t[i] for t in totals) for i in (0, 1))
    print(f"{'total':<28} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    print(f"machine: {import_speed._machine()}, load average {os.getloadavg()[0]:.2f}")
    print(f"command: python bench/stage_cpu.py --rows {args.rows} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
