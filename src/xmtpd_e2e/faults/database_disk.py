"""One node's database out of disk space, the others untouched.

The node's database is moved (``ALTER DATABASE ... SET TABLESPACE``) into a tablespace on a
tmpfs of its own, sized a little over the database, and the rest of that filesystem is filled
with a file.  From then on every write that needs a new page fails in Postgres with ``could not
extend file ...: No space left on device`` -- what a node meets when its volume fills up --
while the write-ahead log (on the server's own disk) and every other node's database go on.
Healing deletes the filler (space is back at once), then moves the database home and removes
the tablespace and the mount.

Moving a database needs it to have no sessions, so applying and healing each cut the node off
its database for a moment (as :class:`~xmtpd_e2e.faults.database.ConnectionsRefused` does).

Needs the server on this machine (its data directory visible here) and root (to mount); the
kubernetes runtime's Postgres runs in a pod, where this is refused with the reason.  Every mount
and tablespace is named after the database (which carries the run id), recorded before it is
created, and removed by close or ``xmtpd-e2e cleanup`` (:data:`TABLESPACES`).
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from pathlib import Path

import psycopg

from xmtpd_e2e.errors import ServiceError, SetupError
from xmtpd_e2e.faults.database import DatabaseTarget, drain_sessions, set_allow_connections
from xmtpd_e2e.record import Reclaimer, RunState

__all__ = ["DiskFull", "TABLESPACE_KIND", "TABLESPACES", "TABLESPACE_ROOT", "unavailable_reason"]

TABLESPACE_KIND = "tablespace"
TABLESPACE_ROOT = Path("/var/lib/xmtpd-e2e/tablespaces")
"""Outside /root: the server runs as the OS user ``postgres``, which must reach the mount."""
HEADROOM_BYTES = 4 * 1024 * 1024
"""Room over the database's size when the filesystem is made, before the filler takes it."""
FILLER = "filler"
_CHUNK = b"\0" * (1024 * 1024)


def _tablespace_name(database: str) -> str:
    return f"{database}_full"


def unavailable_reason(admin_dsn: str) -> SetupError | None:
    """Why the fault cannot act on this server (with the fix), or None."""
    if os.geteuid() != 0:
        return SetupError(
            "a database out of disk space needs root here (it mounts a size-limited tmpfs)",
            "run as root, or leave this fault out",
        )
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    data_dir = Path(str(row[0])) if row else None
    if data_dir is None or not (data_dir / "PG_VERSION").is_file():
        return SetupError(
            f"the Postgres server's data directory {data_dir} is not on this machine (on kubernetes it is in "
            "the environment's Postgres pod), so no tablespace can be placed on a small filesystem for it",
            "use the local or docker runtime, whose nodes' databases live on the host's server",
        )
    return None


def _server_owner(admin_dsn: str) -> tuple[int, int]:
    """uid and gid of the server's data directory: the OS user the server runs as."""
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    stat = os.stat(str(row[0]) if row else "/")
    return stat.st_uid, stat.st_gid


