"""The read-and-map stage of an import in one process and in partitions, side by side.

    python bench/partitioned_import.py --rows 1000000 --seed 42 --partitions 1 2 [--dask]

Runs a dry-run import of the generated contacts file through bench/contacts.yaml once per
partition count: resolve, then read and map (timed: wall seconds, and CPU seconds of this
process and of worker processes that have ended), then deduplicate (timed). Partitions run in a
local process pool started for each run (``ImportJob``'s default runner, as
``import_file(partitions=N)`` runs them) or, with ``--dask``, on a local Dask cluster of
processes started once beforehand (its start-up is timed apart; its workers' CPU is not
counted), as the flow uses one at ``dask_address``. It checks that every count is the same as
with the first run. No database is written: these are the stages Conveyor itself runs, which
partitions can spread; the load is serialised by the database either way.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_speed

from conveyor.importer import ImportJob, ImportRequest
from conveyor.partitioned import PartitionResult, PartitionRunner, PartitionWork, read_partition

__all__ = ["main"]

HERE = Path(__file__).resolve().parent


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the pool's workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(label: str, work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.monotonic(), _cpu()
    work()
    wall, cpu = time.monotonic() - wall, _cpu() - cpu
    print(f"  {label:<26} wall {wall:6.2f} s   cpu {cpu:6.2f} s", flush=True)
    return wall, cpu


def dask_runner(client: Any) -> PartitionRunner:
    """Partitions as plain Dask tasks (what the flow's subflow does, without Prefect)."""
    from distributed import as_completed

    def run(
        works: Sequence[PartitionWork], arrived: Callable[[PartitionResult], None]
    ) -> list[PartitionResult]:
        results: list[PartitionResult] = []
        futures = [client.submit(read_partition, w, pure=False) for w in works]
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            results.append(future.result())
            arrived(results[-1])
        return results

    return run


def run(path: Path, partitions: int, runner: PartitionRunner | None) -> dict[str, object]:
    """One dry-run import's read and dedupe stages; its counts and timings."""
    with tempfile.TemporaryDirectory() as folder:
        request = ImportRequest(
            path=path,
            mapping=HERE / "contacts.yaml",
            target=f"sqlite:///{Path(folder) / 'dry.db'}",
            dry_run=True,
            partitions=partitions,
        )
        job = ImportJob(request, runner=runner)
        job.resolve()
        print(f"partitions={partitions}", flush=True)
        read = timed("read and map", job.read_and_map)
        if job.partition_note:
            print(f"  {job.partition_note}")
        dedupe = timed("deduplicate", job.deduplicate)
        job.finish()
        return {"counts": job.counts, "read": read, "dedupe": dedupe}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--partitions", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dask", action="store_true", help="run partitions on a Dask cluster")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "conveyor-bench"
    )
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = import_speed._ensure_file(args.workdir, args.rows, args.seed, change_every=0)
    with ExitStack() as stack:
        runner = _dask(stack, max(args.partitions)) if args.dask else None
        results = [(n, run(path, n, runner)) for n in args.partitions]
    first = results[0][1]
    for n, result in results:
        if result["counts"] != first["counts"]:
            print(f"COUNTS DIFFER: partitions={n}: {result['counts']} vs {first['counts']}")
            return 1
    print(f"counts (the same for every run): {first['counts']}")
    print(f"machine: {import_speed._machine()}, load average {os.getloadavg()[0]:.2f}")
    counts = " ".join(str(n) for n in args.partitions)
    print(
        f"command: python bench/partitioned_import.py --rows {args.rows} --seed {args.seed} "
        f"--partitions {counts}{' --dask' if args.dask else ''}"
    )
    return 0


def _dask(stack: ExitStack, workers: int) -> PartitionRunner:
    """A local Dask cluster of ``workers`` processes, started (timed) and warmed up."""
    from distributed import Client, LocalCluster

    started = time.monotonic()
    cluster = stack.enter_context(
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=min(workers, os.cpu_count() or 1),
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
    )
    client = stack.enter_context(Client(cluster))  # type: ignore[no-untyped-call]
    client.run(importlib.import_module, "conveyor.partitioned")  # what a first task would do
    print(f"dask cluster started in {time.monotonic() - started:.2f} s", flush=True)
    return dask_runner(client)


if __name__ == "__main__":
    raise SystemExit(main())
