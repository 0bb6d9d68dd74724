"""Sync job files: ``mappings/<connector>/<job>.yaml``, found by name and checked like mappings.

Import mappings sit at the top of ``mappings/``; sync jobs one folder down, in a folder per
connector, so the two never share a name space by accident.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.errors import ConfigError
from conveyor.mapping.loader import parse_model
from conveyor.sync.spec import SyncJobSpec

__all__ = ["available_sync_jobs", "load_sync_job"]

_SUFFIXES = (".yaml", ".yml")


def available_sync_jobs(mappings_dir: Path = Path("mappings")) -> dict[str, Path]:
    """Every sync job file under ``mappings_dir``: name (the file's stem) -> path."""
    found: dict[str, Path] = {}
    for folder in (
        sorted(p for p in mappings_dir.iterdir() if p.is_dir()) if mappings_dir.is_dir() else []
    ):
        if folder.name == "schema":
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in _SUFFIXES and path.is_file():
                if path.stem in found:
                    raise ConfigError(
                        f"two sync jobs are named {path.stem!r}: {found[path.stem]} and {path}; "
                        "job names must be unique"
                    )
                found[path.stem] = path
    return found


def load_sync_job(name_or_path: str | Path, mappings_dir: Path = Path("mappings")) -> SyncJobSpec:
    """The job named ``name_or_path`` (a file stem under mappings/*/), or the YAML file at
    that path. Errors name the file, the line and the key."""
    path = Path(name_or_path)
    if path.suffix not in _SUFFIXES:
        jobs = available_sync_jobs(mappings_dir)
        if str(name_or_path) not in jobs:
            known = ", ".join(jobs) or "none"
            raise ConfigError(
                f"no sync job named {str(name_or_path)!r} under {mappings_dir}/*/; "
                f"known jobs: {known}"
            )
        path = jobs[str(name_or_path)]
    if not path.is_file():
        raise ConfigError(f"{path}: no such sync job file")
    text = path.read_text(encoding="utf-8")
    return parse_model(SyncJobSpec, text, str(path), {"name": path.stem})
