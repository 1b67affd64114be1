"""The findings explore has recorded in xmtpd, as replayable records with the violation each shows.

``xmtpd-e2e explore --regression`` replays every one of them and reports how often each still
reproduces: a finding that stops showing after an xmtpd upgrade is fixed (or hidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xmtpd_e2e.errors import SetupError

__all__ = ["KnownFinding", "KNOWN_FINDINGS", "finding_records", "finding_for"]

RESULTS = Path(__file__).resolve().parents[3] / "bench" / "results"


@dataclass(frozen=True)
class KnownFinding:
    name: str
    record: str
    """File name of the explore record under bench/results."""
    kind: str
    """The violation kind that shows the finding."""
    what: str

    @property
    def path(self) -> Path:
        return RESULTS / self.record


KNOWN_FINDINGS = (
    KnownFinding(
        "v1.2.0-stall",
        "explore-stall-v1.2.0-min.json",
        "liveness",
        "concurrent publishers into one node: publishes refused after the 10 s statement timeout",
    ),
    KnownFinding(
        "sync-disabled-node",
        "explore-sync-disabled-node-min.json",
        "missing",
        "a node with XMTPD_SYNC_ENABLE=false never receives the others' envelopes",
    ),
    KnownFinding(
        "originator-cache",
        "explore-originator-cache-min.json",
        "read-unseen",
        "a topic query misses an originator that first reached the node after its originator list was "
        "cached (5 min TTL): docs/findings/originator-cache-hides-new-originators.md",
    ),
)


def finding_for(path: Path) -> KnownFinding | None:
    return next((f for f in KNOWN_FINDINGS if f.path.resolve() == Path(path).resolve()), None)


def finding_records() -> list[Path]:
    """Every known finding's record; a clear error where they are not (an installed wheel)."""
    absent = [f.record for f in KNOWN_FINDINGS if not f.path.is_file()]
    if absent:
        raise SetupError(
            f"the known findings' records are not in {RESULTS} ({', '.join(absent)})",
            "run --regression from a checkout of xmtpd-e2e (the records live in bench/results)",
        )
    return [f.path for f in KNOWN_FINDINGS]
