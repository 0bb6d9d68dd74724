"""What the fakes' command-line tests share: a fake started as its own process."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

__all__ = ["serve"]


def serve(system: str, *args: str) -> subprocess.Popen[str]:
    """``python -m conveyor.testing.fakes.<system> --port 0 ARGS``, its output piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", f"conveyor.testing.fakes.{system}", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
