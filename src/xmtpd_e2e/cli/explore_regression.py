"""``xmtpd-e2e explore --regression``: replay each known finding N times, count reproductions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xmtpd_e2e.cli.explore_session import exit_code_of
from xmtpd_e2e.explore.known_findings import finding_for

if TYPE_CHECKING:
    from xmtpd_e2e.cli.explore_session import ExploreSession

__all__ = ["run_regression"]


def run_regression(session: ExploreSession) -> int:
    """0 when every replay ran to a verdict (reproducing or not), else the first stop's code."""
    runs = session.params["regression_runs"]
    findings: list[dict[str, Any]] = []
    session.summary["regression"] = findings
    for path, schedule, recorded in session.replays or []:
        finding = finding_for(path)
        kind = finding.kind if finding else None
        settings = {**session.settings(recorded), "replayed_from": str(path), "recorded_settings": recorded}
        row: dict[str, Any] = {"finding": finding.name if finding else str(path), "kind": kind, "runs": []}
        findings.append(row)
        for attempt in range(runs):
            exploration = session.execute(schedule, f"regression {row['finding']} {attempt + 1}/{runs}", settings)
            entry = session.record(exploration, settings, f"-{row['finding']}-{attempt + 1}")
            kinds = sorted(exploration.verdict.kinds()) if exploration.verdict else []
            row["runs"].append({"status": exploration.status, "kinds": kinds, "record": entry["record"]})
            ends = exit_code_of(exploration)
            if ends is not None:
                session.emit()
                return ends
        row["reproduced"] = sum(1 for r in row["runs"] if kind in r["kinds"])
        row["of"] = len(row["runs"])
    session.emit()
    return 0
