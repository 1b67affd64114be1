"""The cluster's daemons: started detached (they outlive the command that started them), each
with a pid file holding its start time, so a later ``down`` stops exactly them and never a
recycled pid.  A daemon of a node in its own network namespace is started through ``nsenter
--net`` (which keeps the host's mount namespace, so the kubelet and containerd see each other's
mounts)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xmtpd_e2e.errors import SetupError

__all__ = [
    "Daemon",
    "start_daemon",
    "stop_daemon",
    "daemon_running",
    "start_time_of",
    "log_tail",
    "unix_socket_accepts",
]


@dataclass(frozen=True)
class Daemon:
    name: str
    argv: Sequence[str]
    netns: str | None = None
    env: Mapping[str, str] | None = None


def start_time_of(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None if it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def _pid_file(pid_dir: Path, name: str) -> Path:
    return pid_dir / f"{name}.json"


def _recorded(pid_dir: Path, name: str) -> tuple[int, str] | None:
    try:
        record = json.loads(_pid_file(pid_dir, name).read_text())
    except (OSError, ValueError):
        return None
    return int(record["pid"]), str(record["start_time"])


def daemon_running(pid_dir: Path, name: str) -> bool:
    record = _recorded(pid_dir, name)
    if record is None:
        return False
    pid, start_time = record
    return start_time_of(pid) == start_time


def unix_socket_accepts(path: Path) -> bool:
    """Whether a daemon listens on the Unix socket at ``path``.

    The file alone proves nothing: a daemon killed (or a host restarted with ``/run`` kept) leaves
    its socket file behind, and a client dialling it before the new daemon binds is refused.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def log_tail(log_dir: Path, name: str, lines: int = 8) -> str:
    try:
        return "\n".join((log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_daemon(daemon: Daemon, pid_dir: Path, log_dir: Path) -> int:
    """Start ``daemon`` unless it already runs; returns its pid."""
    pid_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    if daemon_running(pid_dir, daemon.name):
        record = _recorded(pid_dir, daemon.name)
        assert record is not None
        return record[0]
    argv = list(daemon.argv)
    if daemon.netns:
        argv = ["nsenter", f"--net=/run/netns/{daemon.netns}", "--", *argv]
    env = dict(os.environ)
    env.update(daemon.env or {})
    with (log_dir / f"{daemon.name}.log").open("ab") as log:
        log.write(f"---- xmtpd-e2e: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            raise SetupError(
                f"cannot start {daemon.name} ({argv[0]}): {error}", "run `scripts/setup --kubernetes`"
            ) from error
    start_time = None
    for _ in range(50):
        start_time = start_time_of(process.pid)
        if start_time is not None:
            break
        time.sleep(0.01)
    _pid_file(pid_dir, daemon.name).write_text(json.dumps({"pid": process.pid, "start_time": start_time, "argv": argv}))
    return process.pid


def stop_daemon(pid_dir: Path, name: str, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; forgets the pid file.  Idempotent."""
    record = _recorded(pid_dir, name)
    if record is None:
        return
    pid, start_time = record
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if start_time_of(pid) != start_time:
            break
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and start_time_of(pid) == start_time:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
    _pid_file(pid_dir, name).unlink(missing_ok=True)
