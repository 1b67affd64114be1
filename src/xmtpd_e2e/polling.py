"""Deadline-bound polling: the one way the framework waits for a condition.

Every wait in the framework (readiness probes, ``wait_for_envelopes``, ``require.eventually``)
goes through :func:`wait_until`, so they all share the same semantics: check immediately, then
back off from a short first interval up to a cap, and fail with a message saying what was awaited
and what was last seen.  Waking promptly matters: a fixed 2-second poll (upstream) adds up to a
second of latency to every wait in every scenario.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from xmtpd_e2e.errors import WaitTimeout

__all__ = ["wait_until", "Backoff"]

T = TypeVar("T")


class Backoff:
    """Intervals growing geometrically from ``first`` to ``cap`` seconds."""

    def __init__(self, first: float = 0.05, cap: float = 1.0, factor: float = 1.6) -> None:
        if first <= 0 or cap < first or factor < 1:
            raise ValueError("backoff needs 0 < first <= cap and factor >= 1")
        self._next = first
        self._cap = cap
        self._factor = factor

    def next(self) -> float:
        value = self._next
        self._next = min(self._cap, self._next * self._factor)
        return value


def wait_until(
    probe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    timeout: float,
    description: str,
    first_interval: float = 0.05,
    max_interval: float = 1.0,
    swallow: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``probe`` until ``accept(value)`` is true and return that value.

    ``swallow`` lists exception types treated as "not yet" (e.g. a connection refused while a
    service starts); the last one is included in the timeout message.
    Raises :class:`WaitTimeout` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    backoff = Backoff(first_interval, max(first_interval, max_interval))
    last_value: object = "<never probed>"
    last_error: BaseException | None = None
    while True:
        try:
            value = probe()
        except swallow as exc:
            last_error = exc
        else:
            last_error = None
            if accept(value):
                return value
            last_value = value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen = f"last error: {last_error!r}" if last_error is not None else f"last value: {last_value!r}"
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {description} ({seen})")
        time.sleep(min(backoff.next(), remaining))
