"""A PostgreSQL server for tests: the one configured, the local one, or a throwaway cluster.

``find_or_start_postgres()`` returns a server URL (SQLAlchemy form, psycopg 3 driver):

1. ``CONVEYOR_TEST_DATABASE_URL`` when set;
2. else ``127.0.0.1:5432`` as user ``postgres`` when it answers;
3. else a throwaway cluster made with ``initdb``/``pg_ctl`` in a temporary folder, on a free
   port, stopped and removed when the process exits. Those programs refuse to run as root, so
   as root they run as the ``postgres`` user through ``runuser``.

``create_test_database(server_url)`` then makes a fresh, uniquely named database for one test run.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = [
    "ENV_VAR",
    "SEARCH_PATHS",
    "PostgresUnavailable",
    "ThrowawayCluster",
    "create_test_database",
    "find_or_start_postgres",
    "start_throwaway_cluster",
]

ENV_VAR = "CONVEYOR_TEST_DATABASE_URL"
#: Where Debian-style packages put initdb and pg_ctl (newest version first).
SEARCH_PATHS = ("/usr/lib/postgresql/*/bin",)
LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

HOW_TO_GET_ONE = (
    f"set {ENV_VAR} to a server URL such as "
    "postgresql://postgres@127.0.0.1:5432/postgres (the user must be allowed to create "
    "databases), run PostgreSQL on 127.0.0.1:5432 with user postgres, or install it so that "
    "initdb and pg_ctl are found (Debian: apt-get install postgresql)"
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found or started; the message says how to get one."""


@dataclass
class ThrowawayCluster:
    """A cluster started for this process; ``stop()`` ends it and removes its folder."""

    url: str
    folder: Path
    pg_ctl: Path
    as_user: str | None

    def stop(self) -> None:
        data = self.folder / "data"
        if data.exists():
            _run(
                [str(self.pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"],
                self.as_user,
                check=False,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def find_or_start_postgres(*, use_env: bool = True, try_local: bool = True) -> str:
    """A PostgreSQL server URL; raises PostgresUnavailable saying how to get one."""
    configured = os.environ.get(ENV_VAR) if use_env else None
    if configured:
        return configured
    if try_local and _answers(LOCAL_URL):
        return LOCAL_URL
    return start_throwaway_cluster().url


def start_throwaway_cluster(search: Sequence[str] = SEARCH_PATHS) -> ThrowawayCluster:
    """Start a new cluster (``--no-sync``, trust auth, 127.0.0.1 only), stopped at exit.

    initdb and pg_ctl are looked up on PATH, then in the ``search`` folder patterns.
    """
    initdb, pg_ctl = _find_programs(search)
    as_user = _run_as_user()
    folder = Path(tempfile.mkdtemp(prefix="conveyor-pg-"))
    cluster: ThrowawayCluster | None = None
    try:
        (folder / "socket").mkdir()
        if as_user:
            for path in (folder, folder / "socket"):
                shutil.chown(path, user=as_user)
        data = folder / "data"
        _run(
            [str(initdb), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--no-sync", "--no-instructions"],
            as_user,
        )  # fmt: skip
        port = _free_port()
        options = f"-p {port} -k {folder / 'socket'} -c listen_addresses=127.0.0.1 -c fsync=off"
        cluster = ThrowawayCluster(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", folder, pg_ctl, as_user
        )
        _run(
            [str(pg_ctl), "-D", str(data), "-l", str(folder / "server.log"), "-o", options,
             "-w", "-t", "60", "start"],
            as_user,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        if cluster is not None:
            cluster.stop()
        else:
            shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(
            f"could not start a throwaway PostgreSQL cluster ({_describe(exc)}); {HOW_TO_GET_ONE}"
        ) from None
    atexit.register(cluster.stop)
    return cluster


def create_test_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the server: its URL and a function that drops it."""
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"conveyor_test_{uuid.uuid4().hex[:12]}"
    with _admin(server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop() -> None:
        with _admin(server_url) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return server.set(database=name).render_as_string(hide_password=False), drop


def _admin(server_url: str) -> psycopg.Connection[Any]:
    url = make_url(server_url)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or None,
        dbname=url.database or "postgres",
        connect_timeout=5,
        autocommit=True,
    )


def _answers(url: str) -> bool:
    try:
        with contextlib.closing(_admin(url)):
            return True
    except psycopg.Error:
        return False


def _find_programs(search: Sequence[str]) -> tuple[Path, Path]:
    found = shutil.which("initdb"), shutil.which("pg_ctl")
    if found[0] and found[1]:
        return Path(found[0]), Path(found[1])
    folders = [folder for pattern in search for folder in glob.glob(pattern)]
    for folder in sorted(folders, key=_version, reverse=True):
        initdb, pg_ctl = Path(folder, "initdb"), Path(folder, "pg_ctl")
        if initdb.exists() and pg_ctl.exists():
            return initdb, pg_ctl
    raise PostgresUnavailable(
        f"no PostgreSQL server answers and initdb/pg_ctl were not found; {HOW_TO_GET_ONE}"
    )


def _version(folder: str) -> int:
    name = Path(folder).parent.name
    return int(name) if name.isdigit() else 0


def _run_as_user() -> str | None:
    """initdb and pg_ctl refuse root: as root, run them as the postgres user."""
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable(f"running as root and runuser is missing; {HOW_TO_GET_ONE}")
    return "postgres"


def _run(command: list[str], as_user: str | None, *, check: bool = True) -> None:
    if as_user:
        command = ["runuser", "-u", as_user, "--", *command]
    subprocess.run(command, check=check, capture_output=True, timeout=120, cwd="/")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _describe(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        output = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        program = next((Path(c).name for c in exc.cmd if c.endswith(("initdb", "pg_ctl"))), "")
        return f"{program or exc.cmd[0]} failed: {' '.join(output[-3:])}"
    return str(exc)
