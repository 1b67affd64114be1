"""The project's own Postgres cluster on 127.0.0.1:8765 (user postgres, password xmtp).

Project-local: it lives in its own data directory and never touches a system-wide instance.
Postgres refuses to run as root, so when we are root the cluster belongs to the OS user
``postgres`` (which cannot read /root); otherwise it runs as the current user.
Containers reach it through the Docker bridge, so it listens on all interfaces and pg_hba only
admits loopback and Docker's private range.

Its data directory is in memory (``/dev/shm``, a tmpfs) when the machine has one with 2 GB free.  Every node
of every scenario gets a database created, migrated and dropped; on ext4, creating a relation's
files slows down with recent deletions (``bench/create_database.py``: 118 / 248 ms per ``CREATE
DATABASE`` after 60 / 1,000 creates and drops, 0.4 s in a long-lived cluster during a suite;
about 20 ms on tmpfs whatever came before).  Nothing in the
cluster outlives a run, so losing it on reboot costs one ``initdb`` at the next ``infra up``.
``XMTPD_E2E_POSTGRES_DIR`` puts it elsewhere (e.g. on disk, when memory is short).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from xmtpd_e2e.config import default_home
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runtime.ports import port_is_free

__all__ = ["PostgresCluster", "PORT", "ADMIN_DSN", "DIRECTORY_VARIABLE"]

DIRECTORY_VARIABLE = "XMTPD_E2E_POSTGRES_DIR"
_RAM = Path("/dev/shm")
_RAM_NEEDED = 2 << 30
"""A 50-node cluster's databases take about 0.5 GB; a container's default 64 MB /dev/shm would not do."""

PORT = 8765
ADMIN_DSN = f"postgres://postgres:xmtp@127.0.0.1:{PORT}/postgres?sslmode=disable"
_HBA = """local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host all all 172.16.0.0/12 scram-sha-256
host all all 192.168.0.0/16 scram-sha-256
"""
MAX_CONNECTIONS = 1000
"""Every xmtpd node holds a pgx pool of max(4, CPUs) connections to its database and the
framework one more per node (measured: 5 per node on 2 CPUs, 250 for a 50-node cluster --
``bench/scale.py``); 1000 leaves room for a 50-node cluster beside parallel suites."""
_SETTINGS = (
    "listen_addresses='*'",
    f"port={PORT}",
    f"max_connections={MAX_CONNECTIONS}",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "shared_buffers=256MB",
)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found and "postgresql" in os.path.realpath(found):
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return versions[-1]
    raise SetupError(
        f"the Postgres server program {name} is not installed",
        "run `xmtpd-e2e infra install` as root (installs Debian's postgresql) or `apt-get install postgresql`",
    )


@dataclass
class PostgresCluster:
    directory: Path
    os_user: str | None
    """Run the server as this OS user (when we are root), else as ourselves."""

    @classmethod
    def default(cls) -> PostgresCluster:
        configured = os.environ.get(DIRECTORY_VARIABLE)
        if configured:
            directory = Path(configured)
        elif _is_tmpfs(_RAM) and _free_bytes(_RAM) >= _RAM_NEEDED:
            directory = _RAM / ("xmtpd-e2e" if os.geteuid() == 0 else f"xmtpd-e2e-{os.geteuid()}") / "postgres"
        else:
            directory = _on_disk()
        return cls(directory, _os_user())

    @staticmethod
    def earlier() -> PostgresCluster:
        """Where the cluster lived before it moved to memory (still found running there)."""
        return PostgresCluster(_on_disk(), _os_user())

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "postgres.log"

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        if self.os_user:
            argv = ["runuser", "-u", self.os_user, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    def accepts_connections(self) -> bool:
        try:
            with psycopg.connect(ADMIN_DSN, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def is_ours_running(self) -> bool:
        return self._run([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "status"]).returncode == 0

    def ensure_running(self) -> str:
        """Initialise and start the cluster if needed; returns what was done.

        A running cluster of ours started with fewer than :data:`MAX_CONNECTIONS` is restarted
        to take the new setting -- but only while no other session is open, so tests running
        against it are never cut off; otherwise it keeps running and the answer says so.
        """
        if self.accepts_connections():
            moved = self._move_from_earlier_directory()
            if moved is None:
                return self._ensure_settings()
            return moved + " and " + self.ensure_running()
        if not port_is_free(PORT) and not self.is_ours_running():
            raise SetupError(
                f"port {PORT} is taken by something that does not accept postgres/xmtp",
                f"stop whatever listens on {PORT} (`ss -ltnp | grep {PORT}`), or point "
                "XMTPD_E2E_POSTGRES_DSN at a Postgres where user postgres/xmtp may create databases",
            )
        done = []
        if not (self.data_dir / "PG_VERSION").exists():
            self._init()
            done.append("initialised")
        if not self.is_ours_running():
            self._pg_ctl("start")
            done.append("started")
        if not self.accepts_connections():
            raise SetupError(f"Postgres runs in {self.data_dir} but refuses postgres/xmtp", f"see {self.log_file}")
        return " and ".join(done) or "running"

    def _pg_ctl(self, action: str) -> None:
        """``pg_ctl start`` or ``restart`` with :data:`_SETTINGS` (command-line settings win over
        the configuration files, so a restart is what changes them)."""
        mode = ["-m", "fast"] if action == "restart" else []
        completed = self._run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                *mode,
                "-o",
                " ".join(f"-c {s}" for s in _SETTINGS) + f" -c unix_socket_directories={self.directory}",
                action,
            ]
        )
        if completed.returncode != 0:
            raise SetupError(
                f"Postgres did not {action}: {completed.stderr.strip() or completed.stdout.strip()}",
                f"see {self.log_file}",
            )

    def _move_from_earlier_directory(self) -> str | None:
        """The cluster still running from its earlier directory is stopped (when no session is
        open) so this one starts in its place; None when there is nothing to move."""
        earlier = PostgresCluster.earlier()
        if earlier.directory == self.directory or not earlier.is_ours_running():
            return None
        if _other_sessions():
            return None  # moved at the next `infra up` when no test runs
        earlier.stop()
        return f"stopped the cluster in {earlier.data_dir} to start it in {self.data_dir}"

    def _ensure_settings(self) -> str:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3, autocommit=True) as conn:
            current = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
        if current >= MAX_CONNECTIONS:
            return "already running"
        if not self.is_ours_running():
            return (
                f"already running (max_connections={current}, not ours to restart; clusters beyond "
                f"{current // 5} nodes in all need max_connections={MAX_CONNECTIONS})"
            )
        others = _other_sessions()
        if others:
            return (
                f"already running with max_connections={current}; not restarted to raise it to "
                f"{MAX_CONNECTIONS} while {others} other sessions are open (run `xmtpd-e2e infra up` again "
                "when no test runs)"
            )
        self._pg_ctl("restart")
        return f"restarted to raise max_connections from {current} to {MAX_CONNECTIONS}"

    def _init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.os_user:
            shutil.chown(self.directory, self.os_user, self.os_user)
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".pw") as pwfile:
            pwfile.write("xmtp\n")
        os.chmod(pwfile.name, 0o644)
        try:
            created = self._run(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    f"--pwfile={pwfile.name}",
                    "-A",
                    "scram-sha-256",
                    "--no-sync",
                ]
            )
        finally:
            os.unlink(pwfile.name)
        if created.returncode != 0:
            raise SetupError(f"initdb failed: {created.stderr.strip()}", f"remove {self.data_dir} and retry")
        (self.data_dir / "pg_hba.conf").write_text(_HBA)
        if self.os_user:
            shutil.chown(self.data_dir / "pg_hba.conf", self.os_user, self.os_user)

    def stop(self) -> str:
        if not self.is_ours_running():
            earlier = PostgresCluster.earlier()
            if earlier.directory != self.directory and earlier.is_ours_running():
                return earlier.stop()
            return "not running"
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return "stopped"


def _os_user() -> str | None:
    """Postgres refuses to run as root: then the cluster belongs to the OS user ``postgres``."""
    return "postgres" if os.geteuid() == 0 else None


def _on_disk() -> Path:
    """``postgres`` cannot read /root, so as root the on-disk cluster lives in /var/lib."""
    return Path("/var/lib/xmtpd-e2e/postgres") if os.geteuid() == 0 else default_home() / "postgres"


def _is_tmpfs(path: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(len(f := line.split()) > 2 and f[1] == str(path) and f[2] == "tmpfs" for line in mounts)


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _other_sessions() -> int:
    with psycopg.connect(ADMIN_DSN, connect_timeout=3, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0
