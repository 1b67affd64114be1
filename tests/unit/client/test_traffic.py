"""Background traffic runs for a duration or, open-ended, until stop()."""

from __future__ import annotations

import threading

import pytest

from xmtpd_e2e.client.traffic import TrafficGenerator
from xmtpd_e2e.errors import E2EError


class CountingPublisher:
    def __init__(self) -> None:
        self.batches = 0
        self.published_some = threading.Event()

    def publish(self, count: int) -> list[int]:
        self.batches += 1
        self.published_some.set()
        return list(range(count))


def test_open_ended_traffic_runs_until_stop() -> None:
    publisher = CountingPublisher()
    generator = TrafficGenerator(publisher, duration=None, batch_size=2, interval=0.01)  # type: ignore[arg-type]
    generator.start()
    assert publisher.published_some.wait(30)
    with pytest.raises(E2EError, match="until stop"):
        generator.wait()  # would never return
    generator.stop()
    assert generator.published_count == 2 * publisher.batches and generator.error is None


class FailingPublisher:
    def publish(self, count: int) -> list[int]:
        raise RuntimeError("node said no")


def test_with_continue_on_error_every_error_is_kept_with_its_time() -> None:
    generator = TrafficGenerator(FailingPublisher(), duration=1.2, continue_on_error=True)  # type: ignore[arg-type]
    generator.start()
    generator.wait()
    timed = generator.timed_errors()
    assert len(timed) >= 2 and all(0 <= at <= 5 for at, _ in timed)
    assert [str(error) for _, error in timed] == ["node said no"] * len(timed)
