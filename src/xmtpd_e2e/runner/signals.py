"""Turning SIGINT, SIGTERM and the per-scenario alarm into exceptions at the right moments.

While a scenario is being set up, run or checked, a signal raises in the main thread so every
``finally`` runs and the environment is torn down.  During teardown the first signal is not
allowed to abort it; instead it (or a second Ctrl-C) switches teardown to *fast*: SIGKILL
instead of graceful stops -- still removing everything.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from xmtpd_e2e.errors import Interrupted, ScenarioTimeout
from xmtpd_e2e.progress import open_waits

__all__ = ["SignalGuard", "FastTeardown"]


class FastTeardown(Exception):
    """Raised inside a graceful teardown when the user asks to hurry (second Ctrl-C)."""


class SignalGuard:
    def __init__(self) -> None:
        self.interrupted: str | None = None
        self.fast = False
        self._phase = "idle"
        self._timeout = 0.0
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals can only be handled in the main thread (e.g. pytest-xdist workers)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    @contextmanager
    def phase(self, name: str, timeout: float | None = None) -> Iterator[None]:
        """Run a phase; ``timeout`` arms the scenario alarm (covers set-up, run and checks)."""
        previous = self._phase
        self._phase = name
        if timeout is not None and self._previous:
            self._timeout = timeout
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            if self.interrupted and name != "teardown":
                raise Interrupted(self.interrupted)
            yield
        finally:
            if timeout is not None and self._previous:
                signal.setitimer(signal.ITIMER_REAL, 0)
            self._phase = previous

    @contextmanager
    def alarm_held(self) -> Iterator[None]:
        """The scenario alarm stopped for the block and re-armed with what was left of it: time
        the scenario does not spend (a ``--parallel`` worker waiting for its slot)."""
        if not self._previous:
            yield
            return
        left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            yield
        finally:
            if left > 0:
                signal.setitimer(signal.ITIMER_REAL, left)

    def _timeout_message(self, frame: FrameType | None) -> str:
        """Which phase, which line and which waits the timeout struck: enough to tell a slow
        bring-up from a hung check without a traceback."""
        where = (
            f", at {Path(frame.f_code.co_filename).name}:{frame.f_lineno} in {frame.f_code.co_name}" if frame else ""
        )
        waits = open_waits()
        waiting = "; " + "; ".join(waits) if waits else "; no framework wait was in progress"
        return f"the scenario ran past its {self._timeout:.0f}s timeout during {self._phase}{where}{waiting}"

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGALRM:
            if self._phase in ("setup", "scenario", "invariants"):
                raise ScenarioTimeout(self._timeout_message(frame))
            return
        name = signal.Signals(signum).name
        if self._phase == "teardown":
            if not self.fast:
                self.fast = True
                self.interrupted = self.interrupted or name
                raise FastTeardown(name)
            return
        first = self.interrupted is None
        self.interrupted = self.interrupted or name
        if not first:
            self.fast = True
        if self._phase in ("setup", "scenario", "invariants"):
            raise Interrupted(name)
