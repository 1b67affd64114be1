"""Host processes of a run: finding them on the system and removing them from the record alone.

The local runtime records each service's process before starting it, then adds its group (pid,
start time) as soon as it exists.  ``xmtpd-e2e cleanup`` kills recorded groups -- only if the
pid still belongs to the process that was recorded -- and then every other process of the run
(one recorded before its pid was known, or a child), found by its run marker.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

from xmtpd_e2e.errors import WaitTimeout

from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.record import Reclaimer, RunState

__all__ = [
    "RUN_MARKER",
    "PROCESS_KIND",
    "PROCESSES",
    "process_start_time",
    "process_alive",
    "processes_of_run",
    "kill_group",
    "signal_group",
    "process_state",
    "wait_until_stopped",
    "gone_within",
]

RUN_MARKER = "XMTPD_E2E_RUN"
"""Environment variable set to the run id in every process the runtime starts.  Its pid is known
only once it exists, so a runner killed in between leaves a record without one; the marker
still finds the process."""

PROCESS_KIND = "process"


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3 onward of /proc/<pid>/stat (after the command name, which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/<pid>/stat), to detect pid reuse."""
    fields = _stat_fields(pid)
    return fields[19] if fields else None


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (orphans may wait long for a reaper)."""
    return process_state(pid) not in (None, "Z")


def processes_of_run(run_id: str) -> list[int]:
    """Pids of live processes of the run (Linux /proc), found two ways.

    By ``RUN_MARKER=run_id`` in their environment, and by a working directory inside the run's
    work dir (``.../<run_id>/...``): some programs overwrite their environment block to set their
    process title (redis-server does), which hides the marker but not the cwd.
    """
    needle = f"{RUN_MARKER}={run_id}".encode()
    in_run_dir = f"/{run_id}/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ours = needle in (entry / "environ").read_bytes().split(b"\0") or in_run_dir in os.readlink(entry / "cwd")
        except OSError:
            continue
        if ours and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of ``pid`` (R, S, D, T, Z, ...), None if it is gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def gone_within(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to end; whether it did."""
    try:
        wait_until(
            lambda: process_alive(pid),
            lambda alive: not alive,
            timeout=timeout,
            description=f"process {pid} to end",
            max_interval=0.05,
        )
    except WaitTimeout:
        return False
    return True


def wait_until_stopped(pid: int, timeout: float = 5.0) -> None:
    """Return once ``pid`` is stopped by a signal (state T) or gone."""
    wait_until(
        lambda: process_state(pid),
        lambda state: state in (None, "T", "t", "Z"),
        timeout=timeout,
        description=f"process {pid} to stop on SIGSTOP",
        first_interval=0.005,
        max_interval=0.05,
    )


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group that may already be gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_group(pgid: int, start_time: str | None) -> None:
    """SIGTERM, then SIGKILL, the group led by ``pgid`` -- unless that pid was reused since."""
    if start_time is not None and process_start_time(pgid) not in (None, start_time):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if gone_within(pgid, 3.0):
            return


def _remove_processes(state: RunState, logger: logging.Logger) -> list[str]:
    problems: list[str] = []
    for resource in state.resources(PROCESS_KIND):
        pgid = int(resource.details.get("pgid", 0))
        if pgid > 0:
            kill_group(pgid, resource.details.get("start_time"))
        if pgid <= 0 or not process_alive(pgid):
            state.forget(PROCESS_KIND, resource.ident)
        else:
            problems.append(f"process group {pgid} ({resource.ident}) survived SIGKILL")
    for pid in processes_of_run(state.run_id):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return problems


PROCESSES = Reclaimer((PROCESS_KIND,), _remove_processes, order=10)
