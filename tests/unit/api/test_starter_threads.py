"""Set-up threads are joinable even when an interrupt lands while one is being started."""

from __future__ import annotations

import threading
import time

import pytest

from xmtpd_e2e.api.starter_threads import StarterThreads


def test_results_in_order_and_the_first_error_after_all_ended() -> None:
    ended: list[int] = []

    def slow_ok() -> int:
        time.sleep(0.2)
        ended.append(1)
        return 1

    def fails() -> int:
        raise ValueError("no")

    assert StarterThreads("t").run_all([lambda: 1, lambda: 2]) == [1, 2]
    with pytest.raises(ValueError):
        StarterThreads("t").run_all([fails, slow_ok])
    assert ended == [1], "the error is raised only once every call has ended"


def test_a_thread_whose_start_was_interrupted_is_still_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    finished: list[str] = []
    original = threading.Thread.start
    interrupted: list[threading.Thread] = []

    def start_then_interrupt(self: threading.Thread) -> None:
        original(self)
        if not interrupted:
            interrupted.append(self)
            raise KeyboardInterrupt  # Ctrl-C arriving while Thread.start() waits for the thread

    def work() -> None:
        release.wait(30)
        finished.append("done")

    starters = StarterThreads("t")
    monkeypatch.setattr(threading.Thread, "start", start_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        starters.run_all([work])
    monkeypatch.undo()
    assert interrupted[0].is_alive()
    release.set()
    assert starters.join(timeout=30) == []
    assert finished == ["done"]
