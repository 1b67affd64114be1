"""The service lifecycle every runtime shares, written once.

A runtime differs from another only in *how* it launches, signals, addresses and removes a
service; everything a user of :class:`~xmtpd_e2e.runtime.base.RunningService` relies on is
here, so every runtime behaves the same:

* readiness: after each (re)start, the ready log line must appear in output written *after*
  that start, then the ready check must pass, then its name must lead to it for the other
  services (a Kubernetes Service's endpoints) -- all within ONE deadline (``ready_timeout``);
  a service that exits meanwhile fails at once with the tail of its log;
* one log file per service, appended across restarts, each start marked by a ``----`` line;
* ``stop(graceful=False)`` is SIGKILL; a stopped service starts again in place (same name,
  ports and data); one that ended by itself reports ``EXITED``, one stopped on purpose
  ``STOPPED``; a paused service is resumed before it is stopped, so the signal arrives;
* ``close()`` removes every service (in parallel) and then the runtime's own resources, goes on
  after an error and reports the first one; it is idempotent, and ``fast`` skips graceful stops;
* a start racing ``close()`` (a set-up thread an interrupt left running) never leaves a service
  behind: once close began, nothing is created or launched any more, a start waiting for
  readiness of a service close removed gives up at once, and a start that fails stops what it
  launched.
"""

from __future__ import annotations

import abc
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xmtpd_e2e.errors import ServiceError, ServiceNotReady, WaitTimeout
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runtime.base import RunningService, Runtime, ServiceSpec, ServiceState
from xmtpd_e2e.runtime.log_follow import LogCursor, tail_lines

__all__ = ["ManagedService", "ManagedRuntime", "START_MARKER"]

START_MARKER = "---- xmtpd-e2e: starting"
"""Begins the line written to a service's log before each start."""

_READY_PROBE_ERRORS = (OSError, ConnectionError, ServiceError)
"""What a ready check may raise while the service is still coming up ("not yet")."""


