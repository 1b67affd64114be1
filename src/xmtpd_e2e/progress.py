"""Live progress of long waits: what is awaited, how far along, until about when.

A payer-report scenario waits minutes for xmtpd's hourly workers; without this it prints nothing
between "nodes ready" and the verdict, and a person cannot tell a slow run from a stuck one.
Every wait in the framework goes through :func:`xmtpd_e2e.polling.wait_until`, which reports
to a :class:`Progress` here, so every long wait speaks, not just the ones someone remembered.

A wait stays silent for its first :data:`QUIET_SECONDS` (most waits end long before).  After
that it says what it waits for, what it saw last and, when known, when the awaited thing is due
and when the wait gives up.  Output never floods a CI log: outside a terminal at most one line
per wait every :data:`LOG_EVERY_SECONDS` (and one when it ends); on a terminal one status line
at the bottom is redrawn in place (:func:`enable_live_status`).  Each long wait is also a
``progress`` span on the environment's timeline, so the HTML report shows what was awaited when.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xmtpd_e2e.timeline import Timeline, TimelineEvent

__all__ = [
    "Progress",
    "WaitTracker",
    "WorkerProgressRelay",
    "enable_live_status",
    "format_when",
    "open_waits",
    "QUIET_SECONDS",
    "LOG_EVERY_SECONDS",
]

QUIET_SECONDS = 10.0
LOG_EVERY_SECONDS = 30.0
_LIVE_REDRAW_SECONDS = 0.5


def format_when(at: float, now: float | None = None) -> str:
    """``10:14 UTC (in ~6 min)`` / ``(in 40 s)`` / ``(due)`` for a wall-clock time."""
    now = time.time() if now is None else now
    clock = datetime.fromtimestamp(at, timezone.utc).strftime("%H:%M UTC")
    return f"{clock} ({_relative(at - now)})"


def _relative(seconds: float) -> str:
    if seconds <= 0:
        return "due"
    if seconds < 90:
        return f"in {seconds:.0f} s"
    return f"in ~{seconds / 60:.0f} min"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


_OPEN_WAITS: set[WaitTracker] = set()
_OPEN_LOCK = threading.Lock()


def open_waits() -> list[str]:
    """What every wait not yet done is waiting for, oldest first: a timeout says where it struck."""
    with _OPEN_LOCK:
        trackers = sorted(_OPEN_WAITS, key=lambda t: t.started)
    return [t.line() for t in trackers]


class WaitTracker:
    """One wait as it goes: call :meth:`update` on every poll and :meth:`done` at the end."""

    def __init__(
        self,
        progress: Progress,
        description: str,
        *,
        deadline: float | None,
        expected_at: float | None,
        targets: tuple[str, ...],
    ) -> None:
        self._progress = progress
        self.description = description
        self.targets = targets
        self.deadline = deadline
        """Wall-clock time at which the wait gives up (None: no limit)."""
        self.expected_at = expected_at
        self.expected_what: str | None = None
        """What is due at ``expected_at`` ("node 2000's report generator"); None: the awaited thing."""
        self.detail: str | None = None
        self.started = time.time()
        self._event: TimelineEvent | None = None
        self._last_logged = 0.0
        self._logged_detail: str | None = None
        self._closed = False
        with _OPEN_LOCK:
            _OPEN_WAITS.add(self)

    @property
    def elapsed(self) -> float:
        return time.time() - self.started

    @property
    def visible(self) -> bool:
        """True once the wait has lasted long enough to be reported."""
        return self.elapsed >= QUIET_SECONDS

    def update(
        self, detail: str | None = None, *, expected_at: float | None = None, expected_what: str | None = None
    ) -> None:
        """The wait polled again: ``detail`` is how far along ("1 report, approved 0");
        ``expected_what`` is due at ``expected_at`` (Unix seconds)."""
        if self._closed:
            return
        if detail is not None:
            self.detail = detail
        if expected_at is not None:
            self.expected_at = expected_at
            self.expected_what = expected_what
        if self.visible:
            self._progress._report(self)

    def done(self, outcome: str = "ok") -> None:
        """The wait ended (``ok``, ``timeout`` or ``error``); says so if it had been reported."""
        if self._closed:
            return
        self._closed = True
        with _OPEN_LOCK:
            _OPEN_WAITS.discard(self)
        self._progress._finish(self, outcome)

    def line(self, now: float | None = None) -> str:
        """The human sentence for this wait right now."""
        now = time.time() if now is None else now
        parts = [f"waiting for {self.description}"]
        if self.detail:
            parts.append(f"now: {self.detail}")
        if self.expected_at is not None:
            what = f"next: {self.expected_what} at" if self.expected_what else "expected"
            parts.append(f"{what} {format_when(self.expected_at, now)}")
        tail = f"{_duration(now - self.started)} elapsed"
        if self.deadline is not None:
            tail += f", gives up at {datetime.fromtimestamp(self.deadline, timezone.utc).strftime('%H:%M:%S UTC')}"
        parts.append(tail)
        return " — ".join(parts)


class Progress:
    """Where the long waits of one environment (or of the process) report.

    ``timeline`` gets a ``progress`` span per long wait; ``logger`` gets the rate-limited lines
    (at INFO, or DEBUG while a live terminal line shows them instead).
    """

    _stack: list[Progress] = []
    _stack_lock = threading.Lock()

    def __init__(
        self, *, logger: logging.Logger | None = None, timeline: Timeline | None = None, label: str = ""
    ) -> None:
        self.logger = logger or logging.getLogger("xmtpd_e2e.progress")
        self.timeline = timeline
        self.label = label
        self._lock = threading.Lock()

    # -- which Progress a wait without an explicit one uses ------------------------------------
    @classmethod
    def current(cls) -> Progress:
        """The most recently activated Progress (an environment's while it runs), else a
        process-wide one that only logs."""
        with cls._stack_lock:
            if cls._stack:
                return cls._stack[-1]
        return _PROCESS_PROGRESS

    def activate(self) -> Callable[[], None]:
        """Make this the :meth:`current` one; returns the function that undoes it."""
        with Progress._stack_lock:
            Progress._stack.append(self)

        def deactivate() -> None:
            with Progress._stack_lock:
                if self in Progress._stack:
                    Progress._stack.remove(self)

        return deactivate

    # -- waits -------------------------------------------------------------------------------
    def track(
        self,
        description: str,
        *,
        timeout: float | None = None,
        expected_at: float | None = None,
        targets: tuple[str, ...] = (),
    ) -> WaitTracker:
        deadline = time.time() + timeout if timeout is not None else None
        return WaitTracker(self, description, deadline=deadline, expected_at=expected_at, targets=targets)

    def _report(self, tracker: WaitTracker) -> None:
        now = time.time()
        changed = False
        with self._lock:
            first = tracker._event is None and tracker._last_logged == 0.0
            if first and self.timeline is not None:
                tracker._event = self.timeline.begin(
                    "progress",
                    tracker.description,
                    tracker.targets,
                    since=round(tracker.started, 3),
                    **({"expected_at": round(tracker.expected_at, 3)} if tracker.expected_at else {}),
                )
            due = first or now - tracker._last_logged >= LOG_EVERY_SECONDS
            if due:
                tracker._last_logged = now
                changed = tracker.detail != tracker._logged_detail
                tracker._logged_detail = tracker.detail
        text = tracker.line(now)
        live = _LIVE
        if live is not None:
            live.show(id(tracker), self._prefixed(text))
        if due:
            self.logger.log(logging.DEBUG if live is not None else logging.INFO, "%s", self._prefixed(text))
            if not first and changed and tracker.detail and self.timeline is not None:
                self.timeline.instant("progress", f"{tracker.description}: {tracker.detail}", tracker.targets)

    def _finish(self, tracker: WaitTracker, outcome: str) -> None:
        live = _LIVE
        if live is not None:
            live.forget(id(tracker))
        if tracker._last_logged == 0.0:
            return  # never reported: a short wait stays silent
        if tracker._event is not None and self.timeline is not None:
            params: dict[str, Any] = {"outcome": outcome}
            if tracker.detail:
                params["detail"] = tracker.detail
            self.timeline.finish(tracker._event, **params)
        verb = {"ok": "done", "timeout": "gave up"}.get(outcome, outcome)
        self.logger.info(
            "%s", self._prefixed(f"{verb} waiting for {tracker.description} after {_duration(tracker.elapsed)}")
        )

    def _prefixed(self, text: str) -> str:
        return f"{self.label}: {text}" if self.label else text


_PROCESS_PROGRESS = Progress()


# ==============================================================================================
# the live status line on a terminal
# ==============================================================================================
class _LiveStatus:
    """One status line at the bottom of a terminal, cleared before and redrawn after any other
    output written through the same stream, so log lines scroll above it intact."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lines: dict[int, str] = {}
        self._shown = ""
        self._last_draw = 0.0
        self._lock = threading.RLock()

    def show(self, key: int, text: str) -> None:
        with self._lock:
            self._lines[key] = text
            if time.monotonic() - self._last_draw >= _LIVE_REDRAW_SECONDS:
                self._draw()

    def forget(self, key: int) -> None:
        with self._lock:
            if self._lines.pop(key, None) is not None:
                self._draw()

    def write_through(self, text: str) -> None:
        with self._lock:
            if self._shown:
                self._stream.write("\r\x1b[2K")
            self._stream.write(text)
            if text.endswith("\n") and self._shown:
                self._shown = ""
                self._draw()
            elif not text.endswith("\n"):
                self._shown = ""  # someone else owns the line now; redraw after their newline

    def _draw(self) -> None:
        width = shutil.get_terminal_size((120, 20)).columns
        text = " | ".join(self._lines.values())
        if len(text) > width - 3:
            text = text[: width - 4] + "…"
        self._stream.write("\r\x1b[2K" + (f"⋯ {text}" if text else ""))
        self._stream.flush()
        self._shown = f"⋯ {text}" if text else ""
        self._last_draw = time.monotonic()

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()
            if self._shown:
                self._stream.write("\r\x1b[2K")
                self._stream.flush()
                self._shown = ""


class _StatusAwareStream:
    """Stands in for stderr while a live status line is shown."""

    def __init__(self, original: IO[str], status: _LiveStatus) -> None:
        self._original = original
        self._status = status

    def write(self, text: str) -> int:
        self._status.write_through(text)
        return len(text)

    def flush(self) -> None:
        self._original.flush()

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


_LIVE: _LiveStatus | None = None


def enable_live_status(force: bool = False) -> Callable[[], None]:
    """On a terminal (or with ``force``): show long waits as a status line redrawn in place on
    stderr, and route stderr's other writers (logging, rich) around it.  Returns the function
    that restores stderr; outside a terminal this does nothing and waits log lines instead."""
    global _LIVE
    original = sys.stderr
    if _LIVE is not None or not (force or original.isatty()):
        return lambda: None
    status = _LiveStatus(original)
    wrapper = _StatusAwareStream(original, status)
    swapped: list[logging.StreamHandler[Any]] = []
    for logger in (logging.getLogger(), logging.getLogger("xmtpd_e2e")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                handler.setStream(wrapper)
                swapped.append(handler)
    sys.stderr = wrapper
    _LIVE = status

    def disable() -> None:
        global _LIVE
        status.clear()
        _LIVE = None
        sys.stderr = original
        for handler in swapped:
            handler.setStream(original)

    return disable


# ==============================================================================================
# progress of worker processes (run --parallel), relayed by the parent
# ==============================================================================================
class WorkerProgressRelay:
    """Shows the progress lines worker processes write to their logs in the parent's terminal.

    A ``--parallel`` worker's stderr goes to a log file, so without this a 12-minute scenario
    run in parallel is as silent as before.  The workers already rate-limit their lines; the
    relay only picks them out (records of a ``*.progress`` logger) and repeats them, prefixed
    with the scenario name, on the live line or as log lines.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger("xmtpd_e2e.progress")
        self._offsets: dict[str, int] = {}
        self._carry: dict[str, str] = {}

    def poll(self, name: str, log_path: Any) -> None:
        """Read what worker ``name`` added to ``log_path`` since the last call and relay it."""
        try:
            with open(log_path, "rb") as handle:
                handle.seek(self._offsets.get(name, 0))
                chunk = handle.read()
                self._offsets[name] = handle.tell()
        except OSError:
            return
        text = self._carry.pop(name, "") + chunk.decode(errors="replace")
        lines = text.split("\n")
        if lines[-1]:
            self._carry[name] = lines[-1]
        for line in lines[:-1]:
            message = _progress_message(line)
            if message is None:
                continue
            live = _LIVE
            finished = message.startswith(("done waiting", "gave up waiting"))
            if live is not None:
                key = hash(name)
                if finished:
                    live.forget(key)
                else:
                    live.show(key, f"{name}: {message}")
            else:
                self._logger.info("%s: %s", name, message)

    def forget(self, name: str) -> None:
        """The worker ended: drop its line from the terminal."""
        live = _LIVE
        if live is not None:
            live.forget(hash(name))
        self._offsets.pop(name, None)
        self._carry.pop(name, None)


def _progress_message(line: str) -> str | None:
    """The message of a progress record in a console or JSON log line, else None."""
    if ".progress: " in line:
        return line.split(".progress: ", 1)[1].strip()
    if line.startswith("{") and '.progress"' in line:
        try:
            import json

            record = json.loads(line)
        except ValueError:
            return None
        if str(record.get("logger", "")).endswith(".progress"):
            return str(record.get("message", ""))
    return None
