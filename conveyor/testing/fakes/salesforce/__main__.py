"""Run the fake Salesforce as a process, for CLI subprocess tests.

``python -m conveyor.testing.fakes.salesforce --port 0 [--seed FILE]`` prints
``http://127.0.0.1:PORT SESSION_ID`` on one line, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conveyor.testing.fakes.runner import serve_until_stopped
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

    def build() -> FakeSalesforce:
        fake = FakeSalesforce(
            port=args.port, api_limit=args.api_limit, polls_to_complete=args.polls
        )
        if args.seed is not None:
            apply_seed(fake, load_seed(args.seed), str(args.seed))
        return fake

    return serve_until_stopped(
        build, lambda fake: f"{fake.url} {fake.session_id}", (SeedFileError, FileNotFoundError)
    )


if __name__ == "__main__":
    sys.exit(main())