class ManagedService(RunningService):
    """A service whose lifecycle is the shared one; subclasses say how to drive it."""

    def __init__(self, runtime: ManagedRuntime, spec: ServiceSpec) -> None:
        self.spec = spec
        self.runtime = runtime
        self.log_path = runtime.log_dir / f"{spec.name}.log"
        self._lock = threading.RLock()
        self._stopped_on_purpose = False
        self._paused = False

    # -- what a runtime implements -------------------------------------------------------------
    @abc.abstractmethod
    def _launch(self) -> None:
        """Start the service (first time or again); its output must be appended to ``log_path``."""

    @abc.abstractmethod
    def _halt(self, graceful: bool, timeout: float) -> None:
        """Stop it: SIGTERM, SIGKILL after ``timeout``; or SIGKILL at once.  Returns once it is
        no longer running; does nothing if it is not running."""

    @abc.abstractmethod
    def _observe(self) -> ServiceState:
        """RUNNING, PAUSED, EXITED (not running any more, for whatever reason) or STOPPED
        (not there at all: never launched, or removed)."""

    @abc.abstractmethod
    def _signal_pause(self, pause: bool) -> None:
        """Freeze (``pause``) or thaw every process of the service."""

    @abc.abstractmethod
    def main_pid(self) -> int | None:
        """The host pid of the service's main process while it runs, else None."""

    @abc.abstractmethod
    def _discard(self, fast: bool) -> None:
        """Remove the service for good (and from the run record); idempotent."""

    def _launch_with(self, before_run: Callable[[], None] | None) -> None:
        """Launch, calling ``before_run`` first (see :meth:`RunningService.start`).  Where the
        service's network namespace outlives its process (the local runtime's namespaces, docker's
        holder containers) it exists before the launch; a runtime whose namespace is born with
        the launch overrides this to hold the program back until ``before_run`` is done."""
        if before_run is not None:
            before_run()
        self._launch()

    def _launch_description(self) -> str:
        """What the start marker line says is being started."""
        return self.spec.name

    def _reachable_by_name(self) -> bool:
        """Whether other services already reach this one under its name (its internal address).
        Ready means that too: the framework's own probe may reach a service before its name
        leads anywhere.  Default: as soon as it runs."""
        return True

    def _settle_logs(self) -> None:
        """Wait briefly until output of a service that just ended is in its log file."""

    # -- RunningService ------------------------------------------------------------------------
    def state(self) -> ServiceState:
        observed = self._observe()
        if observed is ServiceState.EXITED and self._stopped_on_purpose:
            return ServiceState.STOPPED
        return observed

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, before_run: Callable[[], None] | None = None) -> None:
        with self._lock:
            if self.state() in (ServiceState.RUNNING, ServiceState.PAUSED):
                return
            # Under the lock remove() takes too: either this launch happens before close removes
            # the service, or close came first and nothing is launched.
            if self.runtime.closed:
                raise ServiceError(f"{self.spec.name}: not started, the environment is being torn down")
            self._stopped_on_purpose = False
            self._paused = False
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log:
                log.write(f"{START_MARKER} {self._launch_description()}\n".encode())
                cursor = LogCursor(self.log_path, log.tell())
            self._launch_with(before_run)
        try:
            self._wait_ready(cursor)
        except BaseException:
            self.stop(graceful=False)  # what did not become ready is not left running for nobody
            raise

    def stop(self, *, graceful: bool = True, timeout: float = 10.0) -> None:
        with self._lock:
            self._stopped_on_purpose = True
            if self._paused:
                self._signal_pause(False)  # a frozen process would not act on SIGTERM
                self._paused = False
            self._halt(graceful, timeout)

    def pause(self) -> None:
        with self._lock:
            if self._paused:
                return
            if self.state() is not ServiceState.RUNNING:
                raise ServiceError(f"{self.spec.name} is not running ({self.state().value}); it cannot be paused")
            self._signal_pause(True)
            self._paused = True

    @property
    def paused(self) -> bool:
        return self._paused

    def resume(self) -> None:
        with self._lock:
            if not self._paused:
                return
            self._signal_pause(False)
            self._paused = False

    def _namespace_pid(self) -> int | None:
        """A process in the service's network namespace: its main process while it runs."""
        return self.main_pid()

    def network_namespace(self) -> Path | None:
        pid = self._namespace_pid()
        if pid is None:
            return None
        path = Path(f"/proc/{pid}/ns/net")
        return path if path.exists() else None

    def remove(self, *, fast: bool) -> None:
        """Stop and delete the service and what it recorded (used by :meth:`ManagedRuntime.close`)."""
        with self._lock:
            self._stopped_on_purpose = True
            self._paused = False
            self._discard(fast)

    # -- readiness -----------------------------------------------------------------------------
    def _wait_ready(self, cursor: LogCursor) -> None:
        """Ready is three stages in turn, under one deadline: the ready line in the log (if the
        spec names one), the readiness check (if any), then other services reaching it by name.
        A service that exits meanwhile fails at once with its log's tail."""
        spec = self.spec
        deadline = time.monotonic() + spec.ready_timeout
        stages: list[tuple[str, Callable[[], bool], tuple[type[BaseException], ...]]] = []
        if spec.ready_log:
            needle = spec.ready_log
            stages.append((f"{spec.name} to log {needle!r}", lambda: cursor.contains(needle), ()))
        check = spec.ready_check
        if check is not None:
            stages.append((f"{spec.name} readiness check", lambda: check(self), _READY_PROBE_ERRORS))
        stages.append(
            (f"other services to reach {spec.name} by its name", self._reachable_by_name, _READY_PROBE_ERRORS)
        )

        def exited() -> bool:
            if self._stopped_on_purpose:  # not a ServiceError: the stages' probes swallow those
                raise _StoppedWhileStarting
            return self.state() is ServiceState.EXITED

        try:
            for description, probe, swallow in stages:
                wait_until(
                    functools.partial(_either, exited, probe),
                    bool,
                    timeout=max(0.0, deadline - time.monotonic()),
                    description=description,
                    max_interval=0.2,
                    swallow=swallow,
                )
                if exited():
                    self._settle_logs()
                    raise ServiceNotReady(spec.name, "it exited while starting", tail_lines(self.log_path))
        except WaitTimeout as error:
            raise ServiceNotReady(
                spec.name, f"not ready within {spec.ready_timeout:.0f}s: {error}", tail_lines(self.log_path)
            ) from error
        except _StoppedWhileStarting:
            raise ServiceError(
                f"{spec.name} was stopped while starting (the environment is being torn down?)"
            ) from None


