"""Progress of long waits: silent when short, rate-limited lines, timeline spans, live line."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from xmtpd_e2e import polling, progress
from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.progress import Progress


class Clock:
    """Replaces time.time in the progress and polling modules, and time.sleep advances it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_800_000_000.0
        self.mono = 100.0
        monkeypatch.setattr(progress.time, "time", lambda: self.now)
        monkeypatch.setattr(polling.time, "time", lambda: self.now)
        monkeypatch.setattr(polling.time, "monotonic", lambda: self.mono)
        monkeypatch.setattr(polling.time, "sleep", self.advance)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


class Events:
    """A stand-in timeline recording calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, object]]] = []

    def begin(self, kind: str, name: str, targets: tuple[str, ...] = (), **params: object) -> str:
        self.calls.append(("begin", name, params))
        return name

    def finish(self, event: str, **params: object) -> None:
        self.calls.append(("finish", event, params))

    def instant(self, kind: str, name: str, targets: tuple[str, ...] = (), **params: object) -> None:
        self.calls.append(("instant", name, params))


def _progress(caplog: pytest.LogCaptureFixture, events: Events | None = None) -> Progress:
    caplog.set_level(logging.DEBUG, logger="test.progress")
    return Progress(logger=logging.getLogger("test.progress"), timeline=events)  # type: ignore[arg-type]


def test_a_short_wait_says_nothing(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(monkeypatch)
    events = Events()
    values = iter(range(100))
    polling.wait_until(
        lambda: next(values), lambda v: v >= 5, timeout=60, description="x", progress=_progress(caplog, events)
    )
    assert clock.now - 1_800_000_000.0 < progress.QUIET_SECONDS
    assert caplog.records == [] and events.calls == []


def test_a_long_wait_logs_at_most_every_30_seconds_with_detail_and_deadline(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock(monkeypatch)
    events = Events()
    start = clock.now
    polling.wait_until(
        lambda: int(clock.now - start),
        lambda v: v >= 200,
        timeout=600,
        description="node-2000: a report",
        progress=_progress(caplog, events),
        max_interval=2.0,
        detail=lambda v: f"{v // 60} reports",
        expected_at=lambda: ("node 2000's report generator", start + 240),
        targets=("node-2000",),
    )
    lines = [r.getMessage() for r in caplog.records]
    assert 200 / 30 - 1 <= len(lines) - 1 <= 200 / 30 + 1, lines
    first = lines[0]
    assert first.startswith("waiting for node-2000: a report — now: 0 reports — next: node 2000's report generator at ")
    assert "(in ~4 min)" in first and "gives up at" in first
    assert lines[-1].startswith("done waiting for node-2000: a report after 3.")
    kinds = [c[0] for c in events.calls]
    assert kinds[0] == "begin" and kinds[-1] == "finish"
    assert events.calls[0][2]["since"] == pytest.approx(start)
    assert events.calls[-1][2]["outcome"] == "ok"
    assert "instant" in kinds  # the detail changed (0 -> 1 -> 2 -> 3 reports) while it was logged


def test_a_wait_that_times_out_says_it_gave_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    Clock(monkeypatch)
    events = Events()
    with pytest.raises(WaitTimeout):
        polling.wait_until(
            lambda: 0, lambda v: False, timeout=40, description="never", progress=_progress(caplog, events)
        )
    assert caplog.records[-1].getMessage().startswith("gave up waiting for never after 4")
    assert events.calls[-1][2]["outcome"] == "timeout"


def test_sleep_until_reports_when_it_ends(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(monkeypatch)
    polling.sleep_until(clock.now + 120, "the submitter slot to pass", progress=_progress(caplog))
    assert "expected " in caplog.records[0].getMessage()


def test_live_status_line_keeps_log_lines_intact(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(terminal)
    logger = logging.getLogger("xmtpd_e2e")
    logger.addHandler(handler)
    try:
        disable = progress.enable_live_status(force=True)
        try:
            tracker = Progress(logger=logging.getLogger("test.live")).track("a thing", timeout=60)
            tracker.started -= 20
            tracker.update("1/3")
            logger.warning("a log line")
            tracker.done()
        finally:
            disable()
    finally:
        logger.removeHandler(handler)
    out = terminal.getvalue()
    assert "⋯ waiting for a thing — now: 1/3" in out
    assert "\r\x1b[2Ka log line\n" in out  # the status line was cleared before the log line
    assert sys.stderr is terminal and handler.stream is terminal


def test_a_parallel_workers_progress_lines_are_relayed_by_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "payer-lifecycle.log"
    log.write_text(
        "10:00:00 INFO  xmtpd_e2e.scenario.payer-lifecycle: node-2000 ready\n"
        "10:00:30 INFO  xmtpd_e2e.scenario.payer-lifecycle.progress: waiting for node-2000: a report"
    )
    caplog.set_level(logging.INFO, logger="test.relay")
    relay = progress.WorkerProgressRelay(logging.getLogger("test.relay"))
    relay.poll("payer-lifecycle", log)
    assert caplog.records == []  # the line is not complete yet
    with log.open("a") as handle:
        handle.write(" exists — now: no payer report yet\n")
    relay.poll("payer-lifecycle", log)
    assert [r.getMessage() for r in caplog.records] == [
        "payer-lifecycle: waiting for node-2000: a report exists — now: no payer report yet"
    ]
