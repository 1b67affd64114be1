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
from typing import Any, TypeVar

from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.progress import Progress, WaitTracker

__all__ = ["wait_until", "sleep_until", "Backoff"]

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
    progress: Progress | None = None,
    detail: Callable[[T], str] | None = None,
    expected_at: Callable[[], tuple[str, float] | None] | None = None,
    targets: tuple[str, ...] = (),
) -> T:
    """Call ``probe`` until ``accept(value)`` is true and return that value.

    ``swallow`` lists exception types treated as "not yet" (e.g. a connection refused while a
    service starts); the last one is included in the timeout message.
    Raises :class:`WaitTimeout` after ``timeout`` seconds.

    A wait that lasts reports itself to ``progress`` (default: :meth:`Progress.current`):
    ``detail(last value)`` says how far along it is, ``expected_at()`` what is due next and when
    (a label and Unix seconds), ``targets`` which services it concerns.
    """
    deadline = time.monotonic() + timeout
    backoff = Backoff(first_interval, max(first_interval, max_interval))
    last_value: object = "<never probed>"
    last_error: BaseException | None = None
    tracker = (progress or Progress.current()).track(description, timeout=timeout, targets=targets)
    outcome = "error"
    try:
        while True:
            try:
                value = probe()
            except swallow as exc:
                last_error = exc
            else:
                last_error = None
                if accept(value):
                    outcome = "ok"
                    return value
                last_value = value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcome = "timeout"
                seen = f"last error: {last_error!r}" if last_error is not None else f"last value: {last_value!r}"
                raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {description} ({seen})")
            if tracker.visible:
                _report(tracker, last_value, last_error, detail, expected_at)
            time.sleep(min(backoff.next(), remaining))
    finally:
        tracker.done(outcome)


def _report(
    tracker: WaitTracker,
    last_value: object,
    last_error: BaseException | None,
    detail: Callable[[Any], str] | None,
    expected_at: Callable[[], tuple[str, float] | None] | None,
) -> None:
    """Tell the tracker how far along the wait is; a describing callback that fails is ignored
    (progress is commentary, never a reason for a wait to fail)."""
    text: str | None = None
    due: tuple[str, float] | None = None
    try:
        if last_error is not None:
            text = f"not answering ({type(last_error).__name__})"
        elif detail is not None and last_value != "<never probed>":
            text = detail(last_value)
        due = expected_at() if expected_at is not None else None
    except Exception:
        pass
    if due is None:
        tracker.update(text)
    else:
        tracker.update(text, expected_at=due[1], expected_what=due[0])


def sleep_until(
    when: float, description: str, *, progress: Progress | None = None, targets: tuple[str, ...] = ()
) -> None:
    """Sleep until the wall-clock time ``when`` (Unix seconds), reporting it as a long wait.

    For the rare wait whose point is that nothing happens ("the submitter's slot passes and the
    report is still not submitted"): it still says what it waits for and until when.
    """
    tracker = (progress or Progress.current()).track(
        description, timeout=max(0.0, when - time.time()), expected_at=when, targets=targets
    )
    try:
        while (remaining := when - time.time()) > 0:
            time.sleep(min(remaining, 1.0))
            if tracker.visible:
                tracker.update()
    finally:
        tracker.done("ok")
