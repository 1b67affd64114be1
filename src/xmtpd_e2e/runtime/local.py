"""The local runtime: every service is a host process listening on its own loopback port.

Why a second runtime: many CI runners and laptops have no usable Docker engine, and containers
add seconds to every start.  The processes run the same binaries the images hold, configured the
same way; only addressing differs (see :mod:`xmtpd_e2e.runtime.base`).

Each process gets its own session (and so its own process group), so a stop reaches every child
it may have spawned, and ``xmtpd-e2e cleanup`` can kill the group of a crashed run from the pid
recorded in the run state.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
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
from xmtpd_e2e.runtime.ports import PortAllocator
from xmtpd_e2e.runtime.registry import LOCAL
from xmtpd_e2e.runtime.processes import PROCESS_KIND, RUN_MARKER, process_start_time, signal_group

__all__ = ["LocalRuntime", "LocalService"]

BinaryResolver = Callable[[str], Path]

# Variables passed through from the runner's environment; everything else a process sees comes
# from its spec, so a stray XMTPD_* variable in the user's shell cannot change a node.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")

class LocalService(RunningService):
    """One host process, restartable in place with the same command, ports and data."""

    def __init__(self, runtime: LocalRuntime, spec: ServiceSpec, argv: list[str]) -> None:
        self.spec = spec
        self._runtime = runtime
        self._argv = argv
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped_on_purpose = False
        self._lock = threading.Lock()
        self.log_path = runtime.log_dir / f"{spec.name}.log"
        self.work_dir = runtime.work_dir / spec.name
        self.work_dir.mkdir(parents=True, exist_ok=True)

    # -- RunningService ----------------------------------------------------------------------
    def host_address(self, port: int) -> tuple[str, int]:
        return ("127.0.0.1", port)

    def state(self) -> ServiceState:
        process = self._process
        if process is None or self._stopped_on_purpose:
            return ServiceState.STOPPED
        return ServiceState.RUNNING if process.poll() is None else ServiceState.EXITED

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        with self._lock:
            if self.state() is ServiceState.RUNNING:
                return
            self._spawn()
        self._wait_ready()

    def stop(self, *, graceful: bool = True, timeout: float = 10.0) -> None:
        with self._lock:
            process = self._process
            self._stopped_on_purpose = True
            if process is None or process.poll() is not None:
                self._forget()
                return
            signal_group(process.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                process.wait(timeout=timeout if graceful else 5.0)
            except subprocess.TimeoutExpired:
                signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=5.0)
            # Children that ignored the signal must not outlive their leader.
            signal_group(process.pid, signal.SIGKILL)
            self._forget()

    # -- internals ---------------------------------------------------------------------------
    def _spawn(self) -> None:
        self._stopped_on_purpose = False
        env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
        env.update(self.spec.env)
        env[RUN_MARKER] = self._runtime.run_id
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"---- xmtpd-e2e: starting {' '.join(self._argv)}\n".encode())
            self._cursor = LogCursor(self.log_path, log.tell())
            try:
                process = subprocess.Popen(
                    self._argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.work_dir,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServiceError(f"{self.spec.name}: cannot run {self._argv[0]}: {exc}") from exc
        self._process = process
        self._runtime.run_state.record(
            PROCESS_KIND,
            f"{self._runtime.env_id}/{self.spec.name}",
            pid=process.pid,
            pgid=process.pid,
            start_time=process_start_time(process.pid),
            argv=self._argv,
        )

    def _forget(self) -> None:
        self._runtime.run_state.forget(PROCESS_KIND, f"{self._runtime.env_id}/{self.spec.name}")

    def _wait_ready(self) -> None:
        spec = self.spec
        deadline = time.monotonic() + spec.ready_timeout

        def exited() -> bool:
            return self.state() is ServiceState.EXITED

        try:
            if spec.ready_log:
                needle = spec.ready_log
                wait_until(
                    lambda: exited() or self._cursor.contains(needle),
                    bool,
                    timeout=spec.ready_timeout,
                    description=f"{spec.name} to log {needle!r}",
                    max_interval=0.2,
                )
            if exited():
                raise ServiceNotReady(spec.name, "the process exited", tail_lines(self.log_path))
            check = spec.ready_check
            if check is not None:
                wait_until(
                    lambda: exited() or check(self),
                    bool,
                    timeout=max(1.0, deadline - time.monotonic()),
                    description=f"{spec.name} readiness check",
                    max_interval=0.2,
                    swallow=(OSError, ConnectionError),
                )
                if exited():
                    raise ServiceNotReady(spec.name, "the process exited", tail_lines(self.log_path))
        except WaitTimeout as exc:
            raise ServiceNotReady(spec.name, str(exc), tail_lines(self.log_path)) from exc


class LocalRuntime(Runtime):
    """Host processes on loopback ports (see module docstring)."""

    name = LOCAL

    def __init__(
        self,
        run_state: RunState,
        env_id: str,
        log_dir: Path,
        resolve_binary: BinaryResolver,
        logger: logging.Logger | None = None,
    ) -> None:
        self.run_state = run_state
        self.run_id = run_state.run_id
        self.env_id = env_id
        self.log_dir = log_dir
        self.work_dir = log_dir.parent / "work"
        self._resolve = resolve_binary
        self._log = logger or logging.getLogger("xmtpd_e2e.runtime.local")
        self._ports = PortAllocator()
        self._assigned: dict[tuple[str, int], int] = {}
        self._services: dict[str, LocalService] = {}
        self._lock = threading.Lock()
        self._closed = False
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def host_gateway(self) -> str:
        return "127.0.0.1"

    @property
    def bind_address(self) -> str:
        return "127.0.0.1"

    def listen_port(self, service: str, port: int) -> int:
        with self._lock:
            key = (service, port)
            if key not in self._assigned:
                self._assigned[key] = self._ports.allocate()
            return self._assigned[key]

    def internal_address(self, service: str, port: int) -> str:
        return f"127.0.0.1:{self.listen_port(service, port)}"

    def start(self, spec: ServiceSpec) -> RunningService:
        if self._closed:
            raise ServiceError("the environment is closed")
        executable = self._resolve(spec.local_argv[0])
        service = LocalService(self, spec, [str(executable), *spec.local_argv[1:]])
        with self._lock:
            if spec.name in self._services:
                raise ServiceError(f"a service named {spec.name!r} already exists")
            self._services[spec.name] = service
        self._log.debug("starting %s: %s", spec.name, " ".join(service._argv))
        service.start()
        return service

    def services(self) -> Mapping[str, RunningService]:
        with self._lock:
            return dict(self._services)

    def close(self, *, fast: bool = False) -> None:
        self._closed = True
        with self._lock:
            services = list(self._services.values())
        errors: list[BaseException] = []

        def stop(service: LocalService) -> None:
            try:
                service.stop(graceful=not fast, timeout=5.0)
            except BaseException as exc:  # keep stopping the others
                errors.append(exc)

        if services:
            with ThreadPoolExecutor(max_workers=min(8, len(services))) as pool:
                list(pool.map(stop, services))
        if errors:
            raise errors[0]
