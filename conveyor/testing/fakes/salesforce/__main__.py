"""Run the fake Salesforce as a process, for CLI subprocess tests.

``python -m conveyor.testing.fakes.salesforce --port 0 [--seed FILE]`` prints
``http://127.0.0.1:PORT SESSION_ID`` on one line, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from conveyor.testing.fakes.salesforce.fake import FakeSalesforce
from conveyor.testing.fakes.salesforce.seedfile import SeedFileError, apply_seed, load_seed

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conveyor.testing.fakes.salesforce")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--seed", type=Path, help="YAML or JSON seed file")
    parser.add_argument("--api-limit", type=int, default=100_000, help="daily API call limit")
    parser.add_argument("--polls", type=int, default=1, help="status polls before a bulk job ends")
    args = parser.parse_args(argv)
    try:
        fake = FakeSalesforce(
            port=args.port, api_limit=args.api_limit, polls_to_complete=args.polls
        )
        if args.seed is not None:
            apply_seed(fake, load_seed(args.seed), str(args.seed))
    except (SeedFileError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with fake:
        print(f"{fake.url} {fake.session_id}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
