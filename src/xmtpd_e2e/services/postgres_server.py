"""A Postgres server of one environment's own, in the *durable* profile, that may be crashed.

The shared server (``infra.postgres_cluster``) runs with ``fsync=off`` and
``synchronous_commit=off``: fast, and fine for tests that never crash it -- but a commit is
acknowledged before its WAL record is written, so a crash of the server loses the last commits
every client was told had succeeded.  And it serves every run on the machine, so it must never
be killed.

The durable profile is one server per environment (initdb into a directory named with the run
and environment ids, a free port) with ``fsync=on``, ``synchronous_commit=on`` and
``full_page_writes=on``: a commit is acknowledged only once its WAL is on disk, so after
:meth:`EnvironmentPostgres.crash` (SIGKILL of the postmaster and every backend, mid-write) and
:meth:`EnvironmentPostgres.start` (crash recovery replays the WAL), everything acknowledged is
there.  The server, its directory and its port are recorded before they exist and removed by
the environment's close or ``xmtpd-e2e cleanup`` (:data:`SERVERS`).

Runs on the machine the framework runs on, so services reach it as they reach the shared
server (``Runtime.reach_host_port``): the local and docker runtimes.  Kubernetes environments
have a Postgres pod of their own already.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from xmtpd_e2e.config import default_home
from xmtpd_e2e.errors import ServiceError, SetupError
from xmtpd_e2e.infra.postgres_cluster import _pg_bin
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.record import Reclaimer, RunState
from xmtpd_e2e.runtime.base import PostgresAccess
from xmtpd_e2e.runtime.ports import PortAllocator

__all__ = ["EnvironmentPostgres", "DURABLE_SETTINGS", "SERVER_KIND", "SERVERS"]

SERVER_KIND = "postgres-server"
DURABLE_SETTINGS = (
    "listen_addresses='*'",
    "fsync=on",
    "synchronous_commit=on",
    "full_page_writes=on",
    "max_connections=300",
    "shared_buffers=32MB",
)
_HBA = """local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all 10.0.0.0/8 scram-sha-256
host all all 172.16.0.0/12 scram-sha-256
host all all 192.168.0.0/16 scram-sha-256
"""
PASSWORD = "xmtp"


def _servers_root() -> tuple[Path, str | None]:
    """Where servers live, and the OS user they run as: Postgres refuses to run as root, and the
    ``postgres`` user cannot reach /root, so as root they live under /var/lib."""
    if os.geteuid() == 0:
        return Path("/var/lib/xmtpd-e2e/servers"), "postgres"
    return default_home() / "servers", None


@dataclass
class EnvironmentPostgres:
    """See module docstring."""

    directory: Path
    port: int
    os_user: str | None
    run_state: RunState | None = None
    killed: list[int] = field(default_factory=list)
    """The processes the last :meth:`crash` killed."""

    @classmethod
    def create(cls, run_state: RunState, env_id: str) -> EnvironmentPostgres:
        """Record, initialise and start a durable server for environment ``env_id``."""
        root, os_user = _servers_root()
        server = cls(root / f"e2e_{run_state.run_id}_{env_id}", PortAllocator().allocate(), os_user, run_state)
        run_state.record(SERVER_KIND, str(server.directory), os_user=os_user or "", port=server.port)
        server._init()
        server.start()
        return server

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def admin_dsn(self) -> str:
        return f"postgres://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def access(self) -> PostgresAccess:
        """For the environment: its databases live and die with this server."""
        return PostgresAccess(self.admin_dsn, self.admin_dsn, disposable=True)

    def settings(self) -> dict[str, str]:
        """The settings the running server reports (``fsync``, ``synchronous_commit``...)."""
        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (["fsync", "synchronous_commit", "full_page_writes"],),
            ).fetchall()
        return {str(name): str(value) for name, value in rows}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the server (after a crash: crash recovery first) and wait until it answers."""
        options = " ".join(f"-c {s}" for s in DURABLE_SETTINGS)
        options += f" -c port={self.port} -c unix_socket_directories={self.directory}"
        self._run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.directory / "postgres.log"),
                "-w",
                "-t",
                "120",
                "-o",
                options,
                "start",
            ],
            "start",
        )
        wait_until(self._answers, bool, timeout=60, description=f"Postgres on port {self.port} to accept sessions")

    def crash(self) -> None:
        """SIGKILL the postmaster and every process it started, at once: no checkpoint, no
        shutdown, whatever was in flight is cut off.  :attr:`killed` lists the pids."""
        postmaster = self._postmaster_pid()
        if postmaster is None:
            raise ServiceError(f"the Postgres server in {self.data_dir} is not running; nothing to crash")
        os.kill(postmaster, signal.SIGSTOP)  # frozen, it forks no backend we would miss
        pids = [*_children(postmaster), postmaster]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(
            lambda: [pid for pid in pids if _alive(pid)],
            lambda alive: not alive,
            timeout=30,
            description="every killed Postgres process to be gone",
        )
        # Its lock files name a process that is gone (or a zombie nobody reaps here, which the
        # new postmaster would take for a running server): crash recovery only needs the data.
        for lock in (self.data_dir / "postmaster.pid", self.directory / f".s.PGSQL.{self.port}.lock"):
            lock.unlink(missing_ok=True)
        self.killed = pids

    def remove(self) -> None:
        """Stop the server at once and delete its directory (its databases go with it)."""
        stop_and_delete(self.directory, self.os_user)
        if self.run_state is not None:
            self.run_state.forget(SERVER_KIND, str(self.directory))

    # -- internals ------------------------------------------------------------------------------
    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.admin_dsn, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def _postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except FileNotFoundError:
            return None
        pid = int(first)
        return pid if _alive(pid) else None

    def _init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        password_file = self.directory / "password"
        password_file.write_text(PASSWORD + "\n")
        if self.os_user:
            shutil.chown(self.directory, self.os_user, self.os_user)
            shutil.chown(password_file, self.os_user, self.os_user)
        argv = [_pg_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres", f"--pwfile={password_file}"]
        self._run([*argv, "-A", "scram-sha-256", "--no-sync"], "initialise")
        password_file.unlink()
        (self.data_dir / "pg_hba.conf").write_text(_HBA)
        if self.os_user:
            shutil.chown(self.data_dir / "pg_hba.conf", self.os_user, self.os_user)

    def _run(self, argv: list[str], what: str) -> None:
        completed = _as_user(argv, self.os_user)
        if completed.returncode != 0:
            raise SetupError(
                f"the environment's Postgres server did not {what}: {(completed.stderr or completed.stdout).strip()}",
                f"see {self.directory / 'postgres.log'}",
            )


def _as_user(argv: list[str], os_user: str | None) -> subprocess.CompletedProcess[str]:
    if os_user:
        argv = ["runuser", "-u", os_user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=180)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return children


def stop_and_delete(directory: Path, os_user: str | None) -> None:
    data_dir = directory / "data"
    if (data_dir / "postmaster.pid").exists():
        _as_user([_pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"], os_user)
    shutil.rmtree(directory, ignore_errors=True)
    if directory.exists():
        raise ServiceError(f"could not delete the Postgres server directory {directory}")


def _reclaim(state: RunState, logger: logging.Logger) -> list[str]:
    problems: list[str] = []
    for resource in state.resources(SERVER_KIND):
        try:
            stop_and_delete(Path(resource.ident), str(resource.details.get("os_user") or "") or None)
            state.forget(SERVER_KIND, resource.ident)
        except Exception as error:
            problems.append(f"Postgres server {resource.ident}: {error}")
    return problems


SERVERS = Reclaimer((SERVER_KIND,), _reclaim, order=45)
"""Environments' own Postgres servers, stopped and deleted with their data."""
