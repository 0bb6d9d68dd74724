"""Job liveness locks: held by a running import for its whole life, freed when it ends or dies.

A job row that says "running" may belong to a live process or to one that was killed. The lock
tells them apart: PostgreSQL keeps a session advisory lock on a connection of the job's own
(the server frees it when the connection closes, SIGKILL included); SQLite uses an exclusive
``flock`` on a small file beside the database (the kernel frees it when the process dies).
Hand-written because neither SQLAlchemy nor a small library offers a lock that spans both.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["JobLock"]

#: First key of the two-key advisory lock space, per kind of job ("CNVJ", "CNVS").
_PG_LOCK_CLASS = {"import": 0x434E564A & 0x7FFFFFFF, "sync": 0x434E5653 & 0x7FFFFFFF}


class JobLock:
    """An exclusive, non-blocking lock named by a job id in the target database. ``kind``
    keeps import jobs and sync jobs (whose id is a hash of their name) apart."""

    def __init__(
        self, engine: Engine, job_id: int, kind: Literal["import", "sync"] = "import"
    ) -> None:
        self.engine = engine
        self.job_id = job_id
        self.kind = kind
        self._conn: sa.Connection | None = None
        self._file: IO[bytes] | None = None
        self._path: Path | None = None

    def acquire(self) -> bool:
        """Take the lock; False when another live process holds it."""
        if self.engine.dialect.name == "postgresql":
            return self._acquire_pg()
        return self._acquire_file()

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # the session lock goes with the connection
            self._conn = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
            if self._path is not None:
                self._path.unlink(missing_ok=True)

    def _acquire_pg(self) -> bool:
        conn = self.engine.connect()
        lock_class = _PG_LOCK_CLASS[self.kind]
        query = sa.select(sa.func.pg_try_advisory_lock(lock_class, self.job_id % 2**31))
        taken = bool(conn.execute(query).scalar_one())
        conn.commit()
        if not taken:
            conn.close()
            return False
        self._conn = conn
        return True

    def _acquire_file(self) -> bool:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True  # an in-memory database lives and dies with this process
        name = "job" if self.kind == "import" else self.kind
        path = Path(f"{database}.conveyor-{name}-{self.job_id}.lock")
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        os.set_inheritable(handle.fileno(), False)
        self._file, self._path = handle, path
        return True
