"""Run the fake instance as a process, for CLI subprocess tests.

``python -m conveyor.testing.fakes.servicenow --port 0 [--time-zone ZONE] [--seed FILE]`` prints
``http://127.0.0.1:PORT https://127.0.0.1:PORT`` (the URL, then pysnc's instance URL) on one
line, then serves until SIGTERM or SIGINT. The credentials are the defaults of
:class:`~conveyor.testing.fakes.servicenow.auth.Credentials`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

from conveyor.testing.fakes.runner import serve_until_stopped
from conveyor.testing.fakes.servicenow.fake import FakeServiceNow
from conveyor.testing.fakes.servicenow.seedfile import SeedFileError, apply_seed, load_seed

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conveyor.testing.fakes.servicenow")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--time-zone", default="America/Los_Angeles", help="the user's zone")
    parser.add_argument("--seed", type=Path, help="YAML or JSON seed file with records")
    args = parser.parse_args(argv)

    def build() -> FakeServiceNow:
        fake = FakeServiceNow(port=args.port, time_zone=args.time_zone)
        if args.seed is not None:
            apply_seed(fake, load_seed(args.seed), str(args.seed))
        return fake

    return serve_until_stopped(
        build,
        lambda fake: f"{fake.url} {fake.instance_url}",
        (SeedFileError, ZoneInfoNotFoundError),
    )


if __name__ == "__main__":
    sys.exit(main())
