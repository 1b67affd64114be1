"""Background traffic: publisher threads running for a duration or until stopped.

Upstream's generator opens a new connection per batch and stops forever at the first error.  This
one reuses its channel, can run several publishers concurrently to saturate a node, keeps the
first error (and, with ``continue_on_error``, counts later ones and keeps going), and reports
the achieved rate.
"""

from __future__ import annotations

import threading
import time

from xmtpd_e2e.client.publisher import Publisher
from xmtpd_e2e.errors import E2EError

__all__ = ["TrafficGenerator"]


class TrafficGenerator:
    """Publishes until ``duration`` seconds have passed, or -- with ``duration=None`` -- until
    :meth:`stop` (then :meth:`wait` without a timeout would never return, and refuses)."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        batch_size: int = 10,
        duration: float | None = 60.0,
        concurrency: int = 1,
        interval: float = 0.0,
        continue_on_error: bool = False,
        name: str = "traffic",
    ) -> None:
        if batch_size < 1 or concurrency < 1 or (duration is not None and duration <= 0):
            raise ValueError("batch_size and concurrency must be >= 1 and duration > 0 (or None: until stop())")
        self.name = name
        self._publisher = publisher
        self._batch_size = batch_size
        self._duration = duration
        self._concurrency = concurrency
        self._interval = interval
        self._continue = continue_on_error
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._published = 0
        self._errors: list[BaseException] = []
        self._error_times: list[float] = []
        self._started_at = 0.0
        self._ended_at: float | None = None

    def start(self) -> None:
        self._started_at = time.monotonic()
        deadline = self._started_at + self._duration if self._duration is not None else float("inf")
        for n in range(self._concurrency):
            thread = threading.Thread(target=self._run, args=(deadline,), name=f"{self.name}-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, deadline: float) -> None:
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                published = self._publisher.publish(self._batch_size)
            except Exception as error:
                if self._stop.is_set():
                    return  # failures caused by stopping are not errors
                with self._lock:
                    self._errors.append(error)
                    self._error_times.append(time.monotonic() - self._started_at)
                if not self._continue:
                    self._stop.set()
                    return
                self._stop.wait(0.5)
                continue
            with self._lock:
                self._published += len(published)
            if self._interval:
                self._stop.wait(self._interval)

    def stop(self) -> None:
        """Stop publishing and wait for in-flight requests to finish."""
        self._stop.set()
        self.wait()

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the duration has elapsed (or :meth:`stop` was called)."""
        if self._duration is None and timeout is None and not self._stop.is_set():
            raise E2EError(
                f"{self.name}: traffic without a duration runs until stop(); "
                "call stop() (it waits), or wait(timeout=...)"
            )
        for thread in self._threads:
            thread.join(timeout)
        if self._ended_at is None and not any(t.is_alive() for t in self._threads):
            self._ended_at = time.monotonic()

    @property
    def error(self) -> BaseException | None:
        """The first error, or None."""
        with self._lock:
            return self._errors[0] if self._errors else None

    def timed_errors(self) -> list[tuple[float, BaseException]]:
        """Every error with when it happened, in seconds after :meth:`start`."""
        with self._lock:
            return list(zip(self._error_times, self._errors, strict=True))

    @property
    def errors(self) -> list[BaseException]:
        with self._lock:
            return list(self._errors)

    @property
    def published_count(self) -> int:
        with self._lock:
            return self._published

    def rate(self) -> float:
        """Envelopes per second achieved so far."""
        end = self._ended_at if self._ended_at is not None else time.monotonic()
        elapsed = max(end - self._started_at, 1e-9)
        return self.published_count / elapsed
