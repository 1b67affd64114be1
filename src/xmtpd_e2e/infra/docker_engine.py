"""The Docker engine: use a running one; as root on Debian, start ``dockerd`` ourselves.

A dockerd we started is recorded in ``$XMTPD_E2E_HOME/state/dockerd.pid`` so ``infra down``
stops only that one, never an engine the user runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from xmtpd_e2e.config import default_home
from xmtpd_e2e.errors import SetupError, WaitTimeout
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runtime.docker import docker_engine_answers
from xmtpd_e2e.runtime.processes import gone_within

__all__ = ["ensure_docker_engine", "stop_our_dockerd", "docker_engine_answers"]


def _state_dir() -> Path:
    path = default_home() / "state"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_docker_engine(timeout: float = 60.0) -> str:
    if docker_engine_answers():
        return "already running"
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise SetupError(
            "no Docker engine answers and dockerd is not installed",
            "run `xmtpd-e2e infra install` as root (installs Debian's docker.io), install Docker, "
            "or use --runtime local",
        )
    if os.geteuid() != 0:
        raise SetupError(
            "no Docker engine answers, and only root may start dockerd",
            "start Docker (e.g. `sudo systemctl start docker`) and make sure you may use it "
            "(docker group), or use --runtime local",
        )
    log = _state_dir() / "dockerd.log"
    with log.open("ab") as handle:
        process = subprocess.Popen([dockerd], stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    (_state_dir() / "dockerd.pid").write_text(str(process.pid))
    try:
        wait_until(
            lambda: process.poll() is not None or docker_engine_answers(),
            bool,
            timeout=timeout,
            description="dockerd to answer",
            max_interval=0.5,
        )
    except WaitTimeout:
        pass
    if process.poll() is None and docker_engine_answers():
        return f"started dockerd (pid {process.pid}, log {log})"
    tail = log.read_text(errors="replace").splitlines()[-15:]
    raise SetupError("dockerd did not come up:\n  " + "\n  ".join(tail), f"see {log}")


def stop_our_dockerd() -> str:
    pid_file = _state_dir() / "dockerd.pid"
    if not pid_file.exists():
        return "not started by xmtpd-e2e"
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink()
        return "was not running"
    gone_within(pid, 10.0)
    pid_file.unlink(missing_ok=True)
    return "stopped"
