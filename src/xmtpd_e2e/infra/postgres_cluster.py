"""The project's own Postgres cluster on 127.0.0.1:8765 (user postgres, password xmtp).

Project-local: it lives in its own data directory and never touches a system-wide instance.
Postgres refuses to run as root, so when we are root the cluster belongs to the OS user
``postgres`` and lives in ``/var/lib/xmtpd-e2e/postgres`` (that user cannot read /root);
otherwise it lives under ``$XMTPD_E2E_HOME/postgres`` and runs as the current user.
Containers reach it through the Docker bridge, so it listens on all interfaces and pg_hba only
admits loopback and Docker's private range.
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

__all__ = ["PostgresCluster", "PORT", "ADMIN_DSN"]

PORT = 8765
ADMIN_DSN = f"postgres://postgres:xmtp@127.0.0.1:{PORT}/postgres?sslmode=disable"
_HBA = """local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host all all 172.16.0.0/12 scram-sha-256
host all all 192.168.0.0/16 scram-sha-256
"""
_SETTINGS = (
    "listen_addresses='*'", f"port={PORT}", "max_connections=500", "fsync=off",
    "synchronous_commit=off", "full_page_writes=off", "shared_buffers=256MB",
)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found and "postgresql" in os.path.realpath(found):
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return versions[-1]
    raise SetupError(f"the Postgres server program {name} is not installed",
                     "run `scripts/setup` (installs Debian's postgresql) or `apt-get install postgresql`")


@dataclass
class PostgresCluster:
    directory: Path
    os_user: str | None
    """Run the server as this OS user (when we are root), else as ourselves."""

    @classmethod
    def default(cls) -> PostgresCluster:
        if os.geteuid() == 0:
            return cls(Path("/var/lib/xmtpd-e2e/postgres"), "postgres")
        return cls(default_home() / "postgres", None)

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
        """Initialise and start the cluster if needed; returns what was done."""
        if self.accepts_connections():
            return "already running"
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
            started = self._run([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                                 "-o", " ".join(f"-c {s}" for s in _SETTINGS) + f" -c unix_socket_directories={self.directory}",
                                 "start"])
            if started.returncode != 0:
                raise SetupError(f"Postgres did not start: {started.stderr.strip() or started.stdout.strip()}",
                                 f"see {self.log_file}")
            done.append("started")
        if not self.accepts_connections():
            raise SetupError(f"Postgres runs in {self.data_dir} but refuses postgres/xmtp", f"see {self.log_file}")
        return " and ".join(done) or "running"

    def _init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.os_user:
            shutil.chown(self.directory, self.os_user, self.os_user)
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".pw") as pwfile:
            pwfile.write("xmtp\n")
        os.chmod(pwfile.name, 0o644)
        try:
            created = self._run([_pg_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres",
                                 f"--pwfile={pwfile.name}", "-A", "scram-sha-256", "--no-sync"])
        finally:
            os.unlink(pwfile.name)
        if created.returncode != 0:
            raise SetupError(f"initdb failed: {created.stderr.strip()}", f"remove {self.data_dir} and retry")
        (self.data_dir / "pg_hba.conf").write_text(_HBA)
        if self.os_user:
            shutil.chown(self.data_dir / "pg_hba.conf", self.os_user, self.os_user)

    def stop(self) -> str:
        if not self.is_ours_running():
            return "not running"
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return "stopped"