class _StoppedWhileStarting(Exception):
    """A service stopped on purpose during its readiness wait: ends the wait at once."""


def _either(first: Callable[[], bool], second: Callable[[], bool]) -> bool:
    return first() or second()


class ManagedRuntime(Runtime):
    """A runtime whose service bookkeeping and teardown are the shared ones."""

    def __init__(self, run_state: RunState, env_id: str, log_dir: Path, logger: logging.Logger | None) -> None:
        self.run_state = run_state
        self.run_id = run_state.run_id
        self.env_id = env_id
        self.log_dir = log_dir
        self.log = logger or logging.getLogger(f"xmtpd_e2e.runtime.{self.name}")
        self._services: dict[str, ManagedService] = {}
        self._starting: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._tearing_down = False
        log_dir.mkdir(parents=True, exist_ok=True)

    # -- what a runtime implements -------------------------------------------------------------
    @abc.abstractmethod
    def _create(self, spec: ServiceSpec) -> ManagedService:
        """Record and create (not start) the service; on failure, nothing stays recorded."""

    def _release(self) -> None:
        """Remove the runtime's own resources once its services are gone (e.g. a network)."""

    @property
    def closed(self) -> bool:
        """True once :meth:`close` began: no service is created or launched after that."""
        return self._closed

    def begin_teardown(self) -> None:
        self._tearing_down = True

    @property
    def tearing_down(self) -> bool:
        """True once :meth:`begin_teardown` or :meth:`close` began."""
        return self._tearing_down or self._closed

    # -- Runtime -------------------------------------------------------------------------------
    def start(self, spec: ServiceSpec) -> RunningService:
        with self._lock:
            if self._closed:
                raise ServiceError("the environment is closed")
            if spec.name in self._services or spec.name in self._starting:
                raise ServiceError(f"a service named {spec.name!r} already exists")
            self._starting.add(spec.name)
        try:
            service = self._create(spec)
            with self._lock:
                # Under the lock close() lists the services with: on that list, or refused.
                refused = self._closed
                if not refused:
                    self._services[spec.name] = service
            if refused:
                service.remove(fast=True)
                raise ServiceError(f"{spec.name}: not started, the environment is being torn down")
        finally:
            with self._lock:
                self._starting.discard(spec.name)
        self.log.debug("starting %s", spec.name)
        service.start()
        return service

    def services(self) -> Mapping[str, RunningService]:
        with self._lock:
            return dict(self._services)

    def close(self, *, fast: bool = False) -> None:
        with self._lock:
            self._closed = True
            services = list(self._services.values())
        errors: list[BaseException] = []

        def remove(service: ManagedService) -> None:
            try:
                service.remove(fast=fast)
            except Exception as error:  # keep removing the others
                errors.append(error)

        if services:
            with ThreadPoolExecutor(max_workers=min(8, len(services))) as pool:
                list(pool.map(remove, services))
        try:
            self._release()
        except Exception as error:
            errors.append(error)
        if errors:
            raise ServiceError(f"{self.name} teardown: {errors[0]}") from errors[0]
