"""Results of a run: one record per scenario, and the run as a whole."""

from __future__ import annotations

import enum
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Status", "ScenarioResult", "RunResult", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1


class Status(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    """A check did not hold (``env.require``, ``assert``, or a global invariant)."""
    ERROR = "ERROR"
    """An unexpected exception; its traceback is kept."""
    TIMEOUT = "TIMEOUT"
    INTERRUPTED = "INTERRUPTED"
    SETUP_ERROR = "SETUP_ERROR"
    """The machine or input is wrong (exit code 2), e.g. no Docker engine or a missing binary."""


@dataclass
class ScenarioResult:
    name: str
    status: Status
    duration_seconds: float
    started_at: float
    error: str | None = None
    traceback: str | None = None
    invariant_violations: list[str] = field(default_factory=list)
    teardown_error: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    log_file: str | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    """The environment's timed events (phases, faults, service actions; see xmtpd_e2e.timeline)."""
    typical_seconds: float | None = None
    """How long the scenario usually takes (its declared typical duration)."""
    observations: dict[str, Any] = field(default_factory=dict)
    """Measured while it ran: node samples (envelopes, lag) and publish rate/failures over time."""
    service_logs: dict[str, str] = field(default_factory=dict)
    """Service logs (capped) kept for the HTML report of a scenario whose artifacts are not kept."""
    recoveries: list[dict[str, Any]] = field(default_factory=list)
    """Per healed fault: seconds until every node, and every read node, had what was acknowledged
    by the heal (see xmtpd_e2e.api.recoveries)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["started_at"] = _iso(self.started_at)
        data["duration_seconds"] = round(self.duration_seconds, 3)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioResult:
        values = dict(data)
        values["status"] = Status(values["status"])
        values["started_at"] = _parse_iso(values["started_at"])
        return cls(**values)


@dataclass
class RunResult:
    run_id: str
    started_at: float
    finished_at: float = 0.0
    scenarios: list[ScenarioResult] = field(default_factory=list)
    interrupted_by: str | None = None
    """``SIGINT`` or ``SIGTERM`` when a signal ended the run early (its exit code says so)."""

    @property
    def passed(self) -> bool:
        return bool(self.scenarios) and all(s.status is Status.PASS for s in self.scenarios)

    @property
    def setup_failed(self) -> bool:
        return any(s.status is Status.SETUP_ERROR for s in self.scenarios)

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.scenarios:
            counts[result.status.value] += 1
        return counts

    def exit_code(self) -> int:
        """0 all passed, 1 a scenario did not pass, 2 a setup error, 128 + N after signal N.

        An interrupted run exits as a shell reports a process its signal ended (130 for Ctrl-C,
        143 for SIGTERM), so CI can tell "stopped" from "failed".
        """
        if self.interrupted_by:
            return 128 + int(signal.Signals[self.interrupted_by])
        if self.setup_failed:
            return 2
        return 0 if self.passed else 1

    def mark_not_run(self, names: list[str], started_at: float) -> None:
        """Add the scenarios an interrupt kept from starting, so the results name them."""
        for name in names:
            self.scenarios.append(
                ScenarioResult(
                    name,
                    Status.INTERRUPTED,
                    0.0,
                    started_at,
                    error=f"not run: the run was interrupted by {self.interrupted_by}",
                )
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at or time.time()),
            "duration_seconds": round((self.finished_at or time.time()) - self.started_at, 3),
            "summary": {"total": len(self.scenarios), **self.counts()},
            "interrupted_by": self.interrupted_by,
            "scenarios": [s.as_dict() for s in self.scenarios],
        }


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp)) + f".{int(timestamp % 1 * 1000):03d}Z"


def _parse_iso(text: str) -> float:
    import calendar

    main, _, fraction = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) + (int(fraction) / 1000 if fraction else 0.0)
