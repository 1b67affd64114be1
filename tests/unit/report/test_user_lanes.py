"""Real XMTP users in the report: a lane each, with what they sent, received and failed at."""

from __future__ import annotations

from pathlib import Path

from xmtpd_e2e.report import render_html
from xmtpd_e2e.report.model import load_run

T = 1_795_690_589.0


def _results() -> dict[str, object]:
    scenario = {
        "name": "xmtp-group-chat",
        "status": "PASS",
        "duration_seconds": 10.0,
        "started_at": "2026-11-26T10:56:29.000Z",
        "environment": {"runtime": "local"},
        "timeline": [
            {"id": 1, "kind": "phase", "name": "scenario", "targets": [], "params": {}, "start": T, "end": T + 10}
        ],
        "observations": {
            "users": {
                "alice": {
                    "node": "node-100",
                    "gateway": "gateway-0",
                    "sent": [{"at": T + 2, "text": "hi bob", "seconds": 0.1}],
                    "received": [],
                    "failed": [
                        {"at": T + 5, "kind": "sync", "error": "alice: sync failed (QueryEnvelopes to node-100)"}
                    ],
                },
                "bob": {
                    "node": "node-200",
                    "gateway": "gateway-0",
                    "sent": [],
                    "received": [{"at": T + 2.2, "from": "alice", "text": "hi bob", "latency": 0.2, "how": "stream"}],
                    "failed": [],
                },
            }
        },
    }
    return {"schema_version": 1, "run_id": "r1", "summary": {"total": 1, "PASS": 1}, "scenarios": [scenario]}


def test_each_user_has_a_lane_with_its_messages_and_failures(tmp_path: Path) -> None:
    assert list(load_run(_results()).scenarios[0].users) == ["alice", "bob"]
    text = render_html(_results(), tmp_path / "report.html").read_text()
    assert "alice (node-100)" in text and "bob (node-200)" in text
    assert "sent &#x27;hi bob&#x27;" in text or "sent 'hi bob'" in text
    assert "from alice after 0.200 s" in text
    assert "sync failed: alice: sync failed (QueryEnvelopes to node-100)" in text
