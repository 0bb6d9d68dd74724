"""Run the fake Jira as a process, for CLI subprocess tests.

``python -m conveyor.testing.fakes.jira --port 0 [--deployment Server] [--time-zone ZONE]
[--seed FILE]`` prints the site URL on one line, then serves until SIGTERM or SIGINT. The
credentials are the defaults of :class:`~conveyor.testing.fakes.jira.auth.Credentials`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

from conveyor.testing.fakes.jira.fake import FakeJira
from conveyor.testing.fakes.jira.seedfile import SeedFileError, apply_seed, load_seed
from conveyor.testing.fakes.runner import serve_until_stopped

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conveyor.testing.fakes.jira")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--deployment", choices=("Cloud", "Server"), default="Cloud")
    parser.add_argument("--time-zone", default="Europe/Berlin", help="the user's time zone")
    parser.add_argument("--seed", type=Path, help="YAML or JSON seed file with issues")
    args = parser.parse_args(argv)

    def build() -> FakeJira:
        fake = FakeJira(deployment=args.deployment, time_zone=args.time_zone, port=args.port)
        if args.seed is not None:
            apply_seed(fake, load_seed(args.seed), str(args.seed))
        return fake

    return serve_until_stopped(build, lambda fake: fake.url, (SeedFileError, ZoneInfoNotFoundError))


if __name__ == "__main__":
    sys.exit(main())