class DiskFull:
    """See module docstring."""

    def __init__(self, target: DatabaseTarget, run_state: RunState) -> None:
        self.target = target
        self._state = run_state
        self.tablespace = _tablespace_name(target.name)
        self.mountpoint = TABLESPACE_ROOT / self.tablespace

    def describe(self) -> str:
        return f"{self.target.alias}: database {self.target.name} on a full {self.mountpoint} (tablespace {self.tablespace})"

    # -- apply ----------------------------------------------------------------------------------
    def install(self) -> None:
        problem = unavailable_reason(self.target.admin_dsn)
        if problem is not None:
            raise problem
        if not os.path.ismount(self.mountpoint):
            self._mount()
            # The filler's inode is made while the mount is empty: a database that grew under
            # traffic between sizing the mount and moving onto it can take every byte, and then
            # creating a file fails with ENOSPC too (seen on a loaded machine).
            (self.mountpoint / FILLER).touch()
        try:
            self._create_tablespace()
            if self._current_tablespace() != self.tablespace:
                self._move_database(self.tablespace)
            self._fill()
        except BaseException:
            self.remove()  # a half-made fault leaves no tablespace or mount behind
            raise

    def _mount(self) -> None:
        size = self._database_bytes() + HEADROOM_BYTES
        self._state.record(TABLESPACE_KIND, self.tablespace, dsn=self.target.admin_dsn, mountpoint=str(self.mountpoint))
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        _run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={size},mode=0700",
                f"xmtpd-e2e-{self.tablespace}",
                str(self.mountpoint),
            ]
        )
        uid, gid = _server_owner(self.target.admin_dsn)
        os.chown(self.mountpoint, uid, gid)
        (self.mountpoint / "data").mkdir(exist_ok=True)
        os.chown(self.mountpoint / "data", uid, gid)

    def _create_tablespace(self) -> None:
        with psycopg.connect(self.target.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_tablespace WHERE spcname = %s", (self.tablespace,)).fetchone()
            if not exists:
                conn.execute(f"CREATE TABLESPACE \"{self.tablespace}\" LOCATION '{self.mountpoint / 'data'}'")

    def _fill(self) -> None:
        """Write zeros until the filesystem refuses (ENOSPC): every byte of headroom is taken."""
        with open(self.mountpoint / FILLER, "ab") as filler:
            try:
                while True:
                    filler.write(_CHUNK)
                    filler.flush()
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
        # tmpfs may still take a part of a chunk: fill to the last byte.
        with open(self.mountpoint / FILLER, "ab", buffering=0) as filler:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        filler.write(b"\0" * size)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise

    def in_force(self) -> bool:
        """Whether the database sits on the mount and the filler is there."""
        if not os.path.ismount(self.mountpoint) or not (self.mountpoint / FILLER).exists():
            return False
        try:
            return self._current_tablespace() == self.tablespace
        except psycopg.errors.InvalidCatalogName:
            return False

    # -- heal -----------------------------------------------------------------------------------
    def remove(self) -> None:
        if not os.path.ismount(self.mountpoint):
            return
        (self.mountpoint / FILLER).unlink(missing_ok=True)
        try:
            if self._current_tablespace() == self.tablespace:
                self._move_database("pg_default")
        except psycopg.errors.InvalidCatalogName:
            pass  # the database is gone (the environment closed it): only the tablespace is left
        remove_tablespace(self.target.admin_dsn, self.tablespace, str(self.mountpoint))
        self._state.forget(TABLESPACE_KIND, self.tablespace)

    # -- internals ------------------------------------------------------------------------------
    def _database_bytes(self) -> int:
        with psycopg.connect(self.target.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (self.target.name,)).fetchone()
        return int(row[0]) if row else 0

    def _current_tablespace(self) -> str:
        with psycopg.connect(self.target.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT t.spcname FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace"
                " WHERE d.datname = %s",
                (self.target.name,),
            ).fetchone()
        if row is None:
            raise psycopg.errors.InvalidCatalogName(f"database {self.target.name} does not exist")
        return str(row[0])

    def _move_database(self, tablespace: str) -> None:
        """Move the database: refuse new sessions, end the old ones, move, let them in again."""
        set_allow_connections(self.target.admin_dsn, self.target.name, False)
        try:
            for attempt in range(5):
                drain_sessions(self.target)
                try:
                    with psycopg.connect(self.target.admin_dsn, autocommit=True, connect_timeout=10) as conn:
                        conn.execute(f'ALTER DATABASE "{self.target.name}" SET TABLESPACE "{tablespace}"')
                    return
                except psycopg.errors.ObjectInUse:
                    if attempt == 4:
                        raise
        finally:
            set_allow_connections(self.target.admin_dsn, self.target.name, True)


def remove_tablespace(admin_dsn: str, tablespace: str, mountpoint: str) -> None:
    """Drop the tablespace (it must hold no database by now), unmount and remove its directory."""
    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP TABLESPACE IF EXISTS "{tablespace}"')
    except psycopg.Error as error:
        raise ServiceError(f"could not drop tablespace {tablespace}: {error}") from error
    if os.path.ismount(mountpoint):
        _run(["umount", mountpoint])
    try:
        os.rmdir(mountpoint)
    except FileNotFoundError:
        pass


def _run(argv: list[str]) -> None:
    completed = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if completed.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed: {(completed.stderr or completed.stdout).strip()}")


def _reclaim(state: RunState, logger: logging.Logger) -> list[str]:
    """After the run's databases are dropped (order 50): their tablespaces and mounts."""
    problems: list[str] = []
    for resource in state.resources(TABLESPACE_KIND):
        try:
            mountpoint = str(resource.details["mountpoint"])
            if os.path.ismount(mountpoint):
                (Path(mountpoint) / FILLER).unlink(missing_ok=True)
            remove_tablespace(str(resource.details["dsn"]), resource.ident, mountpoint)
            state.forget(TABLESPACE_KIND, resource.ident)
        except Exception as error:
            problems.append(f"tablespace {resource.ident}: {error}")
    return problems


TABLESPACES = Reclaimer((TABLESPACE_KIND,), _reclaim, order=55)
"""Tablespaces and their tmpfs mounts left by a disk-full fault, removed after the databases."""
