"""Run the fake system as a process, for CLI subprocess tests.

``python -m conveyor.testing.fakes.sap --port 0 [--seed FILE] [--time-zone ZONE]`` prints the
service URL (``http://127.0.0.1:PORT/sap/opu/odata/sap/API_BUSINESS_PARTNER``) on one line, then
serves until SIGTERM or SIGINT. The credentials are the defaults of
:class:`~conveyor.testing.fakes.sap.auth.Credentials`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfoNotFoundError

from conveyor.testing.fakes.runner import serve_until_stopped
from conveyor.testing.fakes.sap.fake import FakeSap
from conveyor.testing.fakes.sap.seedfile import SeedFileError, apply_seed, load_seed

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conveyor.testing.fakes.sap")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--time-zone", default="Europe/Berlin", help="the system's local zone")
    parser.add_argument("--seed", type=Path, help="YAML or JSON seed file with partners")
    args = parser.parse_args(argv)

    def build() -> FakeSap:
        fake = FakeSap(port=args.port, time_zone=args.time_zone)
        if args.seed is not None:
            apply_seed(fake, load_seed(args.seed), str(args.seed))
        return fake

    return serve_until_stopped(
        build, lambda fake: fake.service_url, (SeedFileError, ZoneInfoNotFoundError)
    )


if __name__ == "__main__":
    sys.exit(main())
