"""How a scenario reports a known xmtpd behaviour it met (one written up in ``docs/findings/``)."""

from __future__ import annotations

from typing import Any

from xmtpd_e2e.api.environment import Environment

__all__ = ["record_finding"]


def record_finding(env: Environment, what: str, finding: str, /, **evidence: Any) -> None:
    """A ``check`` event named ``finding: <what>`` on the timeline (results JSON, HTML report),
    citing the write-up and carrying the evidence, and the same as a warning in the log.

    Recorded, not failed: the scenario's own checks still decide its verdict, so a known defect
    shows in every run that meets it without turning the gate red on what is already written up."""
    env.timeline.instant("check", f"finding: {what}", finding=finding, **evidence)
    details = ", ".join(f"{key}={value}" for key, value in evidence.items())
    env.log.warning("known xmtpd behaviour (%s): %s (%s)", finding, what, details)
