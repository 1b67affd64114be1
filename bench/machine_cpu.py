"""Where a run's CPU went: the whole machine's, and every process's grouped by what it is.

The machine's busy time comes from ``/proc/stat`` (exact).  Per process, a thread reads every
``/proc/<pid>/stat`` every 0.3 s and keeps each process's last own user + system time (children
not included, so nothing is counted twice); processes that live less than a sample are missed,
so the groups add up to less than the machine's total -- the difference is named ``unattributed``
(short-lived commands, kernel threads, interrupts).  The sampling costs CPU too, on the machine it
measures: it is reported as its own group (a process's command line is read once, not per sample:
re-reading them all every 0.3 s cost 9 CPU-s over a 77 s suite run; read again after an exec).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["CpuAccount"]

_TICKS = os.sysconf("SC_CLK_TCK")
_SAMPLE_S = 0.3
_GROUPS = (
    ("xmtpd nodes and gateways", ("replication", "xmtpd", "gateway", "xmtpd-gateway")),
    ("postgres", ("postgres",)),
    (
        "docker (dockerd, containerd, runc, docker-proxy)",
        ("dockerd", "containerd", "containerd-shim", "runc", "exe", "docker-proxy"),
    ),
    ("chain, redis, toxiproxy, validation", ("anvil", "redis-server", "toxiproxy", "mls-validation-")),
)
_FRAMEWORK = "framework (runner, workers)"
_SAMPLER = "measuring (this CPU account's sampling)"


def _group(comm: str, command_line: str) -> str:
    for name, commands in _GROUPS:
        if comm in commands:
            return name
    if comm == "xmtpd-e2e" or (comm.startswith("python") and "xmtpd_e2e" in command_line):
        return _FRAMEWORK
    return "other processes"


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class CpuAccount:
    """``with CpuAccount() as account: ...`` then ``account.summary()``."""

    def __init__(self) -> None:
        self._first: dict[tuple[int, int], float] = {}
        self._last: dict[tuple[int, int], tuple[str, float]] = {}
        self._sampler_seconds = 0.0
        self._groups: dict[tuple[int, int], tuple[str, str]] = {}
        """(comm, group) per process: its command line is read again only when its comm changes."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="cpu-account", daemon=True)
        self._machine_before = (0, 0)
        self._machine_after = (0, 0)

    def __enter__(self) -> CpuAccount:
        self._sample(first=True)
        self._machine_before = _machine_ticks()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._machine_after = _machine_ticks()
        self._stop.set()
        self._thread.join()
        self._sample(first=False)

    def summary(self) -> dict[str, Any]:
        busy = (self._machine_after[0] - self._machine_before[0]) / _TICKS
        total = (self._machine_after[1] - self._machine_before[1]) / _TICKS
        groups: dict[str, float] = {}
        for key, (group, seconds) in self._last.items():
            groups[group] = groups.get(group, 0.0) + seconds - self._first.get(key, 0.0)
        groups[_SAMPLER] = self._sampler_seconds
        groups["unattributed"] = busy - sum(groups.values())
        return {
            "machine_busy_cpu_seconds": round(busy, 1),
            "machine_busy_fraction": round(busy / total, 3) if total else None,
            "cpu_seconds_by_group": {name: round(seconds, 1) for name, seconds in sorted(groups.items())},
        }

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(_SAMPLE_S):
            self._sample(first=False)
            self._sampler_seconds = time.thread_time()  # this thread's own CPU, all of it sampling

    def _sample(self, *, first: bool) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = _read(f"/proc/{entry}/stat").decode(errors="replace")
            except OSError:
                continue
            close = stat.rindex(")")
            comm, fields = stat[stat.index("(") + 1 : close], stat[close + 2 :].split()
            key = (int(entry), int(fields[19]))  # pid and start time: a reused pid is another process
            seconds = (int(fields[11]) + int(fields[12])) / _TICKS
            if key not in self._first:
                self._first[key] = seconds if first else 0.0
            named = self._groups.get(key)
            if named is None or named[0] != comm:  # new, or it exec'd another program since
                named = self._groups[key] = (comm, _group(comm, _command_line(entry)))
            self._last[key] = (named[1], seconds)


def _read(path: str) -> bytes:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        return os.read(descriptor, 4096)
    finally:
        os.close(descriptor)


def _command_line(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
